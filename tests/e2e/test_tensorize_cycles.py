"""The tensorizer's cost model against measured cycles of whole compiled layers.

A single-layer int8 QDQ model (Gemm: the gemm_bias pattern, or Conv) is compiled for
the reference NPU and run on fsim and on the RTL. The outputs must be bit-identical
between the backends and within 1 LSB of onnxruntime. The cost model's unit costs are
the reference NPU's (tests/tensorize/test_calibration.py) and fsim's timing follows the
RTL's, so the estimate must be within 5% of both (measured: 0-2%; the RTL also
arbitrates its single memory port between units, which neither fsim nor the model do).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vendor_sdk.compile import compile_model
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.runtime.examples import conv_model, dense_model
from vendor_sdk.runtime.quantize import quantize

TOLERANCE = 0.05

LAYERS: dict[str, Callable[[Path], Path]] = {
    "dense 128x256x64": lambda p: dense_model(p, 128, 256, 64),
    "conv 3x3 16x16 32->32": lambda p: conv_model(p, 32, 16, 32, 3, 1),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_cost_model_within_tolerance_of_measured_cycles(name: str, tmp_path: Path) -> None:
    q = quantize(LAYERS[name](tmp_path / "f.onnx"), tmp_path / "q.onnx", random=2)
    c = compile_model(q, "reference_npu", {"N": 1})
    layers = [lc for r in c.cmodel.regions for lc in r.layers]
    assert len(layers) == 1 and layers[0].estimate is not None, c.report.to_text()
    est = layers[0].estimate
    feeds = model_inputs(q, 1, 0)
    runs = {b: run_compiled(c, q, feeds, b) for b in ("fsim", "rtl")}
    for b, r in runs.items():
        assert r.agreement[0].within_1lsb == 1.0, (b, r.agreement)
    assert all(np.array_equal(x, y) for x, y in
               zip(runs["fsim"].outputs, runs["rtl"].outputs, strict=True))
    fsim, rtl = runs["fsim"].cycles, runs["rtl"].cycles
    print(f"{name}: model {est:.0f}, fsim {fsim}, rtl {rtl}, ideal {runs['rtl'].ideal:.0f}")
    assert abs(est - fsim) <= TOLERANCE * fsim
    assert abs(est - rtl) <= TOLERANCE * rtl
