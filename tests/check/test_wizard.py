"""Packages made by `vendor-sdk init` check their intrinsics on their own simulators:
derived from the reference NPU, on the copied driver and RTL (with the test the skeleton
generates); from the blank starting point, each case fails and names the stub to edit."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.sim.rtl import rtl_design
from vendor_sdk.target import load_target


def test_generated_package_passes_its_check_intrinsics_test(tmp_path: pathlib.Path) -> None:
    pkg = tmp_path / "acme"
    result = CliRunner().invoke(app, ["init", str(pkg), "--defaults", "--from", "reference_npu"])
    assert result.exit_code == 0, result.output
    target = load_target(pkg / "acme_npu" / "target.yaml")
    # its own copy of the RTL, not the bundled one
    assert all(p.resolve().is_relative_to(pkg.resolve()) for p in rtl_design(target).sources)
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(pkg / "tests" / "test_target.py"), "-k", "check_intrinsics"],
                          cwd=pkg, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_blank_package_fails_each_case_naming_the_stub(tmp_path: pathlib.Path) -> None:
    pkg = tmp_path / "mine"
    result = CliRunner().invoke(app, ["init", str(pkg), "--defaults", "--from", "blank"])
    assert result.exit_code == 0, result.output
    path = next(pkg.glob("*/target.yaml"))
    target = load_target(path)
    case = f"{next(iter(target.semantics))}/min"
    result = CliRunner().invoke(app, ["check-intrinsics", str(path), "--only", case,
                                      "--workdir", str(tmp_path / "w")],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert f"FAIL {case}" in result.output
    assert result.output.count("not implemented: ") == 2, result.output  # fsim and RTL
    assert "(edit " in result.output and "Traceback" not in result.output
