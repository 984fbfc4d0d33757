"""Element-wise and requantization miscompiles, through `vendor-sdk run` on models quantized
by onnxruntime: each ran on the NPU with exit 0 and wrong results before its fix.

- a residual Add whose operands come in the other order than their producers (PyTorch's
  ``branch + shortcut``) scaled each operand with the other's parameters;
- ``Conv/Add -> Q -> DQ -> Relu -> Q`` (onnxruntime with symmetric activations) stopped at
  the first QuantizeLinear and kept the negative values;
- Clip (ReLU6, Hardtanh) was lowered as a Relu, or not offloaded at all;
- a pattern's ``lower: {tensorize: [...]}`` list was a preference: a Conv listing only an
  ALU op still ran on the GEMM intrinsic (such a list now fails `validate`:
  tests/target/test_lowerability.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from typer.testing import CliRunner

import reference_npu
from vendor_sdk.cli import app

SHAPE = [1, 8, 8, 8]


class _Samples(CalibrationDataReader):
    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(7)  # the distribution `vendor-sdk run` feeds: [0, 1)
        self._it = iter([{"x": rng.random(SHAPE, np.float32)} for _ in range(n)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def _conv(name: str, x: str, co: int, k: int, gain: float, bias: float,
          rng: np.random.Generator) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    ci = SHAPE[1]
    w = rng.normal(0, gain / np.sqrt(ci * k * k), (co, ci, k, k)).astype(np.float32)
    b = rng.normal(bias, 0.2, co).astype(np.float32)
    node = helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [name],
                            pads=[k // 2] * 4, name=name)
    return node, [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")]


def _model(path: Path, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto],
           opset: int = 17) -> Path:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _quantize(src: Path, per_channel: bool = True, **extra: object) -> Path:
    out = src.with_suffix(".int8.onnx")
    quantize_static(str(src), str(out), _Samples(4), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=per_channel, extra_options=dict(extra))
    return out


def _run(model: Path, target: str = "reference_npu") -> tuple[int, int]:
    """`vendor-sdk run` on fsim (its default check: every NPU layer bit for bit against its
    integer reference, outputs against onnxruntime); asserts the outputs are within 1 LSB of
    onnxruntime on >= 99.9% of the elements and never further; returns (offloaded, total)
    compute ops."""
    res = CliRunner().invoke(app, ["run", str(model), "--target", target],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    _run.output = res.output  # type: ignore[attr-defined]
    # Rich wraps at the width its console found when the CLI module was first imported
    # (another test in this process may have imported it at 80 columns): match on words.
    flat = " ".join(res.output.split())
    m = re.search(r"y: max (\S+) LSB, ([\d.]+)% of elements off, ([\d.]+)% by more than 1 LSB",
                  flat)
    assert m, res.output
    assert float(m[1]) <= 1 and float(m[3]) == 0, res.output  # at most 1 LSB anywhere
    off = re.search(r"offloaded: (\d+)/(\d+)", flat)
    assert off, res.output
    return int(off[1]), int(off[2])


def _ops(model: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(model)).graph.node]


def _residual(path: Path, order: tuple[str, str]) -> Path:
    """Two conv branches of very different scales, added in ``order``."""
    rng = np.random.default_rng(1)
    branch, wb = _conv("branch", "x", 8, 3, 4.0, 0.5, rng)
    short, ws = _conv("short", "x", 8, 1, 0.3, -0.1, rng)
    add = helper.make_node("Add", list(order), ["y"], name="add")
    return _quantize(_model(path, [branch, short, add], wb + ws))


@pytest.mark.parametrize("order", [("short", "branch"), ("branch", "short")])
def test_residual_add_in_either_operand_order(tmp_path: Path, order: tuple[str, str]) -> None:
    assert _run(_residual(tmp_path / "res.onnx", order)) == (3, 3)  # convs and Add on the NPU


@pytest.mark.parametrize("core", ["conv", "add"])
def test_relu_after_a_symmetric_requantization(tmp_path: Path, core: str) -> None:
    """ActivationSymmetric: onnxruntime keeps the Relu as Q -> DQ -> Relu -> Q."""
    rng = np.random.default_rng(2)
    c1, w1 = _conv("c1", "x", 8, 3, 2.0, -0.3, rng)
    nodes, inits = [c1], w1
    if core == "add":
        c2, w2 = _conv("c2", "x", 8, 1, 1.0, -0.2, rng)
        nodes += [c2, helper.make_node("Add", ["c1", "c2"], ["s"], name="add")]
        inits += w2
    nodes.append(helper.make_node("Relu", [nodes[-1].output[0]], ["y"], name="relu"))
    q = _quantize(_model(tmp_path / f"{core}.onnx", nodes, inits), ActivationSymmetric=True)
    assert "Relu" in _ops(q)
    off, total = _run(q)
    assert off == total


@pytest.mark.parametrize("act", ["Relu", "Clip"])
def test_an_activation_after_a_requantization_to_another_scale_is_its_own_layer(
        tmp_path: Path, act: str) -> None:
    """A quantizer that gives the activation's output other parameters than its input
    (onnxruntime aligns them; others need not): the activation rounds a second time, so it
    runs as a layer of its own, exactly (Clip(-0.5, 0.5): its bounds quantize to -93 / 93,
    inside the int8 range, so the lone layer's clamp is exercised too)."""
    rng = np.random.default_rng(3)
    conv, w = _conv("c", "x", 8, 3, 2.0, -0.3, rng)
    node = helper.make_node("Relu", ["c"], ["y"], name="act") if act == "Relu" else \
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="act")
    w += [numpy_helper.from_array(np.float32(v), n) for n, v in (("lo", -0.5), ("hi", 0.5))
          if act == "Clip"]
    q = _quantize(_model(tmp_path / "m.onnx", [conv, node], w), ActivationSymmetric=True)
    model = onnx.load(str(q))
    scale = next(i for i in model.graph.initializer if i.name == "y_scale")
    scale.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(scale) * np.float32(1.37),
                                           "y_scale"))
    onnx.save(model, str(q))
    assert _run(q) == (2, 2)
    res = CliRunner().invoke(app, ["partition", str(q), "--target", "reference_npu"])
    assert "conv2d_bias_relu x1, relu x1" in " ".join(res.output.split()), res.output


@pytest.mark.parametrize(("lo", "hi", "opset"), [(0.0, 6.0, 17), (0.0, 6.0, 10),
                                                 (-1.0, 1.0, 17), (-6.0, 0.5, 17)])
@pytest.mark.parametrize("symmetric", [False, True])
def test_clip_is_the_requantization_clamp(tmp_path: Path, lo: float, hi: float, opset: int,
                                          symmetric: bool) -> None:
    """ReLU6 (MobileNet), Hardtanh and a clamp whose bounds fall inside the quantized range
    (symmetric activations: q(-1) = -127, q(0.5) well below 127); opset 10 gives the bounds
    as attributes."""
    rng = np.random.default_rng(4)
    conv, w = _conv("c", "x", 8, 3, 6.0, 0.0, rng)
    if opset >= 11:
        clip = helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip")
        w += [numpy_helper.from_array(np.float32(lo), "lo"),
              numpy_helper.from_array(np.float32(hi), "hi")]
    else:
        clip = helper.make_node("Clip", ["c"], ["y"], name="clip", min=lo, max=hi)
    q = _quantize(_model(tmp_path / "m.onnx", [conv, clip], w, opset), opset >= 13,
                  ActivationSymmetric=symmetric, QDQKeepRemovableActivations=True)
    assert "Clip" in _ops(q)
    assert _run(q) == (2, 2)


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    """The reference NPU with the first ``old`` of its target.yaml replaced by ``new`` (its
    RTL and templates shared)."""
    src = Path(reference_npu.__file__).parent
    dst = tmp_path / "npu"
    dst.mkdir()
    shutil.copytree(src / "templates", dst / "templates")  # templates stay inside
    for d in ("rtl", "driver"):
        (dst / d).symlink_to(src / d)
    text = (src / "target.yaml").read_text()
    assert old in text, old
    (dst / "target.yaml").write_text(text.replace(old, new, 1))
    return dst / "target.yaml"


@pytest.mark.parametrize(("shape", "why"), [
    ([1], "Clip max is not a constant scalar"),
    ([], "is a scalar: the NPU layers read rows of channels")])
def test_a_clip_bound_computed_at_run_time_is_not_a_clamp(tmp_path: Path, shape: list[int],
                                                          why: str) -> None:
    """A vendor pattern that lets Clip's bounds be any tensor: a bound the model computes
    cannot be the requantization's clamp, so the layer runs on the host, with the reason."""
    target = _variant(tmp_path, "lo: {const: true, optional: true}   # Clip's bounds",
                      "lo: {optional: true}   # Clip's bounds")
    target.write_text(target.read_text().replace(
        "hi: {const: true, optional: true}", "hi: {optional: true}", 1))
    rng = np.random.default_rng(5)
    conv, w = _conv("c", "x", 8, 3, 2.0, 0.0, rng)
    nodes = [conv, helper.make_node("ReduceMax", ["x"], ["top0"], keepdims=0, name="top0"),
             helper.make_node("Reshape", ["top0", "shape"], ["top"], name="top"),
             helper.make_node("Clip", ["c", "", "top"], ["y"], name="clip")]
    w.append(numpy_helper.from_array(np.array(shape, np.int64), "shape"))
    q = _quantize(_model(tmp_path / "m.onnx", nodes, w), QDQKeepRemovableActivations=True)
    offloaded, _ = _run(q, str(target))
    out = " ".join(_run.output.split())  # type: ignore[attr-defined]
    assert offloaded == 0 and why in out, out
