"""Scalar expressions of the tensor IR: index arithmetic and compute values alike.

One small typed language serves both, so that a block's compute expression
(casts, dtypes and all) can be compared structurally with an intrinsic's:
frozen dataclasses compare by value, and the constructors below fold only
constants and neutral elements, always the same way, so equal programs print
and compare equal.

Integer semantics are C's two's-complement on the node's dtype (every
arithmetic node's result wraps to its dtype); ``//`` and ``%`` round toward
negative infinity (Python's convention, which keeps index arithmetic of
split loops simple). Comparisons and ``and``/``or`` give ``bool``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from core import symbolic as sym

if TYPE_CHECKING:
    from core.tir.stmt import Buffer

INT_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
FLOAT_DTYPES = ("float16", "float32", "float64")
DTYPES = ("bool", *INT_DTYPES, *FLOAT_DTYPES)
INDEX = "int64"  # the dtype of loop variables, extents and indices

ARITH = ("+", "-", "*", "/", "//", "%", "min", "max", "<<", ">>", "&", "|", "^")
COMPARE = ("<", "<=", ">", ">=", "==", "!=")
LOGIC = ("and", "or")
UNARY = ("neg", "not", "abs", "exp", "log", "sqrt", "tanh", "erf", "floor", "round_even")
ROUNDING = ("floor", "trunc", "half_up", "half_down", "half_even", "half_away")


class _Ops:
    """Operator sugar for building expressions; ``==`` stays structural equality.

    ``self`` is always one of the Expr classes (each inherits this), which a mixin's
    signature cannot say: hence the ``type: ignore[arg-type]`` on each operator."""

    __slots__ = ()

    def __add__(self, o: ExprLike) -> Expr:
        return binop("+", self, o)  # type: ignore[arg-type]

    def __radd__(self, o: ExprLike) -> Expr:
        return binop("+", o, self)  # type: ignore[arg-type]

    def __sub__(self, o: ExprLike) -> Expr:
        return binop("-", self, o)  # type: ignore[arg-type]

    def __rsub__(self, o: ExprLike) -> Expr:
        return binop("-", o, self)  # type: ignore[arg-type]

    def __mul__(self, o: ExprLike) -> Expr:
        return binop("*", self, o)  # type: ignore[arg-type]

    def __rmul__(self, o: ExprLike) -> Expr:
        return binop("*", o, self)  # type: ignore[arg-type]

    def __floordiv__(self, o: ExprLike) -> Expr:
        return binop("//", self, o)  # type: ignore[arg-type]

    def __mod__(self, o: ExprLike) -> Expr:
        return binop("%", self, o)  # type: ignore[arg-type]

    def __neg__(self) -> Expr:
        return unary("neg", self)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Var(_Ops):
    """A loop variable, block iteration variable or symbolic size (all int64 by default)."""

    name: str
    dtype: str = INDEX


@dataclass(frozen=True, slots=True)
class Const(_Ops):
    value: int | float
    dtype: str = INDEX


@dataclass(frozen=True, slots=True)
class Bin(_Ops):
    """Binary operation; both sides share a dtype (casts are explicit)."""

    op: str
    a: Expr
    b: Expr

    @property
    def dtype(self) -> str:
        return "bool" if self.op in COMPARE or self.op in LOGIC else self.a.dtype


@dataclass(frozen=True, slots=True)
class Unary(_Ops):
    op: str
    a: Expr

    @property
    def dtype(self) -> str:
        return self.a.dtype


@dataclass(frozen=True, slots=True)
class Cast(_Ops):
    """Conversion; integer targets wrap, float -> int truncates toward zero (C)."""

    dtype: str
    a: Expr


@dataclass(frozen=True, slots=True)
class Select(_Ops):
    """``cond ? a : b``; only the chosen side is evaluated (it may be an out-of-range load)."""

    cond: Expr
    a: Expr
    b: Expr

    @property
    def dtype(self) -> str:
        return self.a.dtype


@dataclass(frozen=True, slots=True)
class RShiftRound(_Ops):
    """``x / 2**s`` rounded by ``mode`` (see ROUNDING), as requantization needs it."""

    x: Expr
    s: Expr
    mode: str

    @property
    def dtype(self) -> str:
        return self.x.dtype


@dataclass(frozen=True, slots=True)
class Load(_Ops):
    buffer: Buffer
    indices: tuple[Expr, ...]

    @property
    def dtype(self) -> str:
        return self.buffer.dtype


Expr = Union[Var, Const, Bin, Unary, Cast, Select, RShiftRound, Load]
ExprLike = Union[Expr, int, float]


def const(value: int | float, dtype: str = INDEX) -> Const:
    if dtype in INT_DTYPES or dtype == "bool":
        return Const(int(value), dtype)
    return Const(float(value), dtype)


def as_expr(x: ExprLike, dtype: str = INDEX) -> Expr:
    if isinstance(x, bool):
        return Const(int(x), "bool")
    if isinstance(x, int | float):
        return const(x, dtype)
    return x


def _fold(op: str, a: int | float, b: int | float) -> int | float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("//", "%") and isinstance(a, int) and isinstance(b, int) and b != 0:
        return a // b if op == "//" else a % b
    if op == "min":
        return min(a, b)
    if op == "max":
        return max(a, b)
    return None


def binop(op: str, a: ExprLike, b: ExprLike) -> Expr:
    """``a op b`` with constants folded (index dtype only) and neutral elements dropped."""
    dtype = a.dtype if not isinstance(a, int | float) else (
        b.dtype if not isinstance(b, int | float) else INDEX)
    ea, eb = as_expr(a, dtype), as_expr(b, dtype)
    if ea.dtype == INDEX and isinstance(ea, Const) and isinstance(eb, Const):
        folded = _fold(op, ea.value, eb.value)
        if folded is not None:
            return Const(folded, INDEX)
    # Neutral elements: only on integer index math, where they are exact and common.
    if ea.dtype == INDEX:
        if op in ("+", "-") and isinstance(eb, Const) and eb.value == 0:
            return ea
        if op == "+" and isinstance(ea, Const) and ea.value == 0:
            return eb
        if op == "*" and isinstance(eb, Const) and eb.value in (0, 1):
            return ea if eb.value == 1 else eb
        if op == "*" and isinstance(ea, Const) and ea.value in (0, 1):
            return eb if ea.value == 1 else ea
        if op == "//" and isinstance(eb, Const) and eb.value == 1:
            return ea
        if op == "%" and isinstance(eb, Const) and eb.value == 1:
            return Const(0, INDEX)
    return Bin(op, ea, eb)


def unary(op: str, a: Expr) -> Expr:
    if op == "neg" and isinstance(a, Const) and a.dtype == INDEX:
        return Const(-a.value, INDEX)
    return Unary(op, a)


def cast(dtype: str, a: ExprLike) -> Expr:
    e = as_expr(a, dtype)
    return e if e.dtype == dtype else Cast(dtype, e)


def smin(a: ExprLike, b: ExprLike) -> Expr:
    return binop("min", a, b)


def smax(a: ExprLike, b: ExprLike) -> Expr:
    return binop("max", a, b)


def select(cond: Expr, a: ExprLike, b: ExprLike) -> Expr:
    dtype = a.dtype if not isinstance(a, int | float) else (
        b.dtype if not isinstance(b, int | float) else INDEX)
    if isinstance(cond, Const):
        return as_expr(a if cond.value else b, dtype)
    return Select(cond, as_expr(a, dtype), as_expr(b, dtype))


def logical_and(*conds: Expr) -> Expr | None:
    """Conjunction of the conditions that are not trivially true; None if none remain."""
    kept = [c for c in conds if not (isinstance(c, Const) and c.value)]
    if not kept:
        return None
    out = kept[0]
    for c in kept[1:]:
        out = Bin("and", out, c)
    return out


def from_dim(d: sym.Dim) -> Expr:
    """A graph dimension (int or core.symbolic expression) as an index expression."""
    if isinstance(d, int):
        return Const(d, INDEX)
    total: Expr = Const(0, INDEX)
    for monomial, coeff in d.terms:
        term: Expr = Const(coeff, INDEX)
        for atom in monomial:
            term = binop("*", term, _from_atom(atom))
        total = binop("+", total, term)
    return total


def _from_atom(atom: sym.Atom) -> Expr:
    if atom.kind == "var":
        return Var(atom.name)
    a, b = (from_dim(x) for x in atom.args)
    return binop({"floordiv": "//", "mod": "%"}.get(atom.kind, atom.kind), a, b)


def dtype_bits(dtype: str) -> int:
    if dtype == "bool":
        return 1
    return int("".join(ch for ch in dtype if ch.isdigit()))


def is_int(dtype: str) -> bool:
    return dtype in INT_DTYPES


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES
