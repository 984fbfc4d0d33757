"""Building blocks for lowering: typed buffers from graph types and one-block nests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.tir.expr import Const, Expr, Var, from_dim
from core.tir.stmt import Block, Buffer, For, IterVar, Stmt, Store
from core.types import TensorType


class LowerError(Exception):
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
    return stmt


def broadcast_index(arg: Buffer, out_rank: int, idx: Sequence[Expr]) -> tuple[Expr, ...]:
    """Indices of ``arg`` for output element ``idx`` under numpy broadcasting."""
    lead = out_rank - arg.rank
    return tuple(Const(0) if d == Const(1) else idx[lead + k] for k, d in enumerate(arg.shape))


def lowest(dtype: str) -> float | int:
    import numpy as np

    if dtype.startswith("float"):
        return float("-inf")
    return int(np.iinfo(dtype).min)
