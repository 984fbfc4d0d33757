"""The index-notation language of intrinsic `compute` strings: tokens, AST, parser.

    C[m,n] = C[m,n] + sum(k, A[m,k] * B[k,n])
    Y[m,c] = clamp(zp + rshift_round(X[m,c] * mult[c], shift[c], half_up), lo, hi)

Free indices of the left-hand side are the spatial axes; `sum(k, e)` reduces
over axis `k`. Every node keeps the 1-based column where it starts, so the
checker and the target loader can point at the exact character of a mistake.
Grammar (lowest precedence first):

    stmt    := access '=' expr
    expr    := cmp
    cmp     := shift (('<' | '<=' | '>' | '>=' | '==' | '!=') shift)?
    shift   := add (('<<' | '>>') add)*
    add     := mul (('+' | '-') mul)*
    mul     := unary ('*' unary)*
    unary   := '-' unary | atom
    atom    := INT | NAME | NAME '[' NAME (',' NAME)* ']' | NAME '(' args ')' | '(' expr ')'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import VendorSdkError

# Casts wrap (two's complement) to the named type; the names double as dtypes.
CASTS: dict[str, str] = {
    "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "u8": "uint8", "u16": "uint16", "u32": "uint32",
}
# Built-in functions and their argument counts (min/max take two or more).
BUILTINS: dict[str, tuple[int, int]] = {
    "clamp": (3, 3), "min": (2, 64), "max": (2, 64), "select": (3, 3),
    "rshift_round": (3, 3), "sum": (2, 2),
}
ROUNDING_MODES = ("floor", "trunc", "half_up", "half_down", "half_even", "half_away")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


class ExprError(VendorSdkError):
    """A mistake in an expression, at a 1-based column of the expression text."""

    def __init__(self, message: str, col: int, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.col = col
        self.hint = hint

    def __str__(self) -> str:
        return f"col {self.col}: {self.message}" + (f" ({self.hint})" if self.hint else "")


@dataclass(frozen=True, slots=True)
class Num:
    value: int
    col: int


@dataclass(frozen=True, slots=True)
class Name:
    """A scalar operand, a target param, or (only as rshift_round's mode) a keyword."""

    name: str
    col: int


@dataclass(frozen=True, slots=True)
class Index:
    axis: str
    col: int


@dataclass(frozen=True, slots=True)
class Access:
    operand: str
    indices: tuple[Index, ...]
    col: int

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(i.axis for i in self.indices)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    arg: Expr
    col: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    lhs: Expr
    rhs: Expr
    col: int


@dataclass(frozen=True, slots=True)
class Cast:
    dtype: str  # numpy name, e.g. "int32"
    arg: Expr
    col: int


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    col: int


@dataclass(frozen=True, slots=True)
class Sum:
    axis: Index
    body: Expr
    col: int


Expr = Num | Name | Access | Unary | Binary | Cast | Call | Sum


@dataclass(frozen=True, slots=True)
class Assign:
    target: Access | Name
    value: Expr


_TOKEN = re.compile(
    r"\s*(?:(?P<int>\d+)|(?P<name>[A-Za-z_]\w*)|(?P<op><<|>>|<=|>=|==|!=|[-+*<>=(),\[\]]))")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "int", "name", "op", "end"
    text: str
    col: int


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        m = _TOKEN.match(src, pos)
        if m is None or m.end() == pos:
            bad = len(src[pos:]) - len(src[pos:].lstrip()) + pos
            ch = src[bad]
            hint = "division is not part of the language; use rshift_round" if ch == "/" else \
                "allowed: integers, names, + - * << >> comparisons, ( ) [ ] ,"
            raise ExprError(f"unexpected character {ch!r}", bad + 1, hint)
        kind = m.lastgroup or "op"
        toks.append(_Tok(kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    toks.append(_Tok("end", "", len(src) + 1))
    return toks


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _tokenize(src)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, text: str, hint: str = "") -> _Tok:
        if self.tok.kind != "op" or self.tok.text != text:
            found = "end of expression" if self.tok.kind == "end" else repr(self.tok.text)
            raise ExprError(f"expected {text!r}, found {found}", self.tok.col, hint)
        return self.take()

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def statement(self) -> Assign:
        target = self.atom()
        if not isinstance(target, Access | Name) or (
                isinstance(target, Name) and target.name in {**CASTS, **BUILTINS}):
            raise ExprError("the left-hand side must be an output operand such as Y[m,n]",
                            _col(target))
        self.expect("=", "a compute string is one assignment: OUT[axes] = expression")
        value = self.expr()
        self.end()
        return Assign(target, value)

    def end(self) -> None:
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {self.tok.text!r} after the end of the expression",
                            self.tok.col, "missing operator or unbalanced parentheses?")

    def expr(self) -> Expr:
        lhs = self.shift()
        if self.at(*COMPARISONS):
            op = self.take()
            lhs = Binary(op.text, lhs, self.shift(), op.col)
        if self.at(*COMPARISONS):
            raise ExprError("comparisons do not chain", self.tok.col, "use parentheses")
        return lhs

    def shift(self) -> Expr:
        lhs = self.add()
        while self.at("<<", ">>"):
            op = self.take()
            lhs = Binary(op.text, lhs, self.add(), op.col)
        return lhs

    def add(self) -> Expr:
        lhs = self.mul()
        while self.at("+", "-"):
            op = self.take()
            lhs = Binary(op.text, lhs, self.mul(), op.col)
        return lhs

    def mul(self) -> Expr:
        lhs = self.unary()
        while self.at("*"):
            op = self.take()
            lhs = Binary(op.text, lhs, self.unary(), op.col)
        return lhs

    def unary(self) -> Expr:
        if self.at("-"):
            op = self.take()
            return Unary("-", self.unary(), op.col)
        return self.atom()

    def atom(self) -> Expr:
        t = self.tok
        if t.kind == "int":
            self.take()
            return Num(int(t.text), t.col)
        if t.kind == "name":
            self.take()
            if self.at("["):
                return self.access(t)
            if self.at("("):
                return self.call(t)
            return Name(t.text, t.col)
        if self.at("("):
            self.take()
            inner = self.expr()
            self.expect(")", "unbalanced parentheses")
            return inner
        found = "end of expression" if t.kind == "end" else repr(t.text)
        raise ExprError(f"expected a value, found {found}", t.col,
                        "a value is an integer, an operand such as A[m,k], or a call")

    def access(self, name: _Tok) -> Access:
        self.take()
        indices = [self.index()]
        while self.at(","):
            self.take()
            indices.append(self.index())
        self.expect("]", "indices are axis names separated by commas")
        return Access(name.text, tuple(indices), name.col)

    def index(self) -> Index:
        t = self.tok
        if t.kind != "name":
            raise ExprError(f"an index must be an axis name, found {t.text or 'end'!r}", t.col,
                            "index arithmetic (k+1, 2*x) is not supported")
        self.take()
        return Index(t.text, t.col)

    def call(self, name: _Tok) -> Expr:
        self.take()
        if name.text == "sum":
            axis = self.index()
            self.expect(",", "sum(axis, expression)")
            body = self.expr()
            self.expect(")", "sum(axis, expression)")
            return Sum(axis, body, name.col)
        args = [self.expr()]
        while self.at(","):
            self.take()
            args.append(self.expr())
        self.expect(")", "unbalanced parentheses")
        if name.text in CASTS:
            if len(args) != 1:
                raise ExprError(f"cast {name.text}() takes one argument, got {len(args)}",
                                name.col)
            return Cast(CASTS[name.text], args[0], name.col)
        if name.text not in BUILTINS:
            known = ", ".join([*BUILTINS, *CASTS])
            raise ExprError(f"unknown function {name.text!r}", name.col, f"known: {known}")
        lo, hi = BUILTINS[name.text]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"at least {lo}"
            raise ExprError(f"{name.text}() takes {want} arguments, got {len(args)}", name.col)
        if name.text == "rshift_round":
            mode = args[2]
            if not isinstance(mode, Name) or mode.name not in ROUNDING_MODES:
                raise ExprError("rshift_round's third argument is the rounding mode",
                                _col(mode), "one of " + ", ".join(ROUNDING_MODES))
        return Call(name.text, tuple(args), name.col)


def _col(e: Expr | Assign) -> int:
    return e.target.col if isinstance(e, Assign) else e.col


def parse_compute(src: str) -> Assign:
    """Parse one `OUT[axes] = expression` statement; raises ExprError with a column."""
    return _Parser(src).statement()


def parse_expr(src: str) -> Expr:
    """Parse a bare expression (used for integer params such as `DIM * 2`)."""
    p = _Parser(src)
    e = p.expr()
    p.end()
    return e


def format_expr(e: Expr | Assign) -> str:
    """Canonical text: fully parenthesised binary operations, no spaces in indices."""
    match e:
        case Assign(target, value):
            return f"{format_expr(target)} = {format_expr(value)}"
        case Num(v):
            return str(v)
        case Name(n):
            return n
        case Access(op, _):
            return f"{op}[{','.join(e.axes)}]"
        case Unary(op, arg):
            return f"({op}{format_expr(arg)})"
        case Binary(op, a, b):
            return f"({format_expr(a)} {op} {format_expr(b)})"
        case Cast(dt, arg):
            short = next(k for k, v in CASTS.items() if v == dt)
            return f"{short}({format_expr(arg)})"
        case Call(f, args):
            return f"{f}({', '.join(format_expr(a) for a in args)})"
        case Sum(axis, body):
            return f"sum({axis.axis}, {format_expr(body)})"
    raise TypeError(e)
