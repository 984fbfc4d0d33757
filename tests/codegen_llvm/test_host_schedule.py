"""The default host schedule (core.schedule.host) keeps results: scheduled programs
interpret to the same bits as the lowered ones and compile to the same bits, over random
shapes (padding, strides, non-divisible and symbolic extents); the rewrites do what they
are for (interiors without selects or guards, interleaved reductions)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core import symbolic as sym
from core.builder import FunctionBuilder, single_function_module
from core.codegen_llvm import compile_func, emit_ir
from core.lower import lower_module
from core.schedule.host import LANES, host_schedule, interleave_reductions
from core.schedule.partition import partition_loops
from core.tir import (
    Bin,
    Block,
    Buffer,
    Const,
    For,
    IterVar,
    Load,
    PrimFunc,
    Select,
    Store,
    Var,
    call,
    check,
    func_str,
)
from core.tir.visit import stmt_exprs, walk_expr, walk_stmt
from core.types import TensorType

N = sym.var("N")


def _lowered(op: str, shapes: list[tuple[int, ...]], symbolic: bool = False,
             consts: tuple[np.ndarray, ...] = (), **attrs: object) -> PrimFunc:
    fb = FunctionBuilder("main")
    params = [fb.param(f"x{k}", TensorType("float32", tuple(
        N if symbolic and d == 0 and k == 0 else s for d, s in enumerate(shape))))
        for k, shape in enumerate(shapes)]
    module = lower_module(single_function_module(fb.finish([fb.op(op, *params, *consts,
                                                                  **attrs)])))
    (f,) = [f for f in module.functions if isinstance(f, PrimFunc)]
    return f


def _inputs(f: PrimFunc, shapes: list[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _same_bits(f: PrimFunc, inputs: list[np.ndarray], compiled: bool = True) -> None:
    """Scheduled program == lowered program, in the interpreter and as machine code, when
    the schedule may not reassociate; when it may, machine code == the scheduled program
    in the interpreter, and both stay within float rounding of the lowered program."""
    g = check(host_schedule(f, reassociate=False))
    want = call(f, inputs)
    for got in (call(g, inputs), *((compile_func(f, reassociate=False)(*inputs),)
                                   if compiled else ())):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    r = check(host_schedule(f))
    scheduled = call(r, inputs)
    for a, b in zip(scheduled, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    if compiled:
        for a, b in zip(compile_func(f)(*inputs), scheduled, strict=True):
            np.testing.assert_array_equal(a, b)


def _selects(f: PrimFunc) -> int:
    return sum(isinstance(x, Select) for s in walk_stmt(f.body) for e in stmt_exprs(s)
               for x in walk_expr(e))


window = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2))


@settings(max_examples=8, deadline=None)
@given(op=st.sampled_from(["MaxPool", "AveragePool"]), win=window,
       hw=st.tuples(st.integers(3, 23), st.integers(3, 40)), batch=st.integers(1, 2),
       symbolic=st.booleans(), seed=st.integers(0, 9))
def test_pools_keep_bits(op: str, win: tuple[int, int, int, int], hw: tuple[int, int],
                         batch: int, symbolic: bool, seed: int) -> None:
    kh, kw, stride, pad = win
    pad = min(pad, kh - 1, kw - 1)
    shape = (batch, 3, max(hw[0], kh), max(hw[1], kw))
    f = _lowered(op, [shape], symbolic, kernel_shape=(kh, kw), strides=(stride, stride),
                 pads=(pad, pad, pad, pad))
    _same_bits(f, _inputs(f, [shape], seed))


@settings(max_examples=10, deadline=None)
@given(cin=st.integers(1, 5), cout=st.sampled_from([1, 3, 4, 8]), k=st.integers(1, 3),
       hw=st.tuples(st.integers(3, 12), st.integers(3, 37)), stride=st.integers(1, 2),
       pad=st.integers(0, 2), symbolic=st.booleans(), seed=st.integers(0, 9))
def test_conv_keeps_bits(cin: int, cout: int, k: int, hw: tuple[int, int], stride: int,
                         pad: int, symbolic: bool, seed: int) -> None:
    pad = min(pad, k - 1)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((cout, cin, k, k)).astype(np.float32)
    shape = (2, cin, *hw)
    f = _lowered("Conv", [shape], symbolic, (w,), pads=(pad,) * 4, strides=(stride, stride))
    _same_bits(f, [*_inputs(f, [shape], seed), w])


@settings(max_examples=10, deadline=None)
@given(rows=st.integers(1, 40), length=st.integers(1, 300), symbolic=st.booleans(),
       seed=st.integers(0, 9))
def test_reductions_keep_bits(rows: int, length: int, symbolic: bool, seed: int) -> None:
    """Sums stay in order per output element (bit-identical), interleaved or not."""
    gap = _lowered("GlobalAveragePool", [(rows, 3, 1, length)], symbolic)
    _same_bits(gap, _inputs(gap, [(rows, 3, 1, length)], seed))
    mm = _lowered("MatMul", [(rows, length), (length, 19)], symbolic)
    _same_bits(mm, _inputs(mm, [(rows, length), (length, 19)], seed))
    # exp comes from a vector libm in compiled code: the interpreter checks the schedule.
    sm = _lowered("Softmax", [(rows, 2, length)], symbolic, axis=-1)
    _same_bits(sm, _inputs(sm, [(rows, 2, length)], seed), compiled=False)


def test_padded_pool_interior_has_no_select() -> None:
    f = _lowered("MaxPool", [(1, 2, 31, 31)], kernel_shape=(3, 3), strides=(2, 2),
                 pads=(1, 1, 1, 1))
    g = check(partition_loops(f))
    assert _selects(f) == 1
    blocks = [b for b in walk_stmt(g.body) if isinstance(b, Block)]
    # Two of the 2 x 2 padded sides at a time: corners, edges and one interior (3 x 3).
    assert len(blocks) == 9
    plain = [b for b in blocks if not any(isinstance(x, Select) for s in walk_stmt(b.body)
                                          for e in stmt_exprs(s) for x in walk_expr(e))]
    assert [b.name for b in plain] == ["maxpool"]
    # Compiled, only the border copies clamp indices (smin/smax around loads).
    assert emit_ir(f).count("icmp sgt") < emit_ir(f, schedule=False).count("icmp sgt") * 9


def test_split_guard_leaves_the_interior() -> None:
    """``o*16 + i < n`` (a non-divisible split) holds for o < n // 16: no guard there."""
    n, o, i = Var("n"), Var("o"), Var("i")
    a, out = Buffer("a", "float32", (n,)), Buffer("out", "float32", (n,))
    v = Var("v")
    body = For(o, (n + 15) // 16, For(i, Const(16), Block(
        "b", (IterVar(v, n),), (o * 16 + i,), Store(out, (v,), Bin(
            "*", Load(a, (v,)), Const(3.0, "float32"))), None, Bin("<", o * 16 + i, n))))
    f = check(PrimFunc("guarded", (a, out), body))
    g = check(partition_loops(f))
    preds = [b.predicate for b in walk_stmt(g.body) if isinstance(b, Block)]
    assert preds[0] is None and all(p is not None for p in preds[1:]), func_str(g)
    cf = compile_func(f)
    for size in (0, 1, 15, 16, 17, 100):
        x = np.arange(size, dtype=np.float32)
        np.testing.assert_array_equal(call(g, [x])[0], x * 3)
        np.testing.assert_array_equal(cf(x)[0], x * 3)


def test_long_reductions_are_interleaved_short_ones_are_not() -> None:
    gap = interleave_reductions(_lowered("GlobalAveragePool", [(1, 64, 7, 7)]))
    loops = [s for s in walk_stmt(gap.body) if isinstance(s, For)]
    lanes = [lp for lp in loops if lp.var.name.endswith("_i") and lp.kind == "unrolled"]
    assert lanes and lanes[0].extent == Const(16) and LANES[0] == 16
    # The lanes sit inside the reduce loops: each accumulator keeps its own order.
    names = [lp.var.name for lp in loops]
    assert names.index(lanes[0].var.name) > max(k for k, n in enumerate(names) if "_r" in n)
    pool = _lowered("MaxPool", [(1, 2, 9, 9)], kernel_shape=(3, 3))
    assert interleave_reductions(pool) == pool  # 9 taps: LLVM unrolls them itself
