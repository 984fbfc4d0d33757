"""Model families that did not import: quantized by `vendor-sdk quantize`, run by `vendor-sdk run`.

Each float model is built with onnx.helper the way torch.onnx.export (TorchScript,
opset 17) writes it — LayerNormalization in a transformer block, Resize in a
U-Net decoder, a cls token expanded to the batch through Shape/Gather/Equal/Where
in a ViT block, HardSwish/HardSigmoid in a MobileNetV3 bottleneck, Gemm with its
bias from nn.Linear — then quantized by onnxruntime and run on fsim, where `run`
checks the outputs against onnxruntime and every layer against its reference
(exit 1 on a divergence).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from vendor_sdk.cli import app

mk = helper.make_node


def _weights(seed: int) -> Callable[..., np.ndarray]:
    rng = np.random.default_rng(seed)

    def w(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return w


def _save(path: Path, nodes: list[onnx.NodeProto], x_shape: list, y_shape: list,
          inits: dict[str, np.ndarray], opset: int = 17) -> Path:
    g = helper.make_graph(nodes, path.stem,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return path


def transformer(path: Path, d: int = 16, t: int = 8) -> Path:
    """Attention + residual + LayerNormalization + MLP (onnxruntime's quantizer writes the
    LayerNorm bias as int32 with a scalar zero point and a [1] scale)."""
    _w = _weights(1)
    nodes = [
        mk("MatMul", ["x", "wq"], ["q0"]), mk("Add", ["q0", "bq"], ["q"]),
        mk("MatMul", ["x", "wk"], ["k"]), mk("MatMul", ["x", "wv"], ["v"]),
        mk("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        mk("MatMul", ["q", "kt"], ["s0"]), mk("Mul", ["s0", "scale"], ["s"]),
        mk("Softmax", ["s"], ["p"], axis=-1), mk("MatMul", ["p", "v"], ["a"]),
        mk("Add", ["a", "x"], ["r"]),
        mk("LayerNormalization", ["r", "gamma", "beta"], ["ln"], axis=-1),
        mk("MatMul", ["ln", "w1"], ["h0"]), mk("Add", ["h0", "b1"], ["h1"]),
        mk("Relu", ["h1"], ["h"]), mk("MatMul", ["h", "w2"], ["y0"]),
        mk("Add", ["y0", "ln"], ["y"]),
    ]
    inits = {"wq": _w(d, d), "wk": _w(d, d), "wv": _w(d, d), "bq": _w(d, scale=0.1),
             "scale": np.array(0.25, np.float32), "gamma": 1 + _w(d, scale=0.1),
             "beta": _w(d, scale=0.1), "w1": _w(d, 2 * d), "b1": _w(2 * d, scale=0.1),
             "w2": _w(2 * d, d)}
    return _save(path, nodes, ["N", t, d], ["N", t, d], inits)


def unet(path: Path) -> Path:
    """Encoder convs, a nearest x2 upsampling (scales) concatenated with the skip, and a
    bilinear one to the skip's size computed from its shape (sizes), as torch exports
    ``interpolate(scale_factor=2)`` and ``interpolate(size=a.shape[2:], mode="bilinear")``."""
    _w = _weights(2)
    nodes = [
        mk("Conv", ["x", "c1w", "c1b"], ["c1"], pads=[1, 1, 1, 1]), mk("Relu", ["c1"], ["a"]),
        mk("Conv", ["a", "c2w", "c2b"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        mk("Relu", ["c2"], ["b"]),
        mk("Resize", ["b", "", "up2"], ["u"], mode="nearest", nearest_mode="floor",
           coordinate_transformation_mode="asymmetric"),
        mk("Shape", ["a"], ["a_shape"]),
        mk("Slice", ["a_shape", "two", "four"], ["a_hw"]),
        mk("Shape", ["b"], ["b_shape"]),
        mk("Slice", ["b_shape", "zero", "two"], ["b_nc"]),
        mk("Concat", ["b_nc", "a_hw"], ["size"], axis=0),
        mk("Resize", ["b", "", "", "size"], ["u2"], mode="linear",
           coordinate_transformation_mode="pytorch_half_pixel"),
        mk("Resize", ["b", "", "up2"], ["u3"], mode="linear",
           coordinate_transformation_mode="align_corners"),
        mk("Concat", ["a", "u"], ["cat"], axis=1),
        mk("Conv", ["cat", "c3w", "c3b"], ["c3"], pads=[1, 1, 1, 1]),
        mk("Add", ["c3", "u2"], ["s"]), mk("Add", ["s", "u3"], ["y"]),
    ]
    inits = {"c1w": _w(8, 3, 3, 3), "c1b": _w(8, scale=0.1), "c2w": _w(8, 8, 3, 3, scale=0.2),
             "c2b": _w(8, scale=0.1), "c3w": _w(8, 16, 3, 3, scale=0.1),
             "c3b": _w(8, scale=0.1), "up2": np.array([1, 1, 2, 2], np.float32),
             "zero": np.array([0], np.int64), "two": np.array([2], np.int64),
             "four": np.array([4], np.int64)}
    return _save(path, nodes, ["N", 3, 16, 16], ["N", 8, 16, 16], inits)


def vit(path: Path, d: int = 16, patches: int = 6) -> Path:
    """``torch.cat([cls.expand(x.shape[0], -1, -1), proj(x)], 1)``, pre-norm attention and a
    HardSwish MLP, with the expand's shape computed from ``Shape(x)`` as torch writes it."""
    _w = _weights(3)
    i64 = np.int64
    nodes = [
        mk("MatMul", ["x", "pw"], ["p0"]), mk("Add", ["p0", "pb"], ["tok"]),
        mk("Shape", ["tok"], ["shape"]), mk("Gather", ["shape", "zero"], ["b"], axis=0),
        mk("Unsqueeze", ["b", "axes0"], ["b1"]),
        mk("Concat", ["b1", "minus1", "minus1"], ["size0"], axis=0),
        mk("Reshape", ["size0", "minus1"], ["size"]), mk("Shape", ["size"], ["size_shape"]),
        mk("ConstantOfShape", ["size_shape"], ["ones"],
           value=numpy_helper.from_array(np.ones(1, i64))),
        mk("Mul", ["ones", "neg"], ["neg_ones"]), mk("Equal", ["size", "neg_ones"], ["keep"]),
        mk("Where", ["keep", "ones", "size"], ["target"]),
        mk("Expand", ["cls", "target"], ["cls_b"]),
        mk("Concat", ["cls_b", "tok"], ["seq"], axis=1),
        mk("LayerNormalization", ["seq", "g1", "b1n"], ["n1"], axis=-1),
        mk("MatMul", ["n1", "wq"], ["q"]), mk("MatMul", ["n1", "wk"], ["k"]),
        mk("MatMul", ["n1", "wv"], ["v"]), mk("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        mk("MatMul", ["q", "kt"], ["s0"]), mk("Mul", ["s0", "scale"], ["s"]),
        mk("Softmax", ["s"], ["p"], axis=-1), mk("MatMul", ["p", "v"], ["att"]),
        mk("Add", ["att", "seq"], ["r"]),
        mk("LayerNormalization", ["r", "g2", "b2n"], ["n2"], axis=-1),
        mk("MatMul", ["n2", "w1"], ["h0"]), mk("Add", ["h0", "bh"], ["h1"]),
        mk("HardSwish", ["h1"], ["h"]), mk("MatMul", ["h", "w2"], ["m"]),
        mk("Add", ["m", "r"], ["y"]),
    ]
    inits = {"pw": _w(12, d), "pb": _w(d, scale=0.1), "zero": np.array(0, i64),
             "axes0": np.array([0], i64), "minus1": np.array([-1], i64),
             "neg": np.array(-1, i64), "cls": _w(1, 1, d, scale=1.0),
             "g1": 1 + _w(d, scale=0.1), "b1n": _w(d, scale=0.1), "g2": 1 + _w(d, scale=0.1),
             "b2n": _w(d, scale=0.1), "wq": _w(d, d), "wk": _w(d, d), "wv": _w(d, d),
             "scale": np.array(0.25, np.float32), "w1": _w(d, 2 * d),
             "bh": _w(2 * d, scale=0.1), "w2": _w(2 * d, d)}
    return _save(path, nodes, ["N", patches, 12], ["N", patches + 1, d], inits)


def linear(path: Path) -> Path:
    """nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 16)): Gemm(x, W, b), transB=1."""
    _w = _weights(4)
    nodes = [mk("Gemm", ["x", "w0", "b0"], ["g0"], alpha=1.0, beta=1.0, transB=1),
             mk("Relu", ["g0"], ["r0"]),
             mk("Gemm", ["r0", "w1", "b1"], ["y"], alpha=1.0, beta=1.0, transB=1)]
    inits = {"w0": _w(64, 32, scale=0.2), "b0": _w(64, scale=0.1), "w1": _w(16, 64, scale=0.2),
             "b1": _w(16, scale=0.1)}
    return _save(path, nodes, ["N", 32], ["N", 16], inits)


def mobilenet_v3(path: Path) -> Path:
    """A MobileNetV3 bottleneck: conv + HardSwish, depthwise conv, squeeze-excite gated by
    HardSigmoid (torch's nn.Hardsigmoid: alpha 1/6), projection conv."""
    _w = _weights(5)
    nodes = [
        mk("Conv", ["x", "ew", "eb"], ["e"], pads=[1, 1, 1, 1], strides=[2, 2]),
        mk("HardSwish", ["e"], ["a"]),
        mk("Conv", ["a", "dw", "db"], ["d0"], pads=[1, 1, 1, 1], group=16),
        mk("HardSwish", ["d0"], ["d"]),
        mk("GlobalAveragePool", ["d"], ["g"]),
        mk("Conv", ["g", "s1w", "s1b"], ["s1"]), mk("Relu", ["s1"], ["s1r"]),
        mk("Conv", ["s1r", "s2w", "s2b"], ["s2"]),
        mk("HardSigmoid", ["s2"], ["gate"], alpha=1 / 6),
        mk("Mul", ["d", "gate"], ["se"]),
        mk("Conv", ["se", "pw", "pb"], ["y"]),
    ]
    inits = {"ew": _w(16, 3, 3, 3), "eb": _w(16, scale=0.1), "dw": _w(16, 1, 3, 3),
             "db": _w(16, scale=0.1), "s1w": _w(8, 16, 1, 1), "s1b": _w(8, scale=0.1),
             "s2w": _w(16, 8, 1, 1), "s2b": _w(16, scale=0.1), "pw": _w(24, 16, 1, 1),
             "pb": _w(24, scale=0.1)}
    return _save(path, nodes, ["N", 3, 16, 16], ["N", 24, 8, 8], inits)


MODELS = {"transformer": transformer, "unet": unet, "vit": vit, "mobilenet_v3": mobilenet_v3,
          "linear": linear}


@pytest.mark.parametrize("name", list(MODELS))
def test_quantize_and_run_agree_with_onnxruntime(name: str, tmp_path: Path) -> None:
    runner = CliRunner()
    src = MODELS[name](tmp_path / f"{name}.onnx")
    q = tmp_path / f"{name}.int8.onnx"
    result = runner.invoke(app, ["quantize", str(src), "-o", str(q)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", str(q), "--target", "reference_npu", "--backend",
                                 "fsim", "--batch", "2", "--replay-dir", str(tmp_path / "replay")],
                           env={"COLUMNS": "200"})
    # run exits 1 when an output diverges from onnxruntime (the QDQ graph node by node) or a
    # layer from its reference.
    assert result.exit_code == 0, result.output
    assert "ok vs onnxruntime" in result.output and "FAIL" not in result.output
    assert "Traceback" not in result.output


def test_nn_linear_gemm_with_bias_offloads_every_layer(tmp_path: Path) -> None:
    runner = CliRunner()
    q = tmp_path / "linear.int8.onnx"
    assert runner.invoke(app, ["quantize", str(linear(tmp_path / "linear.onnx")), "-o",
                               str(q)]).exit_code == 0
    result = runner.invoke(app, ["partition", str(q), "--target", "reference_npu"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2/2 compute ops offloaded (100.0%)" in result.output
    assert "gemm_bias x2" in result.output

