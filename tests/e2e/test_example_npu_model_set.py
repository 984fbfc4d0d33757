"""The model set of issue 14 on the second bundled NPU, through the CLI as a user runs it,
on fsim and on the RTL: what tests/e2e/test_example_npu_models.py does not run (the
MobileNet-V2-style model on the RTL, SqueezeNet on both). ResNet-50 takes minutes per
backend and is measured by benchmarks/bench_npus.py (`--models resnet50`), not here.

example_npu's functional model counts its RTL's cycles exactly (example_npu/README.md,
"Timing"), so beyond each run's own verdict (every NPU layer bit for bit against its
integer reference, so fsim and RTL agree bit for bit; exit 1 otherwise) the two backends
must report the same cycles, total and per layer, and >= 99.9% of the output elements
must be within 1 LSB of onnxruntime.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vendor_sdk.runtime.examples import light_float

BIN = Path(sys.executable).parent


def cli(cwd: Path, *args: str | Path) -> str:
    done = subprocess.run([str(BIN / "vendor-sdk"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "COLUMNS": "220"})  # tables unwrapped
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"vendor-sdk {' '.join(map(str, args))} exited " \
        f"{done.returncode}:\n{out[-4000:]}"
    assert "Traceback" not in out, out[-4000:]
    return out


def quantized(src: Path) -> Path:
    out = src.with_suffix(".int8.onnx")
    cli(src.parent, "quantize", src, "-o", out, "--random", "2")
    return out


def run_figures(out: str) -> tuple[int, list[tuple[str, int]], float, str]:
    """(total cycles, [(layer, cycles)], lowest % within 1 LSB, offloaded 'a/b') of one
    `vendor-sdk run`, after asserting its layer check passed."""
    flat = " ".join(out.split())
    check = re.search(r"check layers: (\d+) NPU layers bit for bit .*?: all agree", flat)
    assert check and int(check[1]) > 0, out[-3000:]
    assert "FAIL" not in out and "check failed" not in out, out[-3000:]
    total = re.search(r"│ total\s*│\s*│\s*([\d,]+) │", out)
    assert total, out[-3000:]
    # per-layer table rows: "│ 3 │ region0_2_conv2d_bias_relu │ Conv │ ... │ MACs │ cycles │"
    layers = [(m[1], int(m[2].replace(",", ""))) for m in
              re.finditer(r"(?m)^│\s*\d+ │ (\S+)\s*│[^│]*│[^│]*│\s*[\d,]+ │\s*([\d,]+) │", out)]
    assert layers, out[-3000:]
    within = [float(w) for w in  # the judged comparison, not the 'as deployed' one
              re.findall(r"max \|ours - onnxruntime\| = .*?, ([\d.]+)% within 1 LSB", out)]
    assert within, out[-3000:]
    off = re.search(r"offloaded: (\d+/\d+) compute ops", flat)
    assert off, out[-3000:]
    return int(total[1].replace(",", "")), layers, min(within), off[1]


def fsim_and_rtl(model: Path) -> tuple[tuple[int, list[tuple[str, int]], float, str], ...]:
    runs = tuple(run_figures(cli(model.parent, "run", model, "--target", "example_npu",
                                 "--backend", b)) for b in ("fsim", "rtl"))
    fsim, rtl = runs
    assert fsim[0] == rtl[0] > 0, (fsim[0], rtl[0])   # exact cycle model: same total
    assert fsim[1] == rtl[1], (fsim[1], rtl[1])       # and the same cycles per layer
    for r in runs:
        assert r[2] >= 99.9, r[2]
    return runs


def test_mobilenet_v2_style_on_fsim_and_rtl(tmp_path: Path) -> None:
    """Depthwise convolutions with ReLU6, 1x1 expand/project, a residual Add (torch export)."""
    from torch_models import export  # tests/ is on pytest's pythonpath

    fsim, _ = fsim_and_rtl(quantized(export("mobilenetv2_tiny", tmp_path / "mbv2.onnx")))
    done, total = map(int, fsim[3].split("/"))
    assert done >= 13 and total - done <= 2, fsim[3]  # every Conv and the Add; GAP/fc on host


@pytest.mark.parametrize("name", ["squeezenet"])
def test_onnx_light_model_on_fsim_and_rtl(name: str, tmp_path: Path) -> None:
    """SqueezeNet 1.0 as shipped in the onnx package (seeded weights), quantized by
    onnxruntime: every Conv (+Relu), MaxPool and Concat input on the NPU."""
    fsim, _ = fsim_and_rtl(quantized(light_float(name, tmp_path / f"{name}.onnx")))
    assert int(fsim[3].split("/")[0]) >= 29, fsim[3]
