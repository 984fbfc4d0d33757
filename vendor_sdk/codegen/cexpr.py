"""Index expressions of the tensor IR as C text, and evaluated in Python.

Generated code computes SRAM rows and DRAM addresses from loop variables
with the IR's own index arithmetic (int64, floor division). The Python
evaluator is the same arithmetic on integers; the emitter uses it to check
properties of a staging copy (a row's lanes are contiguous in DRAM) on
sample points before it relies on them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core import symbolic as sym
from core import symbolic_ranges as ranges
from core.errors import VendorSdkError
from core.schedule.common import to_dim
from core.symbolic_ranges import Interval
from core.tir.expr import Bin, Cast, Const, Expr, Select, Unary, Var

_C_BIN = {"+": "+", "-": "-", "*": "*", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
          "==": "==", "!=": "!=", "and": "&&", "or": "||", "&": "&", "|": "|", "^": "^",
          "<<": "<<", ">>": ">>"}


class CodegenError(VendorSdkError):
    """Something the C code generator cannot express; says which op and why."""


def c_name(name: str) -> str:
    """A C identifier for an IR / graph name (deterministic, readable)."""
    out = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return out if out and not out[0].isdigit() else f"v_{out}"


# Where a loop declares a division or modulo once, its C name (None: print it in full).
Namer = Callable[[sym.Atom], str | None] | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What holds where an expression is printed: ``ranges`` of the enclosing loop
    variables with constant extents (inclusive), ``limits`` of those with symbolic ones
    (``0 <= v < limit``). The writer of a function updates them as it opens loops."""

    ranges: Mapping[str, Interval] = field(default_factory=dict)
    limits: Mapping[str, sym.Dim] = field(default_factory=dict)
    # The C name a floor division or modulo is printed as where it is declared once for
    # a loop (None: printed in full there); see vendor_sdk.codegen.invariants.
    named: Namer = None


NO_FACTS = Facts()


def c_expr(e: Expr, facts: Facts = NO_FACTS) -> str:
    """C text of an integer index expression (int64 arithmetic, IR floor division),
    simplified by ``facts``; parenthesized unless a name, number or call, so it can be
    embedded anywhere (after a cast, in a product)."""
    text, compound = _c(e, facts)
    return f"({text})" if compound else text


def c_text(e: Expr, facts: Facts = NO_FACTS) -> str:
    """:func:`c_expr` without its outer parentheses: for a context that delimits it
    (an argument, a condition, a cast's parentheses, the right side of ``=``)."""
    return _c(e, facts)[0]


def _c(e: Expr, facts: Facts) -> tuple[str, bool]:
    """(text, whether it needs parentheses to be embedded)."""
    d = to_dim(e)
    if d is not None:  # index arithmetic: canonical form, simplified on the loops' ranges
        return _c_dim(ranges.simplify(d, facts.ranges), facts.named)
    truth = decide(e, facts)
    if truth is not None:
        return str(int(truth)), False
    match e:
        case Var(name, _):
            return c_name(name), False
        case Const(value, _) if isinstance(value, float):
            raise CodegenError(f"float constant {value} in an index expression")
        case Const(value, _):
            return str(int(value)), False
        case Bin(op, a, b) if op in _COMPARE:
            return _compare(op, a, b, facts), True
        case Bin(op, _, _) if op in ("and", "or"):
            parts = _junction(op, e, facts)
            return (parts[0], False) if len(parts) == 1 else \
                (f" {_C_BIN[op]} ".join(parts), True)
        case Bin("//", a, b):
            return f"vsdk_fdiv({c_text(a, facts)}, {c_text(b, facts)})", False
        case Bin("%", a, b):
            return f"vsdk_fmod({c_text(a, facts)}, {c_text(b, facts)})", False
        case Bin("min", a, b):
            x, y = c_expr(a, facts), c_expr(b, facts)
            return f"({y} < {x} ? {y} : {x})", False
        case Bin("max", a, b):
            x, y = c_expr(a, facts), c_expr(b, facts)
            return f"({y} > {x} ? {y} : {x})", False
        case Bin(op, a, b) if op in _C_BIN:
            return f"{c_expr(a, facts)} {_C_BIN[op]} {c_expr(b, facts)}", True
        case Unary("not", a):
            return f"!{c_expr(a, facts)}", True
        case Unary("neg", a):
            return f"-{c_expr(a, facts)}", True
        case Cast(_, a):
            return _c(a, facts)  # index math stays in int64; casts here only widen
        case Select(c, a, b):
            chosen = decide(c, facts)
            if chosen is not None:  # decided by the ranges: only the chosen side remains
                return _c(a if chosen else b, facts)
            return f"{c_text(c, facts)} ? {c_expr(a, facts)} : {c_expr(b, facts)}", True
    raise CodegenError(f"expression {e} has no C index form")


_COMPARE = ("<", "<=", ">", ">=", "==", "!=")


def decide(cond: Expr, facts: Facts) -> bool | None:
    """Whether a condition holds everywhere (True) or nowhere (False) on ``facts``; None
    when that depends on the point (or is not known)."""
    match cond:
        case Const(value, "bool"):
            return bool(value)
        case Bin(op, a, b) if op in _COMPARE:
            da, db = to_dim(a), to_dim(b)
            if da is None or db is None:
                return None
            diff = sym.sub(ranges.simplify(da, facts.ranges), ranges.simplify(db, facts.ranges))
            lo = ranges.interval(_extreme(diff, facts, upper=False), facts.ranges)[0]
            hi = ranges.interval(_extreme(diff, facts, upper=True), facts.ranges)[1]
            true, false = {"<": (hi < 0, lo >= 0), "<=": (hi <= 0, lo > 0),
                           ">": (lo > 0, hi <= 0), ">=": (lo >= 0, hi < 0),
                           "==": (lo == hi == 0, lo > 0 or hi < 0),
                           "!=": (lo > 0 or hi < 0, lo == hi == 0)}[op]
            return True if true else False if false else None
        case Bin(op, _, _) if op in ("and", "or"):
            truths = [decide(x, facts) for x in _flatten(op, cond)]
            absorbing = op == "or"  # the value that decides the whole chain
            if absorbing in truths:
                return absorbing
            return not absorbing if all(t is not None for t in truths) else None
        case Unary("not", a):
            t = decide(a, facts)
            return None if t is None else not t
    return None


def _compare(op: str, a: Expr, b: Expr, facts: Facts) -> str:
    """``a op b`` (not decided), sides simplified, a constant on the left moved right."""
    da, db = to_dim(a), to_dim(b)
    if da is None or db is None:
        return f"{c_expr(a, facts)} {op} {c_expr(b, facts)}"
    da, db = ranges.simplify(da, facts.ranges), ranges.simplify(db, facts.ranges)
    if isinstance(db, int) and not isinstance(da, int):  # x - 1 >= 0 reads x >= 1
        c0 = dict(da.terms).get((), 0)
        da, db = sym.sub(da, c0), db - c0
    return f"{_c_dim(da, facts.named)[0]} {op} {_c_dim(db, facts.named)[0]}"


def _extreme(d: sym.Dim, facts: Facts, upper: bool) -> sym.Dim:
    """``d`` with each loop variable of a symbolic extent that it only adds (a term of its
    own, nowhere inside an atom) replaced by the end of its range that pushes ``d`` up
    (``upper``) or down: ``t - N`` is at most -1 inside ``for (t = 0; t < N; ...)``."""
    if isinstance(d, int):
        return d
    out: sym.Dim = d
    for v, limit in facts.limits.items():
        atom = sym.Atom("var", v)
        linear = [c for m, c in d.terms if m == (atom,)]
        inside = [m for m, _ in d.terms if len(m) != 1 or m[0].kind != "var"]
        if len(linear) != 1 or any(v in sym.free_vars(sym.Sym(((m, 1),))) for m in inside):
            continue
        high = (linear[0] > 0) == upper
        out = sym.substitute(out, {v: sym.sub(limit, 1) if high else 0})
    return out


def _junction(op: str, e: Expr, facts: Facts) -> list[str]:
    """The operands of an undecided chain of ``and`` (``or``) that the ranges do not
    decide themselves (those are neutral here), as texts that need no parentheses next
    to ``&&`` (``||``)."""
    out: list[str] = []
    for part in _flatten(op, e):
        if decide(part, facts) is not None:  # the chain as a whole is not decided
            continue
        text, compound = _c(part, facts)
        plain = isinstance(part, Bin) and part.op in _COMPARE
        out.append(text if plain or not compound else f"({text})")
    return out


def _flatten(op: str, e: Expr) -> list[Expr]:
    if isinstance(e, Bin) and e.op == op:
        return [*_flatten(op, e.a), *_flatten(op, e.b)]
    return [e]


def _c_dim(d: sym.Dim, named: Namer = None) -> tuple[str, bool]:
    """C text of a canonical dimension: ``8 * s_n + vsdk_fdiv(t_k, 3) - 1``; ``named``
    gives the name of a division or modulo declared once for a loop (``t_k_div3``)."""
    if isinstance(d, int):
        return (f"INT64_C({d})" if abs(d) > 2**31 - 1 else str(d)), d < 0
    parts = []
    # strides from the largest down, the constant last: an address reads outer to inner
    terms = sorted(d.terms, key=lambda mc: (not mc[0], -abs(mc[1])))
    for i, (m, c) in enumerate(terms):
        factors = [_c_atom(a, named) for a in m]
        mag = abs(c)
        if not factors:
            term = f"INT64_C({mag})" if mag > 2**31 - 1 else str(mag)
        else:
            term = " * ".join(([] if mag == 1 else [str(mag)]) + factors)
        sign = "-" if c < 0 else "+"
        parts.append((f"-{term}" if c < 0 else term) if i == 0 else f"{sign} {term}")
    ((m0, c0),) = d.terms[:1]
    single = len(d.terms) == 1 and c0 == 1 and len(m0) == 1
    return " ".join(parts), not single


def _c_atom(a: sym.Atom, named: Namer = None) -> str:
    if a.kind == "var":
        return c_name(a.name)
    if a.kind in ("floordiv", "mod") and named is not None:
        name = named(a)
        if name is not None:
            return name
    return c_atom(a, named)


def c_atom(a: sym.Atom, named: Namer = None) -> str:
    """C text of a floor division, modulo, min or max in full (its arguments may name
    divisions declared for a loop: ``vsdk_fmod(t_k_div2, 3)``)."""
    x, y = (_c_dim(arg, named) for arg in a.args)
    if a.kind == "floordiv":
        return f"vsdk_fdiv({x[0]}, {y[0]})"
    if a.kind == "mod":
        return f"vsdk_fmod({x[0]}, {y[0]})"
    xs, ys = (f"({t})" if compound else t for t, compound in (x, y))
    return f"({ys} < {xs} ? {ys} : {xs})" if a.kind == "min" else f"({ys} > {xs} ? {ys} : {xs})"


def evaluate(e: Expr, env: Mapping[str, int]) -> int:
    """The integer value of an index expression (floor division, as the IR)."""
    match e:
        case Var(name, _):
            return env[name]
        case Const(value, _):
            return int(value)
        case Cast(_, a):
            return evaluate(a, env)
        case Unary("not", a):
            return int(not evaluate(a, env))
        case Unary("neg", a):
            return -evaluate(a, env)
        case Select(c, a, b):
            return evaluate(a, env) if evaluate(c, env) else evaluate(b, env)
        case Bin(op, a, b):
            fn = _BIN.get(op)
            if fn is not None:
                return fn(evaluate(a, env), evaluate(b, env))
    raise CodegenError(f"expression {e} cannot be evaluated as an index")


# One function per operator (copies are checked on many samples: no per-node dict).
_BIN: dict[str, Callable[[int, int], int]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
    "<": lambda x, y: int(x < y), "<=": lambda x, y: int(x <= y),
    ">": lambda x, y: int(x > y), ">=": lambda x, y: int(x >= y),
    "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y),
    "and": lambda x, y: int(bool(x) and bool(y)), "or": lambda x, y: int(bool(x) or bool(y)),
    "min": min, "max": max,
    "//": lambda x, y: x // y if y else 0, "%": lambda x, y: x % y if y else 0,
}
