"""Ctrl-C during an RTL simulation (issue 15): the command stops at once, not when the
region's simulation returns, exits 130 without a traceback, and leaves the cache usable.

The model is one 3x3 conv of 128 -> 128 channels on 80 x 80: about 15 million cycles,
45 s or more of Verilator simulation on these machines, so a run that ignored the signal
until the simulation returned would miss the 20 s the test waits."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from vendor_sdk.runtime.examples import conv_model
from vendor_sdk.runtime.quantize import quantize

CLI = [sys.executable, "-c", "from vendor_sdk.cli import main; main()"]
# The target's RTL model, loaded from the simulator cache when the device opens.
RTL_LIBRARY = re.compile(r"/rtl/[0-9a-f]+/lib\w+\.so")


def _wait_for_rtl(proc: subprocess.Popen[str]) -> None:
    """Until the process has the RTL model loaded (its run starts right after)."""
    deadline = time.monotonic() + 600  # a cold cache builds the RTL first
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ended before the simulation: {proc.communicate()[0]}"
        if RTL_LIBRARY.search(Path(f"/proc/{proc.pid}/maps").read_text()):
            return
        time.sleep(0.1)
    raise AssertionError("the RTL model was never loaded")


def test_ctrl_c_stops_an_rtl_run_at_once(tmp_path: Path) -> None:
    model = quantize(conv_model(tmp_path / "conv.onnx", 128, 80, 128, 3, 1),
                     tmp_path / "conv.int8.onnx")
    proc = subprocess.Popen([*CLI, "run", str(model), "--backend", "rtl", "--check", "output"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        _wait_for_rtl(proc)
        time.sleep(1.0)  # inside the region's simulation
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    assert "Traceback" not in out, out
    assert "total" not in out, out  # it stopped: no results table
    # nothing half-written: the same model runs (on fsim) from what the cache holds
    again = subprocess.run([*CLI, "run", str(model), "--check", "output"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
