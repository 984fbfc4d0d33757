"""Building blocks for lowering: typed buffers from graph types and one-block nests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from core.errors import VendorSdkError
from core.tir.expr import Bin, Const, Expr, Var, from_dim
from core.tir.stmt import Block, Buffer, For, IterVar, Stmt, Store, seq
from core.types import TensorType


class LowerError(VendorSdkError):
    """An op (or an attribute of it) that has no loop-nest lowering."""


def buffer(name: str, t: TensorType, scope: str = "global") -> Buffer:
    return Buffer(name, t.dtype, tuple(from_dim(d) for d in t.shape), scope)


def nest(name: str, spatial: Sequence[Expr], reduce: Sequence[Expr],
         body: Callable[[list[Var], list[Var]], Stmt],
         init: Callable[[list[Var]], Store] | None = None) -> Stmt:
    """Loops ``<name>_s<k>`` / ``<name>_r<k>`` around block ``name`` with iteration
    variables ``<name>_i<k>`` (spatial) and ``<name>_k<k>`` (reduce), spatial outermost."""
    sv = [Var(f"{name}_i{k}") for k in range(len(spatial))]
    rv = [Var(f"{name}_k{k}") for k in range(len(reduce))]
    sl = [Var(f"{name}_s{k}") for k in range(len(spatial))]
    rl = [Var(f"{name}_r{k}") for k in range(len(reduce))]
    iters = tuple([IterVar(v, e) for v, e in zip(sv, spatial, strict=True)]
                  + [IterVar(v, e, "reduce") for v, e in zip(rv, reduce, strict=True)])
    stmt: Stmt = Block(name, iters, (*sl, *rl), body(sv, rv),
                       init(sv) if init is not None else None)
    for v, e in reversed(list(zip([*sl, *rl], [*spatial, *reduce], strict=True))):
        stmt = For(v, e, stmt)
    empty = _empty(reduce) if init is not None else None
    if empty is None:
        return stmt
    # A block's init runs at its first reduce iteration, so an empty reduction (MatMul
    # with K = 0) would leave the output unwritten: numpy and onnxruntime give the init
    # value (zeros). A spatial nest stores it where the reduction may be empty.
    assert init is not None
    ev = [Var(f"{name}_e{k}") for k in range(len(spatial))]
    el = [Var(f"{name}_z{k}") for k in range(len(spatial))]
    pre: Stmt = Block(f"{name}_empty", tuple(IterVar(v, e) for v, e in zip(ev, spatial,
                                                                           strict=True)),
                      tuple(el), init(ev), None, None if empty is True else empty)
    for v, e in reversed(list(zip(el, spatial, strict=True))):
        pre = For(v, e, pre)
    return seq(pre, stmt)


def _empty(reduce: Sequence[Expr]) -> Expr | Literal[True] | None:
    """When a reduction over ``reduce`` has no iteration: True (always), a condition on
    its symbolic extents, or None (never: every extent is a positive constant)."""
    conds: list[Expr] = []
    for e in reduce:
        if isinstance(e, Const):
            if int(e.value) <= 0:
                return True
            continue
        conds.append(Bin("<=", e, Const(0)))
    if not conds:
        return None
    out = conds[0]
    for c in conds[1:]:
        out = Bin("or", out, c)
    return out


def broadcast_index(arg: Buffer, out_rank: int, idx: Sequence[Expr]) -> tuple[Expr, ...]:
    """Indices of ``arg`` for output element ``idx`` under numpy broadcasting."""
    lead = out_rank - arg.rank
    return tuple(Const(0) if d == Const(1) else idx[lead + k] for k, d in enumerate(arg.shape))


def lowest(dtype: str) -> float | int:
    import numpy as np

    if dtype.startswith("float"):
        return float("-inf")
    return int(np.iinfo(dtype).min)
