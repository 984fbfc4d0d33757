"""The float-model preparation before quantization changes no result: opset upgrade, constant
subgraphs evaluated, BatchNorm and per-channel Mul/Add folded (checked against onnxruntime on
the original model)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from vendor_sdk.runtime.quant_prep import prepare_float


def _run(m: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def _model() -> onnx.ModelProto:
    """Conv -> BN -> Mul(c) -> Add(c) -> Relu -> Concat -> BN -> Mul -> Add, opset 9, IR 3,
    the conv weight from ConstantOfShape -> Mul (a constant subgraph) and listed as an input."""
    rng = np.random.default_rng(0)
    c = 4

    def init(name: str, a: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(a.astype(np.float32), name)

    def bn(tag: str, n: int) -> list[onnx.TensorProto]:
        return [init(f"{tag}_s", rng.random(n) + 0.5), init(f"{tag}_b", rng.random(n) - 0.5),
                init(f"{tag}_m", rng.random(n) - 0.5), init(f"{tag}_v", rng.random(n) + 0.5)]

    inits = [numpy_helper.from_array(np.array([c, 3, 3, 3], np.int64), "wshape"),
             init("wscale", rng.random((c, 1, 1, 1)) - 0.5), init("cb", rng.random(c)),
             *bn("bn1", c), *bn("bn2", 2 * c),
             init("mul1", rng.random((c, 1, 1)) + 0.5), init("add1", rng.random((c, 1, 1))),
             init("mul2", rng.random((2 * c, 1, 1)) + 0.5), init("add2", np.array(0.25))]
    cos = helper.make_node("ConstantOfShape", ["wshape"], ["ones"],
                           value=numpy_helper.from_array(np.array([1.0], np.float32)))
    nodes = [cos, helper.make_node("Mul", ["ones", "wscale"], ["w"]),
             helper.make_node("Conv", ["x", "w", "cb"], ["conv"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["conv", "bn1_s", "bn1_b", "bn1_m", "bn1_v"],
                              ["bn1"], epsilon=1e-3),
             helper.make_node("Mul", ["bn1", "mul1"], ["m1"]),
             helper.make_node("Add", ["add1", "m1"], ["a1"]),
             helper.make_node("Relu", ["a1"], ["r1"]),
             helper.make_node("Concat", ["r1", "a1"], ["cat"], axis=1),
             helper.make_node("BatchNormalization", ["cat", "bn2_s", "bn2_b", "bn2_m", "bn2_v"],
                              ["bn2"]),
             helper.make_node("Mul", ["bn2", "mul2"], ["m2"]),
             helper.make_node("Add", ["m2", "add2"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])] + [
        helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in inits]
    g = helper.make_graph(nodes, "prep", inputs,
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 3
    return m


def test_prepare_float_folds_and_keeps_the_results() -> None:
    m = _model()
    prepared, done = prepare_float(m)
    ops = [n.op_type for n in prepared.graph.node]
    # the conv absorbed BN, Mul, Add; the second BN absorbed its Mul and Add
    assert ops == ["Conv", "Relu", "Concat", "BatchNormalization"], ops
    assert done == {"opset": 9, "folded_constants": 2, "folded_affine": 5}
    assert prepared.opset_import[0].version == 13
    assert [i.name for i in prepared.graph.input] == ["x"]
    x = np.random.default_rng(1).random((1, 3, 8, 8), np.float32) - 0.5
    np.testing.assert_allclose(_run(prepared, x), _run(m, x), rtol=1e-5, atol=1e-5)


def test_a_shared_conv_result_is_not_folded() -> None:
    m = _model()
    m.graph.output.append(helper.make_tensor_value_info("conv", TensorProto.FLOAT, None))
    prepared, done = prepare_float(m)
    assert done["folded_affine"] == 4  # BN1 kept, its Mul/Add folded into it; BN2 as before
    x = np.random.default_rng(2).random((1, 3, 8, 8), np.float32)
    for got, want in zip(ort.InferenceSession(prepared.SerializeToString()).run(None, {"x": x}),
                         ort.InferenceSession(m.SerializeToString()).run(None, {"x": x}),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
