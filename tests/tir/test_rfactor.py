"""rfactor (core.schedule.rfactor) and the host schedule's use of it: partial sums keep
results (exactly for integers and min/max, within float rounding for float sums), the
interpreter and machine code agree bit for bit on the rewritten program, and the
preconditions fail with messages that say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.codegen_llvm import compile_func
from core.schedule import ScheduleError, rfactor
from core.schedule.host import host_schedule
from core.tir import (
    Bin,
    Block,
    Buffer,
    Const,
    Expr,
    For,
    IterVar,
    Load,
    PrimFunc,
    Store,
    Var,
    call,
    cast,
    check,
)
from core.tir.visit import walk_stmt


def reduction(op: str, dtype: str, rows: int | str, inner: int | str, outer: int = 1,
              acc_left: bool = True) -> PrimFunc:
    """``out[i] = out[i] op f(x[i, a, b])`` over a in [0, outer), b in [0, inner)."""
    dims = tuple(Var(d) if isinstance(d, str) else Const(d) for d in (rows, outer, inner))
    x = Buffer("x", "int8" if dtype == "int32" else dtype, dims)
    out = Buffer("out", dtype, (dims[0],))
    i, a, b = Var("i"), Var("a"), Var("b")
    vi, va, vb = Var("vi"), Var("va"), Var("vb")
    term: Expr = Load(x, (vi, va, vb))
    if dtype == "int32":
        term = Bin("*", cast("int32", term), Const(3, "int32"))
    acc = Load(out, (vi,))
    value = Bin(op, acc, term) if acc_left else Bin(op, term, acc)
    if op == "+":
        init = Const(0.0 if dtype != "int32" else 0, dtype)
    else:
        init = Const(float("-inf") if op == "max" else float("inf"), dtype) \
            if dtype != "int32" else Const(-(2**31) if op == "max" else 2**31 - 1, dtype)
    blk = Block("red", (IterVar(vi, dims[0]), IterVar(va, dims[1], "reduce"),
                        IterVar(vb, dims[2], "reduce")), (i, a, b),
                Store(out, (vi,), value), Store(out, (vi,), init))
    return check(PrimFunc("red_func", (x, out), For(i, dims[0], For(a, dims[1], For(
        b, dims[2], blk)))))


def _data(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "int32":
        return rng.integers(-128, 128, shape).astype(np.int8)
    return rng.standard_normal(shape).astype(dtype)


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(["+", "max", "min"]), dtype=st.sampled_from(["float32", "int32"]),
       rows=st.integers(1, 5), outer=st.integers(1, 3), inner=st.integers(1, 70),
       lanes=st.integers(2, 20), symbolic=st.booleans(), acc_left=st.booleans(),
       seed=st.integers(0, 9))
def test_rfactor_keeps_results(op: str, dtype: str, rows: int, outer: int, inner: int,
                               lanes: int, symbolic: bool, acc_left: bool, seed: int) -> None:
    f = reduction(op, dtype, "R" if symbolic else rows, "K" if symbolic else inner, outer,
                  acc_left)
    g = check(rfactor(f, "red", lanes))
    x = _data(dtype, (rows, outer, inner), seed)
    want, got = call(f, [x])[0], call(g, [x])[0]
    if op == "+" and dtype == "float32":
        # Reassociated: each partial sum and the fold round; the bound is float rounding.
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * outer * inner)
    else:
        np.testing.assert_array_equal(got, want)  # integer sums wrap; min/max exact
    np.testing.assert_array_equal(compile_func(g, reassociate=False)(x)[0], got)


def test_rfactor_structure() -> None:
    g = rfactor(reduction("+", "float32", 4, 37), "red", 8)
    loops = {s.var.name: s for s in walk_stmt(g.body) if isinstance(s, For)}
    assert loops["b_o"].extent == Const(5) and loops["b_l"].extent == Const(8)
    assert loops["b_l"].kind == "vectorized"
    blocks = {s.name: s for s in walk_stmt(g.body) if isinstance(s, Block)}
    # ragged: 5 * 8 = 40 > 37, the tail is guarded; the lanes fold in log2(8) = 3 steps
    assert blocks["red_rf"].predicate is not None
    assert sum(name.startswith("red_fold") for name in blocks) == 3
    # a whole loop as lanes: no outer loop, no guard
    h = rfactor(reduction("+", "float32", 4, 8), "red", 8)
    assert "b_o" not in {s.var.name for s in walk_stmt(h.body) if isinstance(s, For)}


def test_rfactor_errors_say_why() -> None:
    f = reduction("+", "float32", 4, 16)
    with pytest.raises(ScheduleError, match="at least 2 lanes"):
        rfactor(f, "red", 1)
    with pytest.raises(ScheduleError, match="no such block"):
        rfactor(f, "nope", 4)
    x, out, i, v = Buffer("x", "float32", (Const(4),)), Buffer("o", "float32", (Const(4),)), \
        Var("i"), Var("v")
    copy = check(PrimFunc("copy", (x, out), For(i, Const(4), Block(
        "cp", (IterVar(v, Const(4)),), (i,), Store(out, (v,), Load(x, (v,)))))))
    with pytest.raises(ScheduleError, match=r"not 'X\[i\] = X\[i\] op term'"):
        rfactor(copy, "cp", 4)


def test_host_schedule_rfactors_contiguous_reductions_only() -> None:
    """A row sum over contiguous memory gets lanes along the row; reassociate=False keeps
    float sums in order, but integer sums and max still qualify (they are exact)."""
    def rf_blocks(g: PrimFunc) -> list[str]:
        return [s.name for s in walk_stmt(g.body) if isinstance(s, Block)
                and s.name.endswith("_rf")]

    assert rf_blocks(host_schedule(reduction("+", "float32", 64, 1000))) == ["red_rf"]
    assert rf_blocks(host_schedule(reduction("+", "float32", 64, 1000), reassociate=False)) \
        == []
    assert rf_blocks(host_schedule(reduction("+", "int32", 64, 1000), reassociate=False)) \
        == ["red_rf"]
    assert rf_blocks(host_schedule(reduction("max", "float32", 64, 1000),
                                   reassociate=False)) == ["red_rf"]
    assert rf_blocks(host_schedule(reduction("+", "float32", 64, 3))) == []  # too short


@pytest.mark.parametrize("symbolic", [False, True])
def test_compiled_row_sums(symbolic: bool) -> None:
    f = reduction("+", "float32", "R" if symbolic else 33, "K" if symbolic else 1000)
    x = _data("float32", (33, 1, 1000), 0)
    got = compile_func(f)(x)[0]
    np.testing.assert_array_equal(got, call(host_schedule(f), [x])[0])
    np.testing.assert_allclose(got, x.astype(np.float64).sum(axis=(1, 2)), rtol=1e-5,
                               atol=1e-4)
    exact = compile_func(f, reassociate=False)(x)[0]
    np.testing.assert_array_equal(exact, call(f, [x])[0])


def test_rfactor_keeps_side_stores() -> None:
    """A softmax's exp is stored and summed in one pass: the store rides along in the lanes
    (each element written once, the sum reading what was just written)."""
    from core.tir import Unary

    rows, k = Var("R"), Const(37)
    x = Buffer("x", "float32", (rows, k))
    e = Buffer("e", "float32", (rows, k))
    s = Buffer("s", "float32", (rows,))
    i, r, vi, vr = Var("i"), Var("r"), Var("vi"), Var("vr")
    from core.tir import seq

    body = seq(Store(e, (vi, vr), Unary("exp", Load(x, (vi, vr)))),
               Store(s, (vi,), Bin("+", Load(s, (vi,)), Load(e, (vi, vr)))))
    blk = Block("es", (IterVar(vi, rows), IterVar(vr, k, "reduce")), (i, r), body,
                Store(s, (vi,), Const(0.0, "float32")))
    f = check(PrimFunc("exp_sum", (x, e, s), For(i, rows, For(r, k, blk)), num_outputs=2))
    g = check(rfactor(f, "es", 8))
    rf = next(b for b in walk_stmt(g.body) if isinstance(b, Block) and b.name == "es_rf")
    assert "e" in {st.buffer.name for st in walk_stmt(rf.body) if isinstance(st, Store)}
    xs = _data("float32", (3, 37), 4)
    want, got = call(f, [xs]), call(g, [xs])
    np.testing.assert_array_equal(got[0], want[0])  # the stored exps are the same values
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    # compiled: the host schedule rfactors it and vectorizes the lanes; the inline exp
    # differs from numpy's by an ulp or so, and the sums with it
    compiled = compile_func(f)(xs)
    np.testing.assert_allclose(compiled[0], want[0], rtol=3e-7)
    np.testing.assert_allclose(compiled[1], call(host_schedule(f), [xs])[1], rtol=1e-6)


def test_host_schedule_leaves_matmul_to_interleaving() -> None:
    """out[i, j] += A[i, k] * B[k, j]: lanes along k would gather B (stride J), so the
    host schedule keeps the exact, interleaved form (lanes across j) even when it may
    reassociate."""
    a, b = Buffer("A", "float32", (Const(7), Const(282))), Buffer("B", "float32",
                                                                   (Const(282), Const(19)))
    out = Buffer("C", "float32", (Const(7), Const(19)))
    i, j, k, vi, vj, vk = (Var(n) for n in ("i", "j", "k", "vi", "vj", "vk"))
    blk = Block("mm", (IterVar(vi, Const(7)), IterVar(vj, Const(19)),
                       IterVar(vk, Const(282), "reduce")), (i, j, k),
                Store(out, (vi, vj), Bin("+", Load(out, (vi, vj)),
                                         Bin("*", Load(a, (vi, vk)), Load(b, (vk, vj))))),
                Store(out, (vi, vj), Const(0.0, "float32")))
    f = check(PrimFunc("mm", (a, b, out), For(i, Const(7), For(j, Const(19), For(
        k, Const(282), blk)))))
    g = host_schedule(f)
    assert not any(isinstance(s, Block) and s.name.endswith("_rf") for s in walk_stmt(g.body))
    rng = np.random.default_rng(4)
    xa, xb = (rng.standard_normal(s).astype(np.float32) for s in ((7, 282), (282, 19)))
    np.testing.assert_array_equal(compile_func(f)(xa, xb)[0], call(f, [xa, xb])[0])
