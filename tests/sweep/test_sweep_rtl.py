"""A sweep on the RTL backend: a point's cycles are the RTL's measured ones, equal to a
`vendor-sdk run --backend rtl` of the same model outside the sweep (one configuration at
the default DIM, so the Verilator model the other RTL tests built is reused)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"


def test_rtl_point_measures_what_run_measures(sweep_models: Path, tmp_path: Path,
                                              results: Any) -> None:
    model = sweep_models / "tiny.onnx"
    done = subprocess.run([str(VENDOR_SDK), "sweep", "--target", "reference_npu", "--param",
                           "DIM=8", "--models", str(model), "--backend", "rtl", "-o",
                           str(tmp_path / "r")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    (point,) = results(tmp_path / "r")
    assert point["status"] == "ok" and point["backend"] == "rtl", point
    assert point["cycles_estimated"] is False  # measured on the RTL, not fsim's estimate
    run = subprocess.run([str(VENDOR_SDK), "run", str(model), "--backend", "rtl", "--check",
                          "output", "--json"], capture_output=True, text=True, timeout=900,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert point["cycles"] == json.loads(run.stdout)["cycles"], (point, run.stdout[:500])
