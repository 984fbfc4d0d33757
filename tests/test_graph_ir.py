"""Graph IR: construction, printing, verification, execution with symbolic shapes."""

from __future__ import annotations

import numpy as np
import pytest

from core import symbolic as sym
from core.builder import BuildError, FunctionBuilder
from core.executor import ExecutionError, run
from core.graph import Binding, Block, Call, CallExtern, Function, Module, TupleGetItem, Var
from core.printer import format_module
from core.types import TensorType, TupleType
from core.verify import VerifyError, verify

N = sym.var("N")


def _mlp_like() -> Module:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 4)))
    y = b.op("Relu", x, name="y", source="relu_node")
    z = b.op("Add", y, np.ones(4, np.float32), name="z")
    return Module((b.finish([z]),))


def test_printer_shows_one_binding_a_line_with_types() -> None:
    text = format_module(_mlp_like())
    assert "def @main(%x: float32[N, 4]) -> float32[N, 4]:" in text
    assert "%y: float32[N, 4] = Relu(%x)  # relu_node" in text
    assert "%z: float32[N, 4] = Add(%y, const<float32[4]>[1.,1.,1.,1.])" in text
    assert text.strip().endswith("return %z")


def test_executor_binds_symbolic_batch_and_checks_types() -> None:
    m = _mlp_like()
    for n in (1, 3, 8):
        x = np.arange(n * 4, dtype=np.float32).reshape(n, 4) - 5
        (out,) = run(m, [x])
        np.testing.assert_array_equal(out, np.maximum(x, 0) + 1)
    with pytest.raises(ExecutionError, match="input 'x' has rank 1"):
        run(m, [np.zeros(4, np.float32)])
    with pytest.raises(ExecutionError, match="dtype"):
        run(m, [np.zeros((2, 4), np.int32)])


def test_executor_checks_symbol_consistency_across_inputs() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (N, 4)))
    y = b.param("y", TensorType("float32", (N, 4)))
    m = Module((b.finish([b.op("Add", x, y)]),))
    with pytest.raises(ExecutionError, match="binds N=3, but it is 2"):
        run(m, [np.zeros((2, 4), np.float32), np.zeros((3, 4), np.float32)])


def test_builder_names_the_binding_on_type_errors() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (2, 4)))
    y = b.param("y", TensorType("int32", (2, 4)))
    with pytest.raises(BuildError, match=r"%bad \(from node7\).*dtypes differ"):
        b.op("Add", x, y, name="bad", source="node7")
    with pytest.raises(BuildError, match="unsupported attribute"):
        b.op("Relu", x, name="r", alpha=1.0)


def _func(bindings: list[Binding], params: tuple[Var, ...], outputs: tuple[Var, ...]) -> Module:
    return Module((Function("main", params, (Block(tuple(bindings)),), outputs),))


def test_verifier_reports_ssa_scope_and_type_problems_by_binding() -> None:
    t = TensorType("float32", (2, 4))
    x = Var("x", t)
    y = Var("y", t)
    undefined = Var("ghost", t)
    wrong = Var("w", TensorType("float32", (3, 4)))
    bindings = [
        Binding(y, Call("Relu", (x,))),
        Binding(y, Call("Relu", (x,))),  # defined twice
        Binding(Var("u", t), Call("Relu", (undefined,))),  # use before def
        Binding(wrong, Call("Relu", (x,)), source="onnx_node_3"),  # bad annotation
    ]
    with pytest.raises(VerifyError) as info:
        verify(_func(bindings, (x,), (y,)))
    problems = info.value.problems
    assert any("%y is defined twice" in p for p in problems)
    assert any("uses %ghost before it is defined" in p for p in problems)
    assert any("@main: %w (onnx_node_3): annotated float32[3, 4]" in p for p in problems)


def test_verifier_accepts_well_formed_module_and_tuple_access() -> None:
    verify(_mlp_like())
    t = TensorType("float32", (2,))
    tup = Var("t", TupleType((t, t)))
    first = Var("a", t)
    m = _func(
        [
            Binding(tup, CallExtern("vendor_split", (Var("x", t),), TupleType((t, t)))),
            Binding(first, TupleGetItem(tup, 0)),
        ],
        (Var("x", t),),
        (first,),
    )
    verify(m)
    (out,) = run(m, [np.array([1.0, 2.0], np.float32)],
                 externs={"vendor_split": lambda a: (a * 2, a * 3)})
    np.testing.assert_array_equal(out, [2.0, 4.0])


def test_missing_extern_is_a_clear_error() -> None:
    t = TensorType("float32", (2,))
    x = Var("x", t)
    y = Var("y", t)
    m = _func([Binding(y, CallExtern("npu_region_0", (x,), t))], (x,), (y,))
    with pytest.raises(ExecutionError, match="no implementation for external 'npu_region_0'"):
        run(m, [np.zeros(2, np.float32)])


def test_call_func_binds_callee_symbols_to_caller_dims() -> None:
    from core.graph import CallFunc

    inner = FunctionBuilder("region0")
    a = inner.param("a", TensorType("float32", (sym.var("B"), 4)))
    region = inner.finish([inner.op("Relu", a)])
    outer = FunctionBuilder("main", Module((region,)))
    x = outer.param("x", TensorType("float32", (N * 2, 4)))
    y = outer.emit(CallFunc("region0", (x,)), "y")
    assert str(y.type) == "float32[2*N, 4]"
    m = Module((outer.finish([y]), region))
    verify(m)
    (out,) = run(m, [np.full((6, 4), -1.0, np.float32)])
    np.testing.assert_array_equal(out, np.zeros((6, 4), np.float32))
    bad = Var("z", TensorType("float32", (N, 5)))
    with pytest.raises(BuildError, match="argument 0: expected float32"):
        outer.emit(CallFunc("region0", (bad,)), "w")


def test_nested_floordiv_by_constants_merges() -> None:
    h = sym.var("H")
    assert sym.floordiv(sym.floordiv(h - 1, 2), 2) == sym.floordiv(h - 1, 4)
    for value in range(1, 40):
        assert sym.evaluate(((h - 1) // 2) // 3, {"H": value}) == ((value - 1) // 2) // 3


def test_executor_accepts_original_tensor_names() -> None:
    b = FunctionBuilder("main")
    x = b.param("gpu_0/data_0", TensorType("float32", (2,)))
    m = Module((b.finish([b.op("Relu", x)]),))
    assert x.name == "gpu_0_data_0"
    for key in ("gpu_0/data_0", "gpu_0_data_0"):
        (out,) = run(m, {key: np.array([-1.0, 2.0], np.float32)})
        np.testing.assert_array_equal(out, [0.0, 2.0])
    with pytest.raises(ExecutionError, match="missing inputs"):
        run(m, {"other": np.zeros(2, np.float32)})
