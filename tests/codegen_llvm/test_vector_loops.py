"""``vectorized`` loops (core.codegen_llvm.vector): one vector operation per statement where
the lanes are contiguous, scalar copies otherwise — and the same bits either way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.codegen_llvm import compile_func, emit_ir
from core.tir import Block, Buffer, Const, Expr, For, IterVar, Load, PrimFunc, Store, Var, cast
from core.tir.expr import Bin, Select, Unary
from core.tir.stmt import LoopKind

W = 16
ROWS = Var("rows")


def _program(value: object, kind: LoopKind, name: str, in_dtype: str = "float32",
             out_dtype: str = "float32", index: object = None) -> PrimFunc:
    """out[r, l] = value(a[r, l], b[r], l) for l in a loop of ``kind`` over W lanes."""
    a = Buffer("a", in_dtype, (ROWS, Const(W)))
    b = Buffer("b", in_dtype, (ROWS,))
    out = Buffer("out", out_dtype, (ROWS, Const(W)))
    r, l, vr, vl = Var("r"), Var("l"), Var("vr"), Var("vl")
    lane_idx = index(vl) if callable(index) else vl
    x, y = Load(a, (vr, lane_idx)), Load(b, (vr,))
    body = Block("blk", (IterVar(vr, ROWS), IterVar(vl, Const(W))), (r, l),
                 Store(out, (vr, vl), value(x, y)))  # type: ignore[operator]
    return PrimFunc(f"{name}_{kind}", (a, b, out), For(r, ROWS, For(l, Const(W), body, kind)))


VALUES = {
    "add_mul": lambda x, y: Bin("+", Bin("*", x, y), Const(1.5, "float32")),
    "max_min": lambda x, y: Bin("min", Bin("max", x, y), Const(0.25, "float32")),
    # lanes in the condition; arms that load per lane are refused (they may be padding)
    "select": lambda x, y: Bin("*", x, Select(Bin("<", x, y), Const(2.0, "float32"), y)),
    "exp": lambda x, y: Unary("exp", Bin("-", x, y)),
    "neg_abs_sqrt": lambda x, y: Unary("sqrt", Unary("abs", Unary("neg", x))),
    "div": lambda x, y: Bin("/", x, y),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_vector_loop_matches_scalar_copies(name: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, W)).astype(np.float32) * 3
    b = rng.standard_normal(5).astype(np.float32)
    vec = _program(VALUES[name], "vectorized", name)
    ref = _program(VALUES[name], "serial", name)
    assert f"<{W} x float>" in emit_ir(vec, schedule=False)
    np.testing.assert_array_equal(compile_func(vec)(a, b)[0], compile_func(ref)(a, b)[0])


def test_contiguous_after_simplification() -> None:
    """``l * 1`` is still contiguous: the analysis works on canonical index arithmetic."""
    f = _program(VALUES["add_mul"], "vectorized", "times_one",
                 index=lambda vl: Bin("*", vl, Const(1)))
    assert f"load <{W} x float>" in emit_ir(f, schedule=False)


def _reverse(vl: Expr) -> Expr:
    return Bin("-", Const(W - 1), vl)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("reversed", {"index": _reverse}),  # lanes run backwards: not contiguous
    ("cast", {"in_dtype": "int8", "out_dtype": "int32"}),  # casts stay scalar
])
def test_fallback_to_scalar_copies(name: str, kwargs: dict) -> None:
    value = (lambda x, y: Bin("+", cast("int32", x), cast("int32", y))) if name == "cast" \
        else VALUES["add_mul"]
    vec = _program(value, "vectorized", name, **kwargs)
    ref = _program(value, "serial", name, **kwargs)
    assert f"load <{W} x" not in emit_ir(vec, schedule=False)
    rng = np.random.default_rng(1)
    dt = kwargs.get("in_dtype", "float32")
    a = (rng.standard_normal((3, W)) * 50).astype(dt)
    b = (rng.standard_normal(3) * 50).astype(dt)
    np.testing.assert_array_equal(compile_func(vec)(a, b)[0], compile_func(ref)(a, b)[0])


@settings(max_examples=20, deadline=None)
@given(ops=st.lists(st.sampled_from(["+", "-", "*", "max", "min"]), min_size=1, max_size=5),
       seed=st.integers(0, 99))
def test_random_chains_keep_bits(ops: list[str], seed: int) -> None:
    def value(x: Expr, y: Expr) -> Expr:
        e = x
        for k, op in enumerate(ops):
            e = Bin(op, e, y if k % 2 else x)
        return e

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((4, W)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    tag = "_".join({"+": "p", "-": "m", "*": "t", "max": "x", "min": "n"}[o] for o in ops)
    vec = compile_func(_program(value, "vectorized", f"chain_{tag}"))
    ref = compile_func(_program(value, "serial", f"chain_{tag}"))
    np.testing.assert_array_equal(vec(a, b)[0], ref(a, b)[0])
