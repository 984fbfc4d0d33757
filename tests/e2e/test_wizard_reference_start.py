"""`vendor-sdk init` from the default starting point (the bundled reference NPU), through
the CLI from a fresh directory: the package validates, compiles and runs a CNN on its own
copied driver and RTL (fsim and rtl), packages into a wheel holding every file its
target.yaml names, and, installed into a fresh venv, is listed ok and runs by its name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from venvs import fresh_venv

from vendor_sdk.runtime.examples import cnn
from vendor_sdk.sim.rtl import rtl_design
from vendor_sdk.target import load_target
from vendor_sdk.target.runtime_build import runtime_sources
from vendor_sdk.wizard.named import named

BIN = Path(sys.executable).parent
PKG = "acme_npu"


def cli(cwd: Path, *args: str, python: Path | None = None,
        timeout: int = 1200) -> subprocess.CompletedProcess[str]:
    """`vendor-sdk ARGS` in cwd (the installed script, or `python -c main()` of a venv)."""
    cmd = [str(BIN / "vendor-sdk")] if python is None else \
        [str(python), "-c", "from vendor_sdk.cli import main; main()"]
    path = f"{(python.parent if python else BIN)}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PATH": path, "COLUMNS": "200"})
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def ok(done: subprocess.CompletedProcess[str]) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{out[-4000:]}"
    return out


def assert_ran_on_npu(out: str) -> None:
    offloaded = re.search(r"offloaded: (\d+)/(\d+) compute ops", out)
    assert offloaded and int(offloaded.group(1)) >= 3, out[-3000:]
    assert re.search(r"check layers: \d+ NPU layers bit for bit .*: all agree", out), out[-3000:]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh directory with `init --defaults` done and a quantized CNN."""
    d = tmp_path_factory.mktemp("vendor")
    out = ok(cli(d, "init", "acme", "--defaults"))
    assert "from reference_npu" in out
    cnn(d / "model.onnx")
    ok(cli(d, "quantize", "model.onnx", "-o", "model.int8.onnx"))
    return d


def test_the_package_owns_a_copy_of_every_file_its_target_names(work: Path) -> None:
    target = load_target(work / "acme" / PKG / "target.yaml")
    assert target.name == PKG and target.spec.runtime is not None
    pkg = (work / "acme" / PKG).resolve()
    files = [n.path for n in named(target) if not n.is_dir]
    assert len(files) > 30  # driver, harness, RTL, templates
    assert all(p.is_relative_to(pkg) and p.is_file() for p in files)
    assert all(p.is_relative_to(pkg) for p in runtime_sources(target))
    assert all(p.is_relative_to(pkg) for p in rtl_design(target).sources)


def test_validate_compile_and_run_on_fsim_and_rtl(work: Path) -> None:
    ok(cli(work, "validate", f"acme/{PKG}"))
    ok(cli(work, "compile", "model.int8.onnx", "--target", f"acme/{PKG}", "-o", "build"))
    assert list((work / "build").glob(f"*_{PKG}_region*.c"))
    for backend in ("fsim", "rtl"):
        assert_ran_on_npu(ok(cli(work, "run", "model.int8.onnx", "--target", f"acme/{PKG}",
                                 "--backend", backend)))


def test_package_install_and_run_by_the_installed_name(work: Path) -> None:
    out = ok(cli(work, "package", "acme", "--outdir", "dist"))
    wheel = next((work / "dist").glob(f"{PKG}-0.1.0-*.whl"))
    assert wheel.name in out
    target = load_target(work / "acme" / PKG / "target.yaml")
    base = target.path.resolve().parent
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for n in named(target):
        if not n.is_dir:
            assert f"{PKG}/{n.path.relative_to(base).as_posix()}" in names, n
    assert not [n for n in names if "__pycache__" in n]

    py = fresh_venv(work)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    listing = ok(cli(work, "targets", python=py))
    row = next(line for line in listing.splitlines() if PKG in line)
    assert "ok" in row and "acme-npu" in row and "site-packages" in listing
    for backend in ("fsim", "rtl"):
        out = ok(cli(work, "run", "model.int8.onnx", "--target", PKG, "--backend", backend,
                     python=py))
        assert_ran_on_npu(out)
