"""The example NPU through vendor-sdk's CLI, as a vendor runs it: its target.yaml
validates, and check-intrinsics passes every intrinsic on its own fsim and RTL
(built from its runtime: and sim.rtl sections) against the intrinsics' semantics."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from example_npu import target

CLI = pathlib.Path(sys.executable).parent / "vendor-sdk"


def vendor_sdk(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, check=False)


def test_validate(tmp_path: pathlib.Path) -> None:
    done = vendor_sdk("validate", str(target()), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok example_npu" in done.stdout


def test_check_intrinsics_passes_on_fsim_and_rtl(tmp_path: pathlib.Path) -> None:
    done = vendor_sdk("check-intrinsics", str(target()), "--workdir", str(tmp_path / "ci"),
                      cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "all passed" in done.stdout
    for name in ("vdot_i8_i32", "requant_i32_i8_pc", "requant_i32_i8", "valu_relu"):
        assert name in done.stdout
