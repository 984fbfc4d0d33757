"""Reductions, ArgMax/ArgMin, CumSum, TopK: symbolic inference and results against onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

from core import symbolic as sym
from core.builder import BuildError, FunctionBuilder
from core.executor import run
from core.graph import Module, Var
from core.types import TensorType, TupleType
from vendor_sdk.frontend.onnx import from_onnx

N = sym.var("N")


def i64(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def module(b: FunctionBuilder, *outputs: Var) -> Module:
    return Module((b.finish(list(outputs)),))


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def onnx_model(nodes: list[onnx.NodeProto], opset: int, inputs: Sequence[np.ndarray],
               n_outputs: int = 1, consts: dict[str, np.ndarray] | None = None) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(f"x{i}", helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for i, a in enumerate(inputs)],
        [helper.make_empty_tensor_value_info(f"y{i}") for i in range(n_outputs)],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in (consts or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def check_against_onnxruntime(model: onnx.ModelProto,
                              inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    ours = run(from_onnx(model), list(inputs))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {f"x{i}": a for i, a in enumerate(inputs)})
    for a, t in zip(ours, theirs, strict=True):
        assert a.dtype == t.dtype and a.shape == t.shape
        np.testing.assert_allclose(a, t, rtol=1e-5, atol=1e-6)
    return ours


# --- Reduce* ---------------------------------------------------------------------------------


def test_reduce_inference_keeps_symbolic_dims() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3, 4)))
    assert b.op("ReduceMean", x, i64(-1)).type.shape == (N, 3, 1)
    assert b.op("ReduceSum", x, i64(0, 2), keepdims=0).type.shape == (3,)
    assert b.op("ReduceMax", x).type.shape == (1, 1, 1)
    assert b.op("ReduceMax", x, keepdims=0).type.shape == ()
    assert b.op("ReduceL2", x, i64(), noop_with_empty_axes=1).type.shape == (N, 3, 4)
    with pytest.raises(BuildError, match="repeated axis"):
        b.op("ReduceSum", x, i64(1, -2))
    with pytest.raises(BuildError, match="out of range"):
        b.op("ReduceSum", x, i64(3))
    mean = b.op("ReduceMean", x, i64(1, 2), keepdims=0)
    a = rand(5, 3, 4)
    np.testing.assert_allclose(run(module(b, mean), [a])[0], a.mean(axis=(1, 2)), rtol=1e-6)


REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
              "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp"]


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(REDUCE_OPS),
    st.lists(st.integers(1, 4), min_size=1, max_size=4),
    st.data(),
    st.booleans(),
)
def test_reductions_match_onnxruntime(op: str, shape: list[int], data: st.DataObject,
                                      keepdims: bool) -> None:
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a:
                              a % len(shape), max_size=len(shape)))
    x = rand(*shape, seed=len(axes))
    node = helper.make_node(op, ["x0", "axes"] if axes else ["x0"], ["y0"],
                            keepdims=int(keepdims))
    model = onnx_model([node], 18, [x], consts={"axes": i64(*axes)} if axes else None)
    check_against_onnxruntime(model, [x])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2"])
def test_reduce_axes_attribute_of_older_opsets(op: str) -> None:
    x = rand(2, 3, 4)
    node = helper.make_node(op, ["x0"], ["y0"], axes=[0, -1], keepdims=0)
    (out,) = check_against_onnxruntime(onnx_model([node], 11, [x]), [x])
    assert out.shape == (3,)


def test_empty_reductions_give_the_identity() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (2, 0, 3)))
    outs = [b.op(op, x, i64(1), keepdims=0) for op in
            ("ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceLogSumExp")]
    got = run(module(b, *outs), [np.zeros((2, 0, 3), np.float32)])
    for value, want in zip(got, [0, 1, -np.inf, np.inf, 0, -np.inf], strict=True):
        assert value.shape == (2, 3)
        np.testing.assert_array_equal(value, np.full((2, 3), want, np.float32))


def test_integer_mean_truncates_toward_zero() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("int32", (1, 2)))
    y = b.op("ReduceMean", x, i64(1))
    (out,) = run(module(b, y), [np.asarray([[-3, -4]], np.int32)])
    assert out.dtype == np.int32 and out.tolist() == [[-3]]


# --- ArgMax, ArgMin, CumSum, TopK ---------------------------------------------------------------


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_extremes_with_ties(op: str, last: int) -> None:
    x = np.asarray([[1, 5, 5, 0], [0, 0, 2, 2]], np.float32)
    node = helper.make_node(op, ["x0"], ["y0"], axis=1, keepdims=0, select_last_index=last)
    (out,) = check_against_onnxruntime(onnx_model([node], 13, [x]), [x])
    assert out.dtype == np.int64
    b = FunctionBuilder("main")
    p = b.param("x", TensorType("float32", (N, 4)))
    assert b.op(op, p, axis=1).type == TensorType("int64", (N, 1))


@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumsum_variants(exclusive: int, reverse: int) -> None:
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    node = helper.make_node("CumSum", ["x0", "axis"], ["y0"], exclusive=exclusive,
                            reverse=reverse)
    check_against_onnxruntime(onnx_model([node], 14, [x], consts={"axis": i64(-1)}), [x])


@pytest.mark.parametrize("largest", [0, 1])
def test_topk_breaks_ties_toward_lower_indices(largest: int) -> None:
    x = np.asarray([[3, 1, 3, 2, 1], [0, 0, 0, 0, 0]], np.int64)
    node = helper.make_node("TopK", ["x0", "k"], ["y0", "y1"], axis=1, largest=largest)
    model = onnx_model([node], 11, [x], n_outputs=2, consts={"k": i64(3)})
    _, indices = check_against_onnxruntime(model, [x])
    assert indices[1].tolist() == [0, 1, 2]
    # onnxruntime has no uint64 TopK; largest-first must not negate (and wrap) unsigned values.
    big = np.asarray([[2**63, 1, 2**64 - 1]], np.uint64)
    b = FunctionBuilder("main")
    p = b.param("x", TensorType("uint64", (1, 3)))
    values, idx = b.unpack(b.op("TopK", p, i64(2), largest=largest), 2)
    got_v, got_i = run(module(b, values, idx), [big])
    want = [[2, 0]] if largest else [[1, 0]]
    assert got_i.tolist() == want and got_v.tolist() == [[int(big[0, i]) for i in want[0]]]


def test_topk_k_attribute_of_opset_9_and_symbolic_inference() -> None:
    x = rand(4, 6)
    node = helper.make_node("TopK", ["x0"], ["y0", "y1"], k=2, axis=0)
    check_against_onnxruntime(onnx_model([node], 9, [x], n_outputs=2), [x])
    b = FunctionBuilder("main")
    p = b.param("x", TensorType("float32", (N, 6)))
    t = b.op("TopK", p, i64(3))
    assert t.type == TupleType((TensorType("float32", (N, 3)), TensorType("int64", (N, 3))))
    with pytest.raises(BuildError, match="out of range"):
        b.op("TopK", p, i64(7))
