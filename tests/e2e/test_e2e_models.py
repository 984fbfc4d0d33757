"""int8 MLP and CNN (onnxruntime QDQ) on fsim and on the RTL: the two backends agree bit for
bit, and both are within 1 LSB of onnxruntime on at least 99.9% of the elements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vendor_sdk.compile import Compiled
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.runtime.npu import NpuSession


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_fsim_and_rtl_bit_identical_and_within_1_lsb(name: str, models: dict[str, Path],
                                                      compiled: dict[str, Compiled]) -> None:
    c = compiled[name]
    assert c.regions and not c.host_reasons, c.host_reasons
    feeds = model_inputs(models[name], batch=2, seed=3)
    fs = run_compiled(c, models[name], feeds, "fsim")
    rtl = run_compiled(c, models[name], feeds, "rtl")
    for a, b in zip(fs.outputs, rtl.outputs, strict=True):
        np.testing.assert_array_equal(a, b)
    for agreement in fs.agreement:
        assert agreement.lsb is not None
        assert agreement.within_1lsb >= 0.999, agreement
    # the RTL measures, fsim estimates; both ran every GEMM row of the layers
    assert [s.counters["gemm_rows"] for s in fs.stats] == \
        [s.counters["gemm_rows"] for s in rtl.stats]
    assert all(s.cycles > 0 for s in rtl.stats) and fs.stats[0].estimate


def test_symbolic_batch_compiles_once_runs_batch_1_and_4(models: dict[str, Path],
                                                         compiled: dict[str, Compiled]) -> None:
    c = compiled["cnn"]
    assert all(r.sizes == ("N",) for r in c.cmodel.regions)  # the batch is a C argument
    regions = {r.name: r for r in c.cmodel.regions}
    sess = NpuSession(c.library, regions, c.target, "fsim")
    try:
        for batch in (1, 4):
            feeds = model_inputs(models["cnn"], batch=batch, seed=batch)
            res = run_compiled(c, models["cnn"], feeds, "fsim", sess)
            assert res.outputs[0].shape[0] == batch
            assert res.agreement[0].within_1lsb >= 0.999
    finally:
        sess.close()


def test_mlp_offloads_every_layer(compiled: dict[str, Compiled]) -> None:
    off, total = compiled["mlp"].report.coverage
    assert off == total == 6  # 3 MatMul + 3 bias Add


def test_squeezenet_int8_fsim_rtl_identical_within_1_lsb(tmp_path: Path) -> None:
    """A real graph shipped in the onnx package (seeded weights), quantized by onnxruntime."""
    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.examples import light_float
    from vendor_sdk.runtime.quantize import quantize

    path = quantize(light_float("squeezenet", tmp_path / "sq.onnx"), tmp_path / "sq.int8.onnx",
                    random=2)
    c = compile_model(path, "reference_npu")
    off, _ = c.report.coverage
    assert off >= 29 and not c.host_reasons  # every Conv, ReLU and MaxPool of the body
    feeds = model_inputs(path, 1, 7)
    fs, rtl = run_compiled(c, path, feeds, "fsim"), run_compiled(c, path, feeds, "rtl")
    np.testing.assert_array_equal(fs.outputs[0], rtl.outputs[0])
    assert fs.agreement[0].within_1lsb >= 0.999, fs.agreement
