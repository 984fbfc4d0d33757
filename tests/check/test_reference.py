"""check-intrinsics on the reference NPU: every intrinsic passes on its fsim and RTL,
through the CLI, with a JUnit report; the warm run reuses the cold run's builds (runtime
library, glue, check libraries, Verilated RTL; both times printed)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

from typer.testing import CliRunner

from vendor_sdk.check.stimulus import all_cases
from vendor_sdk.cli import app
from vendor_sdk.plugins import resolve_target


def _libraries(cache: pathlib.Path) -> dict[str, int]:
    """Builds in the cache (shared libraries, the glue object) and their times."""
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in cache.rglob("*")
            if p.suffix in (".so", ".o")}


def _cli(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from vendor_sdk.cli import main; main()",
                           *args], capture_output=True, text=True, env=env, check=False)
    return done, time.perf_counter() - start


def test_all_reference_intrinsics_pass_cold_and_warm(tmp_path: pathlib.Path) -> None:
    """A fresh build cache: the first run builds the runtime library, the glue, the
    check libraries and the RTL, the second reuses them. Both must pass every case; the
    times are printed for the notes."""
    env = {**os.environ, "VENDOR_SDK_CACHE": str(tmp_path / "cache"), "COLUMNS": "200"}
    args = ["check-intrinsics", "reference_npu", "--workdir", str(tmp_path / "work")]
    cold, cold_s = _cli(args, env)
    assert cold.returncode == 0, cold.stdout + cold.stderr
    built = _libraries(tmp_path / "cache")
    assert built, "the cold run cached no built library"
    warm, warm_s = _cli(args, env)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    print(f"\ncheck-intrinsics reference_npu DIM 8: cold {cold_s:.1f} s, warm {warm_s:.1f} s")
    print(warm.stdout)
    # The warm run reuses every build (no timed assertion: CI machines are
    # shared; a rebuild shows as a changed or new library instead).
    assert _libraries(tmp_path / "cache") == built
    target = resolve_target("reference_npu")
    for name in target.semantics:
        row = next(line for line in warm.stdout.splitlines() if f" {name} " in line)
        assert "pass" in row, row
    assert "all passed" in warm.stdout


def test_junit_report_lists_every_case(tmp_path: pathlib.Path) -> None:
    junit = tmp_path / "report.xml"
    result = CliRunner().invoke(app, ["check-intrinsics", "reference_npu", "--only",
                                      "gemm_i8_i32", "--only", "requant_i32_i8_pc/edges",
                                      "--workdir", str(tmp_path), "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    cases = suite.findall("testcase")
    target = resolve_target("reference_npu")
    sem = target.semantics["gemm_i8_i32"]
    # every declared case of both variants, and the one requant case
    expected = len(sem.variants) * len(all_cases(target, sem)) + 1
    assert len(cases) == int(suite.get("tests", "0")) == expected
    assert {c.get("classname") for c in cases} == {
        "reference_npu.gemm_i8_i32", "reference_npu.gemm_i8_i32.init",
        "reference_npu.requant_i32_i8_pc"}
    assert all(c.find("failure") is None for c in cases)


def test_a_different_npu_is_checked_on_its_own_contract(tmp_path: pathlib.Path) -> None:
    """example_npu (in-order vector dot-product unit, 64-bit ISA, barrier glue, memories
    act/wts/psum/res/prm) runs through its own glue, runtime library and RTL: nothing in
    the checker knows either NPU. A copy whose VDOT emit inverts the init flag fails
    every case of both variants but all-zeros, on its fsim and its RTL; the copy as
    shipped passes."""
    copy = tmp_path / "example_npu"
    shutil.copytree(pathlib.Path(resolve_target("example_npu").path).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    yaml = copy / "target.yaml"
    text = yaml.read_text()
    flag = '{{ 1 if variant == "init" else 0 }}'
    assert text.count(flag) == 1
    cases = len(all_cases(resolve_target("example_npu"),
                          resolve_target("example_npu").semantics["vdot_i8_i32"]))
    for mutated in (False, True):
        yaml.write_text(text.replace(flag, '{{ 0 if variant == "init" else 1 }}')
                        if mutated else text)
        work = tmp_path / f"work{int(mutated)}"
        result = CliRunner().invoke(app, ["check-intrinsics", str(yaml), "--only",
                                          "vdot_i8_i32", "--workdir", str(work)],
                                    env={"COLUMNS": "200"})
        suite = ElementTree.parse(work / "junit.xml").getroot().find("testsuite")
        assert suite is not None and suite.get("tests") == str(2 * cases)
        if not mutated:
            assert result.exit_code == 0 and "all passed" in result.output, result.output
            continue
        assert result.exit_code == 1, result.output
        # all zeros is the one stimulus where accumulating and initialising agree
        passed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is None}
        assert passed == {"zero"} and suite.get("failures") == str(2 * cases - 2), \
            result.output
        for failure in suite.iter("failure"):
            assert "fsim: C[" in (failure.text or "") and "RTL: C[" in (failure.text or "")
