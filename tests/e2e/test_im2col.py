"""A first-layer conv over few input channels runs as a GEMM over host-made im2col patches:
the layout is chosen by the layer's analysis, said in the explain text, manifest and header,
and the results are exact (fsim = RTL, within 1 LSB of onnxruntime, batch > 1 through the
symbolic batch; the patches' padding reads the input zero point as the conv does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from vendor_sdk.codegen.im2col import Patches, patch_view, patches_of, reduction_steps
from vendor_sdk.codegen.layers import Layer, reference
from vendor_sdk.codegen.requant import fixed_point, requant_reference
from vendor_sdk.codegen.tiling import Tiling
from vendor_sdk.compile import Compiled, compile_model
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.runtime.examples import _bias, _save, _weights
from vendor_sdk.runtime.npu import NpuSession
from vendor_sdk.runtime.quantize import quantize
from vendor_sdk.target.lowering import Tensorize


def first_conv(path: Path, ci: int = 3, hw: int = 15, co: int = 24) -> Path:
    """Conv 3x3 / 2, pads 1 (+ bias, ReLU) over [N, ci, hw, hw], then a 1x1 conv: the
    first layer's input comes from the host, its output feeds an NPU layer."""
    oh = (hw + 2 - 3) // 2 + 1
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], name="first", kernel_shape=[3, 3],
                              strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
             helper.make_node("Conv", ["r0", "w1", "b1"], ["y"], name="second",
                              kernel_shape=[1, 1])]
    inits = {"w0": _weights((co, ci, 3, 3), ci * 9, 0), "b0": _bias(co, 0),
             "w1": _weights((16, co, 1, 1), co, 1), "b1": _bias(16, 1)}
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", ci, hw, hw])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16, oh, oh])],
                 inits, path, "first_conv")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("im2col")
    return quantize(first_conv(d / "first.onnx"), d / "first.int8.onnx")


@pytest.fixture(scope="module")
def compiled(model: Path) -> Compiled:
    return compile_model(model, "reference_npu", {"N": 2})


def test_first_conv_takes_patches_and_says_why(compiled: Compiled) -> None:
    (region,) = compiled.cmodel.regions
    first, second = region.layers
    assert first.input_layout.startswith("input im2col (host): 4 reduction steps per row "
                                         "instead of 9"), first.input_layout
    assert first.explain.splitlines()[1].strip() == first.input_layout
    assert second.input_layout == ""  # produced on the NPU: stays channel-last
    x = region.slots[0]
    assert x.layout is not None and x.layout.k == 32 and x.layout.out_hw == (8, 8)
    assert [str(d) for d in x.npu_shape] == ["N", "8", "8", "32"]
    m = compiled.manifest()["regions"][0]  # type: ignore[index]
    assert m["dram"][0]["layout"].startswith("im2col patches of a 3x3/2x2 window over 3")
    assert m["layers"][0]["input_layout"] == first.input_layout
    header = next(t for n, t in compiled.cmodel.files.items() if n.endswith(".h"))
    assert "['N', '8', '8', '32'] (im2col patches of a 3x3/2x2 window" in header
    region_c = next(t for n, t in compiled.cmodel.files.items() if n.endswith("region0.c"))
    assert "/* input im2col (host): 4 reduction steps" in region_c


def test_fsim_rtl_onnxruntime_agree_batch_3(model: Path, compiled: Compiled) -> None:
    feeds = model_inputs(model, batch=3, seed=5)
    fs = run_compiled(compiled, model, feeds, "fsim")
    rtl = run_compiled(compiled, model, feeds, "rtl")
    np.testing.assert_array_equal(fs.outputs[0], rtl.outputs[0])
    assert fs.outputs[0].shape[0] == 3
    assert fs.agreement[0].within_1lsb >= 0.999, fs.agreement


def test_one_library_serves_batch_1_and_4(model: Path, compiled: Compiled) -> None:
    regions = {r.name: r for r in compiled.cmodel.regions}
    sess = NpuSession(compiled.library, regions, compiled.target, "fsim")
    try:
        for batch in (1, 4):
            res = run_compiled(compiled, model, model_inputs(model, batch, batch), "fsim", sess)
            assert res.outputs[0].shape[0] == batch
            assert res.agreement[0].within_1lsb >= 0.999, res.agreement
    finally:
        sess.close()


def test_many_channels_stay_channel_last(tmp_path: Path) -> None:
    """16 input channels at DIM 8: 3x3 taps of whole lane blocks, patches save nothing."""
    path = quantize(first_conv(tmp_path / "wide.onnx", ci=16), tmp_path / "wide.int8.onnx")
    c = compile_model(path, "reference_npu", {"N": 1}, build=False)
    first = c.cmodel.regions[0].layers[0]
    assert first.input_layout.startswith("input channel-last: im2col patches would take 18 "
                                         "reduction steps per row, the conv 18")
    assert c.cmodel.regions[0].slots[0].layout is None


def _layer(ci: int, co: int, kernel: tuple[int, int], strides: tuple[int, int],
           dilations: tuple[int, int], pads: tuple[int, int, int, int], hw: tuple[int, int],
           dim: int, seed: int) -> Layer:
    rng = np.random.default_rng(seed)
    kh, kw = kernel
    oh = (hw[0] + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (hw[1] + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    cip, cop = -(-ci // dim) * dim, -(-co // dim) * dim
    w = np.zeros((kh, kw, cip, cop), np.int8)
    w[:, :, :ci, :co] = rng.integers(-127, 128, (kh, kw, ci, co))
    fps = tuple(fixed_point(float(s)) for s in rng.uniform(1e-4, 1e-3, cop))
    conv = {"kernel": kernel, "strides": strides, "dilations": dilations, "pads": pads,
            "ceil_mode": False}
    return Layer("l", "p", Tensorize(("gemm",)), "n", "Conv", (2, ci, *hw), (2, co, oh, ow),
                 int(rng.integers(-128, 128)), w.reshape(-1, cop),
                 rng.integers(-5000, 5000, cop).astype(np.int32), fps, 3, -128, 127, conv)


@pytest.mark.parametrize("case", [
    ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), (9, 10)),
    ((3, 3), (1, 1), (2, 2), (2, 0, 1, 2), (7, 6)),  # asymmetric pads, dilation
    ((7, 7), (2, 2), (1, 1), (3, 3, 3, 3), (12, 12)),
    ((2, 3), (1, 2), (1, 1), (0, 0, 0, 0), (5, 8)),
])
def test_patch_gemm_equals_the_conv(case: tuple) -> None:
    """gather(x) @ repacked weights + bias, requantized, is the conv's exact integer result
    (padding taps read the input zero point, pad lanes meet zero weights)."""
    kernel, strides, dilations, pads, hw = case
    for dim, ci in ((8, 3), (16, 1), (16, 4)):
        layer = _layer(ci, 20, kernel, strides, dilations, pads, hw, dim, seed=ci)
        p = patches_of(layer, dim)
        view = patch_view(layer, p)
        x = np.random.default_rng(dim).integers(-128, 128, layer.in_shape).astype(np.int8)
        rows = p.gather(x)
        assert rows.shape == (2, *p.out_hw, p.k) and p.k % dim == 0
        assert not rows[..., kernel[0] * kernel[1] * ci:].any()
        acc = rows.astype(np.int64) @ view.weight.astype(np.int64) + layer.bias
        got = requant_reference(acc.transpose(0, 3, 1, 2), list(layer.requant), layer.out_zp,
                                layer.lo, layer.hi, axis=1)[:, :20]
        np.testing.assert_array_equal(got, reference(layer, x))


def test_reduction_steps_and_bad_input() -> None:
    layer = _layer(3, 64, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), (16, 16), 16, seed=0)
    p = patches_of(layer, 16)
    assert reduction_steps(layer, p, Tiling(16, 16, False, 16)) == (9, 2)
    with pytest.raises(ValueError, match=r"expected \[N, 3, H, W\]"):
        Patches.gather(p, np.zeros((1, 4, 16, 16), np.int8))
