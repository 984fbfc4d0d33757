"""Graph passes keep results: property tests on random graphs, and targeted cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from core import symbolic as sym
from core.builder import FunctionBuilder
from core.executor import run
from core.graph import Call, Constant, Module, Var
from core.passes import eliminate_dead_code, fold_batchnorm, fold_constants, optimize
from core.types import TensorType
from core.verify import verify
from vendor_sdk.frontend.onnx import from_onnx

N = sym.var("N")
UNARY = ("Relu", "Neg", "Abs", "Identity")
BINARY = ("Add", "Sub", "Mul", "Max", "Min")


@st.composite
def random_graphs(draw: st.DrawFn) -> Module:
    """A random DAG over one symbolic-batch input and constants, with dead branches."""
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 3)))
    values: list[Var | Constant] = [x]
    n_ops = draw(st.integers(1, 12))
    for i in range(n_ops):
        kind = draw(st.sampled_from(("unary", "binary", "const", "cast")))
        a = draw(st.sampled_from(values))
        if kind == "const":
            c = np.asarray(draw(st.lists(st.integers(-3, 3), min_size=3, max_size=3)),
                           np.float32)
            values.append(Constant(c))
        elif kind == "unary":
            values.append(b.op(draw(st.sampled_from(UNARY)), a, name=f"u{i}"))
        elif kind == "cast":
            if not isinstance(a.type, TensorType) or a.type.dtype != "float32":
                continue
            as_int = b.op("Cast", a, name=f"ci{i}", to="int32")
            values.append(b.op("Cast", as_int, name=f"cf{i}", to="float32"))
        else:
            c = draw(st.sampled_from(values))
            values.append(b.op(draw(st.sampled_from(BINARY)), a, c, name=f"b{i}"))
    outs = [v for v in values[-2:] if isinstance(v, Var)] or [b.op("Identity", x)]
    return Module((b.finish(outs),))


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_optimize_keeps_results_on_random_graphs(m: Module, batch: int, seed: int) -> None:
    x = np.random.default_rng(seed).integers(-4, 5, size=(batch, 3)).astype(np.float32)
    expected = run(m, [x])
    optimized = optimize(m)
    verify(optimized)
    got = run(optimized, [x])
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e, g)
    assert sum(1 for _ in optimized.main.bindings) <= sum(1 for _ in m.main.bindings)


def test_fold_constants_and_dce_remove_work() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 2)))
    c = b.op("Add", np.ones(2, np.float32), np.full(2, 2, np.float32), name="c")
    b.op("Relu", x, name="dead")
    y = b.op("Mul", x, c, name="y")
    m = Module((b.finish([y]),))
    folded = eliminate_dead_code(fold_constants(m))
    bindings = list(folded.main.bindings)
    assert [bd.var.name for bd in bindings] == ["y"]
    arg = bindings[0].value.args[1]  # type: ignore[union-attr]
    assert isinstance(arg, Constant)
    np.testing.assert_array_equal(arg.value, [3, 3])


def _conv_bn_model(seed: int, with_bias: bool) -> bytes:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    inits = [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel())]
    conv_inputs = ["x", "w"]
    if with_bias:
        inits.append(helper.make_tensor("cb", TensorProto.FLOAT, [4], rng.standard_normal(4)))
        conv_inputs.append("cb")
    for name, lo in (("s", 0.5), ("bb", -1.0), ("mean", -1.0), ("var", 0.1)):
        inits.append(helper.make_tensor(name, TensorProto.FLOAT, [4], rng.uniform(lo, 2.0, 4)))
    nodes = [
        helper.make_node("Conv", conv_inputs, ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "bb", "mean", "var"], ["y"],
                         epsilon=1e-3),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("y", 1, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)]).SerializeToString()


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1000), st.booleans())
def test_fold_batchnorm_into_conv_keeps_results(seed: int, with_bias: bool) -> None:
    import onnx

    m = from_onnx(onnx.load_from_string(_conv_bn_model(seed, with_bias)))
    folded = eliminate_dead_code(fold_batchnorm(m))
    ops = [bd.value.op for bd in folded.main.bindings if isinstance(bd.value, Call)]
    assert ops == ["Conv"]
    x = np.random.default_rng(seed).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run(folded, [x])[0], run(m, [x])[0], rtol=1e-4, atol=1e-4)
