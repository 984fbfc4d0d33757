"""The small languages inside a pattern: op alternatives and attribute constraints.

    op:    "Relu | Clip(min=0)"          alternatives; `(name=int, ...)` pins an
                                         attribute or a constant input by its ONNX name
    attrs: 1, [1, 1], NOTSET             a value (a list attribute: every element)
           "k <= 7", "s in {1, 2}"       a constraint on every element of the value
           "k >= 1 and k <= 7", "p not in {0}", "d == 1 or d == 2"

The target loader (vendor_sdk.target.checks) and the partitioner use the same
parser, so what `validate` accepts is exactly what the partitioner evaluates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import VendorSdkError

_TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+)|(?P<word>[A-Za-z_][\w.]*)|(?P<op><=|>=|==|!=|<|>)"
                    r"|(?P<punct>[{},()=|]))")
_COMPARE = {"<=": int.__le__, "<": int.__lt__, ">=": int.__ge__, ">": int.__gt__,
            "==": int.__eq__, "!=": int.__ne__}


class ConstraintError(VendorSdkError):
    """A constraint or op string does not parse; ``col`` is the 0-based offending column."""

    def __init__(self, message: str, col: int, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.col = col
        self.hint = hint


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            col = len(text) - len(text[pos:].lstrip())
            raise ConstraintError(f"unexpected {text[col:col + 1]!r} in {text!r}", col)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


@dataclass(frozen=True, slots=True)
class Compare:
    """``var OP value`` or ``var [not] in {values}``, applied to one integer."""

    op: str  # a comparison, "in" or "not in"
    values: tuple[int, ...]

    def holds(self, x: int) -> bool:
        if self.op == "in":
            return x in self.values
        if self.op == "not in":
            return x not in self.values
        return _COMPARE[self.op](x, self.values[0])

    def __str__(self) -> str:
        if self.op.endswith("in"):
            return f"{self.op} {{{', '.join(map(str, self.values))}}}"
        return f"{self.op} {self.values[0]}"


@dataclass(frozen=True, slots=True)
class Constraint:
    """An attribute constraint: equality with a value, or a boolean formula per element.

    ``any_of`` is a disjunction of conjunctions of comparisons.
    """

    text: str
    equals: int | str | tuple[int, ...] | None = None
    any_of: tuple[tuple[Compare, ...], ...] = ()

    def holds(self, value: object) -> bool:
        if self.equals is not None:
            if isinstance(self.equals, int) and isinstance(value, tuple):
                return len(value) > 0 and all(v == self.equals for v in value)
            return value == self.equals
        elems = value if isinstance(value, tuple) else (value,)
        if not elems or not all(isinstance(v, int) for v in elems):
            return False
        return all(any(all(c.holds(v) for c in conj) for conj in self.any_of)
                   for v in elems)

    def __str__(self) -> str:
        if self.equals is not None:
            return f"== {list(self.equals) if isinstance(self.equals, tuple) else self.equals}"
        return self.text


def parse_constraint(value: int | str | Sequence[int]) -> Constraint:
    """A YAML attrs value as a :class:`Constraint`; raises ConstraintError with a column."""
    if isinstance(value, bool):
        raise ConstraintError(f"expected an integer, list or constraint, got {value!r}", 0)
    if isinstance(value, int):
        return Constraint(str(value), equals=value)
    if not isinstance(value, str):
        return Constraint(str(list(value)), equals=tuple(int(v) for v in value))
    toks = _tokens(value)
    if len(toks) == 1 and toks[0][0] in ("word", "num"):
        kind, text, _ = toks[0]
        return Constraint(value, equals=int(text) if kind == "num" else text)
    return Constraint(value.strip(), any_of=_Parser(value, toks).formula())


class _Parser:
    """formula := conj ('or' conj)* ; conj := cmp ('and' cmp)* ;
    cmp := NAME (OP INT | ['not'] 'in' '{' INT (',' INT)* '}')"""

    def __init__(self, text: str, toks: list[tuple[str, str, int]]) -> None:
        self.text, self.toks, self.i = text, toks, 0
        self.var = ""

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "", len(self.text))

    def take(self, kind: str, text: str | None = None, what: str = "") -> str:
        k, t, col = self.peek()
        if k != kind or (text is not None and t != text):
            found = repr(t) if k != "end" else "the end"
            raise ConstraintError(f"expected {what or text or kind} in {self.text!r}, found "
                                  f"{found}", col, "write `x <= 7` or `s in {1, 2}`")
        self.i += 1
        return t

    def formula(self) -> tuple[tuple[Compare, ...], ...]:
        disj = [self.conj()]
        while self.peek()[:2] == ("word", "or"):
            self.i += 1
            disj.append(self.conj())
        if self.peek()[0] != "end":
            self.take("end", what="`and`, `or` or the end")
        return tuple(disj)

    def conj(self) -> tuple[Compare, ...]:
        out = [self.compare()]
        while self.peek()[:2] == ("word", "and"):
            self.i += 1
            out.append(self.compare())
        return tuple(out)

    def compare(self) -> Compare:
        col = self.peek()[2]
        var = self.take("word", what="a name such as `k`")
        if self.var and var != self.var:
            raise ConstraintError(f"one constraint names one value; {var!r} is not "
                                  f"{self.var!r}", col)
        self.var = var
        kind, text, _ = self.peek()
        if kind == "op":
            self.i += 1
            return Compare(text, (int(self.take("num", what="an integer")),))
        negate = text == "not"
        if negate:
            self.i += 1
        self.take("word", "in", what="a comparison or `in`")
        self.take("punct", "{")
        values = [int(self.take("num", what="an integer"))]
        while self.peek()[:2] == ("punct", ","):
            self.i += 1
            values.append(int(self.take("num", what="an integer")))
        self.take("punct", "}")
        return Compare("not in" if negate else "in", tuple(values))


@dataclass(frozen=True, slots=True)
class OpAlt:
    """One op alternative: an op name plus pinned attributes or constant inputs."""

    op: str
    pinned: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        if not self.pinned:
            return self.op
        return f"{self.op}({', '.join(f'{k}={v}' for k, v in self.pinned)})"


def parse_op(text: str) -> tuple[OpAlt, ...]:
    """``"Relu | Clip(min=0)"`` -> alternatives; raises ConstraintError with a column."""
    toks = _tokens(text)
    alts: list[OpAlt] = []
    i = 0

    def expect(kind: str, what: str, literal: str | None = None) -> str:
        nonlocal i
        k, t, col = toks[i] if i < len(toks) else ("end", "", len(text))
        if k != kind or (literal is not None and t != literal):
            raise ConstraintError(f"expected {what} in op {text!r}, found "
                                  f"{t!r}" if k != "end" else
                                  f"expected {what} in op {text!r}, found the end", col,
                                  "write `Op` or alternatives `A | B(attr=0)`")
        i += 1
        return t

    while True:
        op = expect("word", "an op name")
        pinned: list[tuple[str, int]] = []
        if i < len(toks) and toks[i][1] == "(":
            i += 1
            while True:
                name = expect("word", "an attribute or input name")
                expect("punct", "`=`", "=")
                pinned.append((name, int(expect("num", "an integer"))))
                if i < len(toks) and toks[i][1] == ",":
                    i += 1
                    continue
                expect("punct", "`)`", ")")
                break
        alts.append(OpAlt(op, tuple(pinned)))
        if i == len(toks):
            return tuple(alts)
        expect("punct", "`|`", "|")
