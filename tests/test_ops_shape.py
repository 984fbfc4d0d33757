"""Shape and indexing ops: symbolic type inference, propagated shape contents, old ONNX forms.

Numeric semantics are covered broadly by the ONNX conformance suite
(tests/test_onnx_conformance.py); these tests pin down what the suite cannot
see — symbolic dims and the ``value`` carried by shape tensors — and run each
graph so the executor checks the inferred types against real results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from core import symbolic as sym
from core.builder import BuildError, FunctionBuilder
from core.executor import run
from core.graph import Module, Var
from core.types import TensorType
from vendor_sdk.frontend.onnx import from_onnx

N, M = sym.var("N"), sym.var("M")
I64 = np.int64


def i64(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=I64)


def module(b: FunctionBuilder, *outputs: Var) -> Module:
    return Module((b.finish(list(outputs)),))


def rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


# --- Shape -> Gather -> Unsqueeze -> Concat -> Reshape -----------------------------------------


def test_pytorch_flatten_chain_keeps_the_symbolic_batch() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3, 4, 4)))
    shape = b.op("Shape", x)
    assert shape.type.value == (N, 3, 4, 4)
    batch = b.op("Gather", shape, np.asarray(0, I64), axis=0)
    assert batch.type == TensorType("int64", (), (N,))
    target = b.op("Concat", b.op("Unsqueeze", batch, i64(0)), i64(-1), axis=0)
    assert target.type.value == (N, -1)
    y = b.op("Reshape", x, target)
    assert str(y.type) == "float32[N, 48]"
    m = module(b, y)
    for n in (1, 3):
        a = rand(n, 3, 4, 4)
        np.testing.assert_array_equal(run(m, [a])[0], a.reshape(n, 48))


def test_shape_start_end_and_size_carry_values() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3, M)))
    assert b.op("Shape", x, start=1).type.value == (3, M)
    assert b.op("Shape", x, start=-2, end=-1).type.value == (3,)
    assert b.op("Shape", x, start=5).type.shape == (0,)
    size = b.op("Size", x)
    assert size.type.shape == () and size.type.value == (3 * M * N,)
    (out,) = run(module(b, size), [np.zeros((2, 3, 5), np.float32)])
    assert out.dtype == np.int64 and out == 30


def test_shape_arithmetic_and_cast_keep_values() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 6)))
    dims = b.op("Cast", b.op("Shape", x), to="int32")
    half = b.op("Div", b.op("Cast", dims, to="int64"), i64(2))
    assert half.type.value == (sym.floordiv(N, 2), 3)
    neg = b.op("Neg", b.op("Slice", b.op("Shape", x), i64(1), i64(2)))
    assert neg.type.value == (-6,)


# --- Reshape, Flatten, Transpose -------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expect"),
    [
        ((0, -1), (N, 24)),
        ((-1, 4), (6 * N, 4)),
        ((0, 2, 3, 4), (N, 2, 3, 4)),
        ((-1,), (24 * N,)),
    ],
)
def test_reshape_zero_and_minus_one_resolve_symbolically(
    target: tuple[int, ...], expect: tuple[sym.Dim, ...]
) -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 6, 4)))
    y = b.op("Reshape", x, i64(*target))
    assert y.type.shape == expect
    a = rand(2, 6, 4)
    np.testing.assert_array_equal(run(module(b, y), [a])[0].reshape(-1), a.reshape(-1))


def test_reshape_allowzero_and_errors() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (0, 3)))
    assert b.op("Reshape", x, i64(3, 0), allowzero=1).type.shape == (3, 0)
    assert b.op("Reshape", x, i64(0, 3)).type.shape == (0, 3)
    y = b.param("y", TensorType("float32", (2, 6)))
    with pytest.raises(BuildError, match="more than one -1"):
        b.op("Reshape", y, i64(-1, -1))
    with pytest.raises(BuildError, match="cannot reshape 12 elements"):
        b.op("Reshape", y, i64(5, 2))
    with pytest.raises(BuildError, match="forbids mixing 0 and -1"):
        b.op("Reshape", y, i64(0, -1), allowzero=1)
    z = b.param("z", TensorType("float32", (2, 6)))
    target = b.param("t", TensorType("int64", (2,)))
    with pytest.raises(BuildError, match="must be a constant or computed from shapes"):
        b.op("Reshape", z, target)


def test_flatten_and_transpose() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3, 4)))
    assert b.op("Flatten", x, axis=-1).type.shape == (3 * N, 4)
    assert b.op("Flatten", x, axis=0).type.shape == (1, 12 * N)
    assert b.op("Flatten", x, axis=3).type.shape == (12 * N, 1)
    assert b.op("Transpose", x).type.shape == (4, 3, N)
    t = b.op("Transpose", x, perm=(1, 0, 2))
    assert t.type.shape == (3, N, 4)
    with pytest.raises(BuildError, match="not a permutation"):
        b.op("Transpose", x, perm=(0, 0, 1))
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(run(module(b, t), [a])[0], a.transpose(1, 0, 2))


# --- Concat, Split ---------------------------------------------------------------------------


def test_concat_adds_symbolic_extents() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 2)))
    y = b.param("y", TensorType("float32", (M, 2)))
    z = b.op("Concat", x, y, x, axis=0)
    assert z.type.shape == (2 * N + M, 2)
    out = run(module(b, z), [rand(3, 2), rand(1, 2)])[0]
    assert out.shape == (7, 2)
    with pytest.raises(BuildError, match="differ off the axis"):
        b.op("Concat", x, b.param("w", TensorType("float32", (N, 3))), axis=0)


def test_split_equal_chunks_and_sizes() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3 * 4)))
    parts = b.unpack(b.op("Split", x, axis=1, num_outputs=3), 3)
    assert [p.type.shape for p in parts] == [(N, 4)] * 3
    sym_parts = b.unpack(b.op("Split", x, axis=0, num_outputs=2), 2)
    half = sym.floordiv(N + 1, 2)
    assert [p.type.shape[0] for p in sym_parts] == [half, N - half]
    sized = b.unpack(b.op("Split", x, i64(2, 10), axis=1), 2)
    assert [p.type.shape for p in sized] == [(N, 2), (N, 10)]
    a = rand(5, 12)
    outs = run(module(b, *parts, *sym_parts, *sized), [a])
    np.testing.assert_array_equal(outs[3], a[:3])
    np.testing.assert_array_equal(outs[4], a[3:])
    np.testing.assert_array_equal(outs[6], a[:, 2:])


def test_split_of_a_shape_tensor_keeps_values() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3, M)))
    lead, rest = b.unpack(b.op("Split", b.op("Shape", x), i64(1, 2)), 2)
    assert lead.type.value == (N,) and rest.type.value == (3, M)


# --- Slice -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "ends", "steps", "expect"),
    [
        ((1,), (2**63 - 1,), (1,), N - 1),  # x[1:]
        ((-1,), (2**63 - 1,), (1,), 1),  # x[-1:]
        ((0,), (-1,), (1,), N - 1),  # x[:-1]
        ((0,), (2**31 - 1,), (2,), sym.floordiv(N + 1, 2)),  # x[::2]
        ((-1,), (-(2**63),), (-1,), N),  # x[::-1]
        ((2,), (5,), (1,), None),  # min/max of N remain; checked numerically below
        ((-2,), (-(2**63),), (-1,), None),  # ONNX clamps the start to 0 for N = 1
    ],
)
def test_slice_on_a_symbolic_dim(starts: tuple[int, ...], ends: tuple[int, ...],
                                 steps: tuple[int, ...], expect: sym.Dim | None) -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3)))
    y = b.op("Slice", x, i64(*starts), i64(*ends), i64(0), i64(*steps))
    if expect is not None:
        assert sym.equal(y.type.shape[0], expect), sym.to_str(y.type.shape[0])
    m = module(b, y)
    for n in (1, 2, 7):
        a = rand(n, 3)
        want = a[_onnx_slice(n, starts[0], ends[0], steps[0])]
        np.testing.assert_array_equal(run(m, [a])[0], want)  # the executor checks the type too


def _onnx_slice(dim: int, start: int, end: int, step: int) -> slice:
    """The ONNX spec's bound rules, written out independently of core/ops/indexing.py."""
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, None if end < 0 else end, step)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(-15, 15) | st.sampled_from([2**63 - 1, -(2**63)]),
    st.integers(-15, 15) | st.sampled_from([2**63 - 1, -(2**63)]),
    st.integers(-4, 4).filter(bool),
)
def test_slice_length_matches_numpy_static_and_symbolic(dim: int, start: int, end: int,
                                                        step: int) -> None:
    want = len(range(dim)[_onnx_slice(dim, start, end, step)])
    for extent in (dim, N):
        b = FunctionBuilder("main")
        x = b.param("x", TensorType("float32", (extent,)))
        y = b.op("Slice", x, i64(start), i64(end), i64(0), i64(step))
        assert sym.evaluate(y.type.shape[0], {"N": dim}) == want


def test_slice_of_shape_values_and_symbolic_bounds() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3, M, 5)))
    shape = b.op("Shape", x)
    assert b.op("Slice", shape, i64(1), i64(-1)).type.value == (3, M)
    assert b.op("Slice", shape, i64(-1), i64(-5), i64(0), i64(-2)).type.value == (5, 3)
    # End bound taken from another tensor's shape: x[:, :, :K] with K symbolic.
    k = b.op("Slice", b.op("Shape", b.param("k", TensorType("float32", (M,)))), i64(0), i64(1))
    y = b.op("Slice", x, i64(0), k, i64(2))
    assert y.type.shape == (N, 3, M, 5)


# --- Gather, GatherElements --------------------------------------------------------------------


def test_gather_shapes_values_and_negative_indices() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 5, 4)))
    shape = b.op("Shape", x)
    assert b.op("Gather", shape, i64(-1, 0)).type.value == (4, N)
    g = b.op("Gather", x, np.asarray([[0, -1], [2, 1]], I64), axis=1)
    assert g.type.shape == (N, 2, 2, 4)
    e = b.op("GatherElements", x, np.zeros((1, 2, 4), I64) - 1, axis=1)
    assert e.type.shape == (1, 2, 4)
    a = rand(3, 5, 4)
    out_g, out_e = run(module(b, g, e), [a])
    np.testing.assert_array_equal(out_g, a[:, [[0, 4], [2, 1]]])
    np.testing.assert_array_equal(out_e, np.broadcast_to(a[:1, 4:5], (1, 2, 4)))


# --- Squeeze, Unsqueeze, Expand, Tile ------------------------------------------------------------


def test_squeeze_unsqueeze_keep_values() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 1, 4)))
    assert b.op("Squeeze", x, i64(1)).type.shape == (N, 4)
    u = b.op("Unsqueeze", x, i64(0, -1))
    assert u.type.shape == (1, N, 1, 4, 1)
    batch = b.op("Gather", b.op("Shape", x), np.asarray(0, I64))
    assert b.op("Unsqueeze", batch, i64(0)).type.value == (N,)
    one = b.op("Slice", b.op("Shape", x), i64(0), i64(1))
    assert b.op("Squeeze", one, i64(0)).type == TensorType("int64", (), (N,))
    with pytest.raises(BuildError, match="needs a static shape"):
        b.op("Squeeze", x)
    with pytest.raises(BuildError, match="cannot squeeze axis 2 of extent 4"):
        b.op("Squeeze", x, i64(2))
    s = b.op("Squeeze", b.param("s", TensorType("float32", (1, 3, 1))))
    assert s.type.shape == (3,)


def test_expand_and_tile_with_symbolic_targets() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 1)))
    e = b.op("Expand", x, b.op("Shape", b.param("y", TensorType("float32", (1, M)))))
    assert e.type.shape == (N, M)
    t = b.op("Tile", x, i64(2, 3))
    assert t.type.shape == (2 * N, 3)
    a, c = rand(2, 1), rand(1, 5)
    out_e, out_t = run(module(b, e, t), [a, c])
    np.testing.assert_array_equal(out_e, np.broadcast_to(a, (2, 5)))
    np.testing.assert_array_equal(out_t, np.tile(a, (2, 3)))


# --- Pad, ConstantOfShape, Range, DepthToSpace --------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_modes_with_symbolic_batch(mode: str) -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 4)))
    y = b.op("Pad", x, i64(0, 2, 1, -1), np.asarray(9.0, np.float32), mode=mode)
    assert y.type.shape == (N + 1, 5)
    a = rand(3, 4)
    np_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode]
    extra = {"constant_values": 9.0} if mode == "constant" else {}
    want = np.pad(a[:, :3], ((0, 1), (2, 0)), mode=np_mode, **extra)  # type: ignore[call-overload]
    np.testing.assert_array_equal(run(module(b, y), [a])[0], want)


def test_pad_axes_input() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 4)))
    y = b.op("Pad", x, i64(1, 2), None, i64(-1))
    assert y.type.shape == (N, 7)


def test_constant_of_shape_and_range_follow_symbolic_shapes() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 4)))
    shape = b.op("Shape", x)
    c = b.op("ConstantOfShape", shape, value=7, dtype="int64")
    assert c.type == TensorType("int64", (N, 4))
    n = b.op("Gather", shape, np.asarray(0, I64))
    r = b.op("Range", np.asarray(0, I64), n, np.asarray(1, I64))
    assert r.type.shape == (N,)
    r2 = b.op("Range", n, np.asarray(-1, I64), np.asarray(-2, I64))
    assert sym.equal(r2.type.shape[0], sym.floordiv(N + 2, 2))
    static = b.op("Range", np.asarray(1, I64), np.asarray(7, I64), np.asarray(2, I64))
    assert static.type.value == (1, 3, 5)
    out = run(module(b, c, r, r2), [rand(5, 4)])
    np.testing.assert_array_equal(out[0], np.full((5, 4), 7, I64))
    np.testing.assert_array_equal(out[1], np.arange(5))
    np.testing.assert_array_equal(out[2], np.arange(5, -1, -2))


def test_depth_to_space_round_trip() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 8, 2, 3)))
    for mode in ("DCR", "CRD"):
        d = b.op("DepthToSpace", x, blocksize=2, mode=mode)
        assert d.type.shape == (N, 2, 4, 6)
        s = b.op("SpaceToDepth", d, blocksize=2, mode=mode)
        assert s.type.shape == (N, 8, 2, 3)
        a = rand(2, 8, 2, 3)
        np.testing.assert_array_equal(run(module(b, s), [a])[0], a)


# --- old ONNX forms go through the converters -------------------------------------------------


def _compare_with_onnxruntime(nodes: onnx.NodeProto | list[onnx.NodeProto], opset: int,
                              inputs: Sequence[np.ndarray], n_outputs: int = 1) -> list[np.ndarray]:
    graph = helper.make_graph(
        nodes if isinstance(nodes, list) else [nodes], "g",
        [helper.make_tensor_value_info(f"x{i}", helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for i, a in enumerate(inputs)],
        [helper.make_empty_tensor_value_info(f"y{i}")
         for i in range(n_outputs)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    ours = run(from_onnx(model), list(inputs))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {f"x{i}": a for i, a in enumerate(inputs)})
    for a, t in zip(ours, theirs, strict=True):
        assert a.dtype == t.dtype
        np.testing.assert_allclose(a, t, rtol=1e-6)
    return ours


def test_split_before_opset_13_and_before_18() -> None:
    a = rand(6, 4)
    attr_form = helper.make_node("Split", ["x0"], ["y0", "y1"], axis=0, split=[2, 4])
    assert [o.shape for o in _compare_with_onnxruntime(attr_form, 11, [a], 2)] == [(2, 4), (4, 4)]
    equal = helper.make_node("Split", ["x0"], ["y0", "y1", "y2"], axis=0)
    _compare_with_onnxruntime(equal, 13, [a], 3)


def test_slice_pad_before_their_inputs_existed() -> None:
    a = rand(5, 6)
    s = helper.make_node("Slice", ["x0"], ["y0"], starts=[1, -4], ends=[100, -1], axes=[0, 1])
    _compare_with_onnxruntime(s, 9, [a])
    # A negative step from before the first element: ONNX clamps the start to 0
    # (numpy would return nothing).
    bounds = [helper.make_node("Constant", [], [n], value=helper.make_tensor(
        n, TensorProto.INT64, [1], [v])) for n, v in [("s", -7), ("e", -100), ("t", -1)]]
    back = helper.make_node("Slice", ["x0", "s", "e", "", "t"], ["y0"])
    (out,) = _compare_with_onnxruntime([*bounds, back], 13, [a])
    assert out.shape == (1, 6)  # onnxruntime agrees
    p = helper.make_node("Pad", ["x0"], ["y0"], pads=[1, 0, 0, 2], value=3.5, mode="constant")
    _compare_with_onnxruntime(p, 10, [a])
    p2 = helper.make_node("Pad", ["x0"], ["y0"], pads=[1, 2, 1, 2], mode="reflect")
    _compare_with_onnxruntime(p2, 10, [a])


def test_constant_of_shape_value_attribute_becomes_scalar_attrs() -> None:
    value = helper.make_tensor("v", TensorProto.INT32, [1], [5])
    nodes = [helper.make_node("Shape", ["x0"], ["s"]),
             helper.make_node("ConstantOfShape", ["s"], ["y0"], value=value)]
    (out,) = _compare_with_onnxruntime(nodes, 20, [rand(2, 3)])
    assert out.dtype == np.int32 and out.shape == (2, 3)
    default = [helper.make_node("Shape", ["x0"], ["s"]),
               helper.make_node("ConstantOfShape", ["s"], ["y0"])]
    (zeros,) = _compare_with_onnxruntime(default, 9, [rand(4)])
    assert zeros.dtype == np.float32
