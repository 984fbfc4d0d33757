"""Type and range checking of parsed `compute` statements.

Values are integers; the checker tracks the closed interval each
sub-expression can take, starting from operand dtypes and declared ranges.
The numpy reference evaluates in int64, so an interval that leaves int64 is an
error here: that is what makes the reference bit-exact by construction
rather than by luck.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from core.types import int_range
from vendor_sdk.intrinsics.lang import (
    CASTS,
    Access,
    Assign,
    Binary,
    Call,
    Cast,
    Expr,
    ExprError,
    Index,
    Name,
    Num,
    Sum,
    Unary,
    parse_expr,
)

# The integer dtypes target.yaml may declare (model.Dtype) and their ranges (numpy's).
DTYPES: dict[str, tuple[int, int]] = {
    d: int_range(d) for d in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")}
INT64 = DTYPES["int64"]
Interval = tuple[int, int]
OperandKind = Literal["input", "output", "inout"]


@dataclass(frozen=True, slots=True)
class Operand:
    """What the semantics need to know about one intrinsic operand."""

    name: str
    dtype: str
    shape: tuple[str, ...]  # axis names, () for a scalar
    kind: OperandKind
    range: Interval | None = None  # values the hardware accepts; None means the whole dtype
    scope: str = ""  # memory the operand lives in ("" for immediates and parameters)

    @property
    def values(self) -> Interval:
        lo, hi = DTYPES[self.dtype]
        if self.range is None:
            return lo, hi
        return max(lo, self.range[0]), min(hi, self.range[1])


@dataclass(frozen=True, slots=True)
class Axis:
    name: str
    min: int
    max: int


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _span(values: list[int]) -> Interval:
    return min(values), max(values)


@dataclass
class _Checker:
    operands: Mapping[str, Operand]
    axes: Mapping[str, Axis]
    params: Mapping[str, int]
    errors: list[ExprError] = field(default_factory=list)
    spatial: tuple[str, ...] = ()

    def err(self, message: str, col: int, hint: str = "") -> None:
        self.errors.append(ExprError(message, col, hint))

    def statement(self, stmt: Assign) -> None:
        target = stmt.target
        if isinstance(target, Name):
            op = self.operands.get(target.name)
            if op is None or op.shape:
                self.err(f"{target.name!r} is not a scalar output", target.col,
                         "the left-hand side is an output operand indexed by the spatial axes")
                return
            target = Access(target.name, (), target.col)
        op = self.operands.get(target.operand)
        if op is None:
            self.err(f"unknown operand {target.operand!r}", target.col,
                     did_you_mean(target.operand, self.operands)
                     or "declare it under `outputs` or `inout`")
        elif op.kind == "input":
            self.err(f"{op.name!r} is an input; the left-hand side must be an output or inout",
                     target.col, "declare it under `outputs` or `inout`")
        seen: set[str] = set()
        for ix in target.indices:
            if ix.axis in seen:
                self.err(f"axis {ix.axis!r} appears twice on the left-hand side", ix.col)
            seen.add(ix.axis)
        self.spatial = target.axes
        if op is not None:
            self.indices(target, op)
        self.interval(stmt.value, frozenset())
        used = set(self.spatial) | _axes_used(stmt.value)
        for name in self.axes:
            if name not in used:
                self.err(f"axis {name!r} is declared but the expression does not use it", 1,
                         "index an operand with it, reduce it with sum(), or remove it")

    def indices(self, acc: Access, op: Operand, bound: frozenset[str] = frozenset()) -> None:
        if len(acc.indices) != len(op.shape):
            shape = ", ".join(op.shape)
            self.err(f"{op.name!r} has rank {len(op.shape)} (shape [{shape}]) but is indexed "
                     f"with {len(acc.indices)} indices", acc.col,
                     f"write {op.name}[{shape}]" if op.shape else f"write {op.name}")
            return
        for pos, (ix, want) in enumerate(zip(acc.indices, op.shape, strict=True)):
            if ix.axis not in self.axes:
                self.err(f"unknown axis {ix.axis!r}", ix.col,
                         did_you_mean(ix.axis, self.axes) or "declare it under `axes`")
            elif ix.axis != want:
                self.err(f"dimension {pos} of {op.name!r} is axis {want!r} (shape "
                         f"[{', '.join(op.shape)}]) but is indexed by {ix.axis!r}", ix.col,
                         "indices must follow the operand's declared shape")
            elif ix.axis not in self.spatial and ix.axis not in bound:
                self.err(f"free index {ix.axis!r} does not appear on the left-hand side",
                         ix.col, f"reduce it with sum({ix.axis}, ...) or index the output by it")

    def interval(self, e: Expr, bound: frozenset[str]) -> Interval | None:
        iv = self._interval(e, bound)
        if iv is not None and (iv[0] < INT64[0] or iv[1] > INT64[1]):
            self.err(f"this intermediate may leave int64 (range [{iv[0]}, {iv[1]}])", e.col,
                     "narrow an operand `range` or cast a sub-expression to a smaller type")
            return None
        return iv

    def _interval(self, e: Expr, bound: frozenset[str]) -> Interval | None:
        match e:
            case Num(v):
                return v, v
            case Name(n):
                return self.name(e, n)
            case Access():
                return self.access(e, bound)
            case Unary(_, arg):
                a = self.interval(arg, bound)
                return None if a is None else (-a[1], -a[0])
            case Cast(dtype, arg):
                a = self.interval(arg, bound)
                lo, hi = DTYPES[dtype]
                return (lo, hi) if a is None or a[0] < lo or a[1] > hi else a
            case Binary(op, lhs, rhs):
                return self.binary(op, lhs, rhs, bound)
            case Sum(axis, body):
                return self.sum(axis, body, bound)
            case Call(f, args):
                return self.call(f, args, bound)
        raise TypeError(e)

    def name(self, e: Name, n: str) -> Interval | None:
        if n in self.params:
            return self.params[n], self.params[n]
        op = self.operands.get(n)
        if op is None:
            hint = did_you_mean(n, [*self.operands, *self.params])
            if n in self.axes:
                hint = "an axis is not a value; index an operand with it"
            self.err(f"unknown name {n!r}", e.col, hint)
            return None
        if op.shape:
            self.err(f"{n!r} has shape [{', '.join(op.shape)}]; index it", e.col,
                     f"write {n}[{', '.join(op.shape)}]")
            return None
        return self.readable(op, e.col)

    def readable(self, op: Operand, col: int) -> Interval | None:
        if op.kind == "output":
            self.err(f"{op.name!r} is an output and cannot be read", col,
                     "declare it under `inout` if the instruction reads and writes it")
            return None
        return op.values

    def access(self, e: Access, bound: frozenset[str]) -> Interval | None:
        op = self.operands.get(e.operand)
        if op is None:
            self.err(f"unknown operand {e.operand!r}", e.col,
                     did_you_mean(e.operand, self.operands)
                     or "declare it under `inputs`, `outputs` or `inout`")
            return None
        self.indices(e, op, bound)
        return self.readable(op, e.col)

    def sum(self, axis: Index, body: Expr, bound: frozenset[str]) -> Interval | None:
        ext = self.axes.get(axis.axis)
        if ext is None:
            self.err(f"unknown axis {axis.axis!r}", axis.col,
                     did_you_mean(axis.axis, self.axes) or "declare it under `axes`")
        elif axis.axis in self.spatial:
            self.err(f"axis {axis.axis!r} is on the left-hand side and cannot be reduced",
                     axis.col, "a reduction axis must not index the output")
        elif axis.axis in bound:
            self.err(f"axis {axis.axis!r} is already reduced by an enclosing sum", axis.col)
        b = self.interval(body, bound | {axis.axis})
        if b is None or ext is None:
            return None
        return _span([b[0] * ext.min, b[0] * ext.max, b[1] * ext.min, b[1] * ext.max])

    def binary(self, op: str, lhs: Expr, rhs: Expr, bound: frozenset[str]) -> Interval | None:
        a, b = self.interval(lhs, bound), self.interval(rhs, bound)
        if a is None or b is None:
            return None
        if op == "+":
            return a[0] + b[0], a[1] + b[1]
        if op == "-":
            return a[0] - b[1], a[1] - b[0]
        if op == "*":
            return _span([x * y for x in a for y in b])
        if op in ("<<", ">>"):
            if b[0] < 0 or b[1] > 63:
                self.err(f"the shift amount may be outside [0, 63] (range [{b[0]}, {b[1]}])",
                         rhs.col, "declare a `range` for the shift operand")
                return None
            if op == "<<":
                return _span([x << s for x in a for s in b])
            return _span([x >> s for x in a for s in b])
        return 0, 1  # comparisons

    def call(self, f: str, args: tuple[Expr, ...], bound: frozenset[str]) -> Interval | None:
        if f == "rshift_round":
            x, s = self.interval(args[0], bound), self.interval(args[1], bound)
            if s is not None and (s[0] < 0 or s[1] > 63):
                self.err(f"the shift amount may be outside [0, 63] (range [{s[0]}, {s[1]}])",
                         args[1].col, "declare a `range` for the shift operand")
                return None
            if x is None or s is None:
                return None
            # Every rounding mode lands on the floor shift or one above it.
            return min(x[0] >> k for k in s), max(x[1] >> k for k in s) + 1
        ivs = [self.interval(a, bound) for a in args]
        if any(iv is None for iv in ivs):
            return None
        lo = [iv[0] for iv in ivs if iv is not None]
        hi = [iv[1] for iv in ivs if iv is not None]
        if f == "min":
            return min(lo), min(hi)
        if f == "max":
            return max(lo), max(hi)
        if f == "clamp":  # min(max(x, lo), hi)
            low = max(lo[0], lo[1])
            high = max(hi[0], hi[1])
            return min(low, lo[2]), min(high, hi[2])
        if f == "select":
            return min(lo[1], lo[2]), max(hi[1], hi[2])
        raise TypeError(f)


def _axes_used(e: Expr) -> set[str]:
    """Axes indexed or reduced anywhere inside e."""
    match e:
        case Access():
            return set(e.axes)
        case Sum(axis, body):
            return {axis.axis} | _axes_used(body)
        case Unary(_, a) | Cast(_, a):
            return _axes_used(a)
        case Binary(_, a, b):
            return _axes_used(a) | _axes_used(b)
        case Call(_, args):
            return set().union(*(_axes_used(a) for a in args))
    return set()


def check_compute(stmt: Assign, operands: Mapping[str, Operand], axes: Mapping[str, Axis],
                  params: Mapping[str, int]) -> list[ExprError]:
    """All mistakes in one statement (empty when it is well formed and fits int64)."""
    checker = _Checker(operands, axes, params)
    checker.statement(stmt)
    # One mistake can surface twice (e.g. an unknown operand read in two places);
    # report each column once.
    unique: dict[tuple[int, str], ExprError] = {}
    for e in checker.errors:
        unique.setdefault((e.col, e.message), e)
    return sorted(unique.values(), key=lambda e: e.col)


def eval_const(src: str | int, params: Mapping[str, int]) -> int:
    """Evaluate an integer param expression such as `DIM * 4`; raises ExprError."""
    if isinstance(src, int):
        return src
    return _const(parse_expr(src), params)


def _const(e: Expr, params: Mapping[str, int]) -> int:
    match e:
        case Num(v):
            return v
        case Name(n) if n in params:
            return params[n]
        case Name(n):
            raise ExprError(f"unknown param {n!r}", e.col,
                            did_you_mean(n, params) or "declare it under `params`")
        case Unary("-", a):
            return -_const(a, params)
        case Binary(op, a, b) if op in ("+", "-", "*", "<<", ">>"):
            x, y = _const(a, params), _const(b, params)
            if op in ("<<", ">>") and not 0 <= y <= 63:
                raise ExprError(f"shift amount {y} is outside [0, 63]", b.col)
            if op == "<<":
                return x << y
            if op == ">>":
                return x >> y
            return x + y if op == "+" else x - y if op == "-" else x * y
        case Call("min" | "max" as f, args):
            vals = [_const(a, params) for a in args]
            return min(vals) if f == "min" else max(vals)
    raise ExprError("only integers, params, + - * << >> min() max() are allowed here", e.col)


__all__ = ["CASTS", "DTYPES", "Axis", "Operand", "check_compute", "did_you_mean", "eval_const"]
