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

from core.tir.expr import Bin, Cast, Const, Expr, Select, Unary, Var

_C_BIN = {"+": "+", "-": "-", "*": "*", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
          "==": "==", "!=": "!=", "and": "&&", "or": "||", "&": "&", "|": "|", "^": "^",
          "<<": "<<", ">>": ">>"}


class CodegenError(Exception):
    """Something the C code generator cannot express; says which op and why."""


def c_name(name: str) -> str:
    """A C identifier for an IR / graph name (deterministic, readable)."""
    out = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return out if out and not out[0].isdigit() else f"v_{out}"


def c_expr(e: Expr) -> str:
    """C text of an integer index expression (int64 arithmetic, IR floor division)."""
    match e:
        case Var(name, _):
            return c_name(name)
        case Const(value, _):
            if isinstance(value, float):
                raise CodegenError(f"float constant {value} in an index expression")
            v = int(value)
            return f"INT64_C({v})" if abs(v) > 2**31 - 1 else str(v)
        case Bin("//", a, b):
            return f"vsdk_fdiv({c_expr(a)}, {c_expr(b)})"
        case Bin("%", a, b):
            return f"vsdk_fmod({c_expr(a)}, {c_expr(b)})"
        case Bin("min", a, b):
            x, y = c_expr(a), c_expr(b)
            return f"(({y}) < ({x}) ? ({y}) : ({x}))"
        case Bin("max", a, b):
            x, y = c_expr(a), c_expr(b)
            return f"(({y}) > ({x}) ? ({y}) : ({x}))"
        case Bin(op, a, b) if op in _C_BIN:
            return f"({c_expr(a)} {_C_BIN[op]} {c_expr(b)})"
        case Unary("not", a):
            return f"(!{c_expr(a)})"
        case Unary("neg", a):
            return f"(-{c_expr(a)})"
        case Cast(_, a):
            return c_expr(a)  # index math stays in int64; casts here only widen
        case Select(c, a, b):
            return f"({c_expr(c)} ? {c_expr(a)} : {c_expr(b)})"
    raise CodegenError(f"expression {e} has no C index form")


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
