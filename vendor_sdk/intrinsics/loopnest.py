"""The canonical loop nest of a `compute` statement, for the tensorizer to match.

The description is plain data: which axes are spatial and which reduce, how
each operand is indexed, and the body in canonical form. `C = C + update` is
recognised as an accumulation so a matcher can pair an `init` variant (no
read of C) with the accumulating main form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from vendor_sdk.intrinsics.check import Axis, Operand
from vendor_sdk.intrinsics.lang import (
    Access,
    Assign,
    Binary,
    Call,
    Cast,
    Expr,
    Name,
    Sum,
    Unary,
    format_expr,
)


@dataclass(frozen=True, slots=True)
class LoopAxis:
    name: str
    kind: Literal["spatial", "reduce"]
    min: int
    max: int


@dataclass(frozen=True, slots=True)
class TensorAccess:
    operand: str
    dtype: str
    scope: str
    indices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoopNest:
    """for spatial axes: for reduce axes: output[indices] (=|+=) body."""

    intrinsic: str
    variant: str  # "" for the main compute
    axes: tuple[LoopAxis, ...]  # spatial in output order, then reduce axes outermost first
    output: TensorAccess
    reads: tuple[TensorAccess, ...]  # each operand once, in order of first use
    accumulate: bool  # the statement is `out = out + update`
    update: Expr  # the whole right-hand side, or the added term when accumulate
    overflow: str
    text: str  # canonical statement text, stable for golden files and equality

    @property
    def spatial(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes if a.kind == "spatial")

    @property
    def reduce(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes if a.kind == "reduce")


def _reads(e: Expr) -> list[str]:
    match e:
        case Access(name, _) | Name(name):
            return [name]
        case Unary(_, a) | Cast(_, a):
            return _reads(a)
        case Binary(_, a, b):
            return _reads(a) + _reads(b)
        case Sum(_, body):
            return _reads(body)
        case Call(_, args):
            return [n for a in args for n in _reads(a)]
    return []


def _reduce_order(e: Expr) -> list[str]:
    match e:
        case Sum(axis, body):
            return [axis.axis, *_reduce_order(body)]
        case Unary(_, a) | Cast(_, a):
            return _reduce_order(a)
        case Binary(_, a, b):
            return _reduce_order(a) + _reduce_order(b)
        case Call(_, args):
            return [n for a in args for n in _reduce_order(a)]
    return []


def loop_nest(intrinsic: str, variant: str, stmt: Assign, operands: Mapping[str, Operand],
              axes: Mapping[str, Axis], params: Mapping[str, int], overflow: str) -> LoopNest:
    """Describe a checked statement (see check_compute) as a loop nest."""
    target = stmt.target
    out_name = target.operand if isinstance(target, Access) else target.name
    out = operands[out_name]

    def access(name: str) -> TensorAccess:
        op = operands[name]
        return TensorAccess(name, op.dtype, op.scope, op.shape)

    reduce_axes = list(dict.fromkeys(_reduce_order(stmt.value)))
    loop_axes = tuple(
        [LoopAxis(a, "spatial", axes[a].min, axes[a].max) for a in out.shape]
        + [LoopAxis(a, "reduce", axes[a].min, axes[a].max) for a in reduce_axes])
    # rshift_round's rounding mode is a Name too, but no operand.
    reads = [n for n in dict.fromkeys(_reads(stmt.value)) if n not in params and n in operands]
    value = stmt.value
    accumulate = (isinstance(value, Binary) and value.op == "+"
                  and _reads_output(value.lhs, out_name))
    update = value.rhs if accumulate and isinstance(value, Binary) else value
    return LoopNest(intrinsic, variant, loop_axes, access(out_name),
                    tuple(access(n) for n in reads), accumulate, update, overflow,
                    format_expr(stmt))


def _reads_output(e: Expr, name: str) -> bool:
    if isinstance(e, Access):
        return e.operand == name
    return isinstance(e, Name) and e.name == name
