"""A package made by `vendor-sdk init` checks its intrinsics on the reference RTL
(it has no `sim:` section) with the test its skeleton generates."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.target import load_target


def test_generated_package_passes_its_check_intrinsics_test(tmp_path: pathlib.Path) -> None:
    pkg = tmp_path / "acme"
    result = CliRunner().invoke(app, ["init", str(pkg), "--defaults"])
    assert result.exit_code == 0, result.output
    assert load_target(pkg / "acme_npu" / "target.yaml").spec.sim is None
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(pkg / "tests" / "test_target.py"), "-k", "check_intrinsics"],
                          cwd=pkg, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
