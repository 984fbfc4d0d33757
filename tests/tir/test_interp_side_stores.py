"""The interpreter's vectorised path (core.tir.vectorize) on reduction blocks with side
stores (softmax: exp stored and summed in one block) gives what running the loops in
order gives, and refuses the cases where it would not."""

from __future__ import annotations

import numpy as np
import pytest

import core.tir.vectorize as vectorize
from core.tir import (
    Bin,
    Block,
    Buffer,
    Const,
    For,
    IterVar,
    Load,
    PrimFunc,
    Store,
    Var,
    call,
    check,
    seq,
)
from core.tir.expr import Unary


def _program(side_reads_other: bool = False) -> PrimFunc:
    rows, k = Var("R"), Var("K")
    x = Buffer("x", "float32", (rows, k))
    e = Buffer("e", "float32", (rows, k))
    s = Buffer("s", "float32", (rows,))
    i, r, vi, vr = Var("i"), Var("r"), Var("vi"), Var("vr")
    # exp(x) stored; with side_reads_other the stored value also reads e, a buffer the
    # block writes: the vectorised path does not take it (the loops run in order)
    value = Unary("exp", Load(x, (vi, vr)))
    if side_reads_other:
        value = Bin("*", value, Load(e, (vi, vr)))
    body = seq(Store(e, (vi, vr), value),
               Store(s, (vi,), Bin("+", Load(s, (vi,)), Load(e, (vi, vr)))))
    blk = Block("es", (IterVar(vi, rows), IterVar(vr, k, "reduce")), (i, r), body,
                Store(s, (vi,), Const(0.0, "float32")))
    return check(PrimFunc("es", (x, e, s), For(i, rows, For(r, k, blk)), num_outputs=2))


@pytest.mark.parametrize("side_reads_other", [False, True])
def test_side_store_reduction_equals_loops_in_order(side_reads_other: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    f = _program(side_reads_other)
    x = np.random.default_rng(0).standard_normal((5, 33)).astype(np.float32)
    calls: list[bool] = []
    real = vectorize.try_vectorized

    def spy(it: object, loop: object) -> bool:
        done = real(it, loop)  # type: ignore[arg-type]
        calls.append(done)
        return done

    monkeypatch.setattr(vectorize, "try_vectorized", spy)
    fast = call(f, [x])
    monkeypatch.setattr(vectorize, "try_vectorized", lambda it, loop: False)
    slow = call(f, [x])
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    # the plain form takes the vectorised path; a side value reading what the block
    # writes does not
    assert calls[0] is (not side_reads_other)
