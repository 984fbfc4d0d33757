"""Errors and helpers shared by the schedule primitives.

Every primitive is a pure function ``PrimFunc -> PrimFunc``. Preconditions are
checked up front and reported as :class:`ScheduleError` naming the primitive,
the loop or block, the condition that failed and what would fix it.
"""

from __future__ import annotations

from core import symbolic as sym
from core.errors import VendorSdkError
from core.tir.expr import Bin, Const, Expr, Var, from_dim
from core.tir.printer import expr_str
from core.tir.stmt import Allocate, Block, For, PrimFunc, Stmt
from core.tir.verify import size_vars
from core.tir.visit import find_block, find_loop, map_stmt, walk_expr, walk_stmt


class ScheduleError(VendorSdkError):
    """A schedule primitive's precondition failed."""

    def __init__(self, primitive: str, where: str, condition: str, fix: str) -> None:
        super().__init__(f"{primitive}: {where}: {condition}; fix: {fix}")
        self.primitive, self.where, self.condition, self.fix = primitive, where, condition, fix


class TensorizeError(ScheduleError):
    """A loop nest does not match an intrinsic (or cannot be handed to it)."""


def to_dim(e: Expr) -> sym.Dim | None:
    """An index expression as a canonical symbolic dim, or None if it is not one."""
    match e:
        case Const(v, "int64"):
            return int(v)
        case Var(name, "int64"):
            return sym.var(name)
        case Bin(op, a, b) if op in ("+", "-", "*", "//", "%", "min", "max"):
            da, db = to_dim(a), to_dim(b)
            if da is None or db is None:
                return None
            try:
                fn = {"+": sym.add, "-": sym.sub, "*": sym.mul, "//": sym.floordiv,
                      "%": sym.mod, "min": sym.smin, "max": sym.smax}[op]
                return fn(da, db)
            except ZeroDivisionError:
                return None
    return None


def step(d: sym.Dim, var: str) -> sym.Dim:
    """How much ``d`` grows when ``var`` grows by one (1: consecutive elements)."""
    return sym.sub(sym.substitute(d, {var: sym.add(sym.var(var), 1)}), d)


def simplify(e: Expr) -> Expr:
    """Canonical form of index math (``(n + 3)//4*4 - ...``); other expressions unchanged."""
    d = to_dim(e)
    return e if d is None else from_dim(d)


def divides(factor: int, extent: Expr) -> bool:
    d = to_dim(extent)
    return d is not None and sym.mod(d, factor) == 0


def ceildiv(extent: Expr, factor: int) -> Expr:
    d = to_dim(extent)
    if d is None:
        return (extent + (factor - 1)) // factor
    return from_dim(sym.floordiv(sym.add(d, factor - 1), factor))


def used_names(f: PrimFunc) -> set[str]:
    names = set(size_vars(f)) | {p.name for p in f.params}
    for s in walk_stmt(f.body):
        if isinstance(s, For):
            names.add(s.var.name)
        elif isinstance(s, Allocate):
            names.add(s.buffer.name)
        elif isinstance(s, Block):
            names.add(s.name)
            names.update(iv.var.name for iv in s.iters)
    return names


def fresh(base: str, used: set[str]) -> str:
    """``base`` or ``base_1``, ``base_2``...: a name not in ``used`` (which it joins)."""
    name, n = base, 0
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def get_loop(f: PrimFunc, name: str, primitive: str) -> For:
    loop = find_loop(f.body, name)
    if loop is None:
        loops = [s.var.name for s in walk_stmt(f.body) if isinstance(s, For)]
        raise ScheduleError(primitive, f"loop {name}", f"{f.name} has no such loop",
                            f"use one of {loops}")
    return loop


def get_block(f: PrimFunc, name: str, primitive: str) -> Block:
    block = find_block(f.body, name)
    if block is None:
        blocks = [s.name for s in walk_stmt(f.body) if isinstance(s, Block)]
        raise ScheduleError(primitive, f"block {name}", f"{f.name} has no such block",
                            f"use one of {blocks}")
    return block


def replace_loop(f: PrimFunc, name: str, new: Stmt) -> PrimFunc:
    """``f`` with the loop named ``name`` replaced by ``new``."""

    def fn(s: Stmt) -> Stmt | None:
        return new if isinstance(s, For) and s.var.name == name else None

    return f.with_body(map_stmt(f.body, fn))


def replace_block(f: PrimFunc, name: str, new: Stmt) -> PrimFunc:
    def fn(s: Stmt) -> Stmt | None:
        return new if isinstance(s, Block) and s.name == name else None

    return f.with_body(map_stmt(f.body, fn))


def loop_chain(top: For, primitive: str) -> list[For]:
    """``top`` and the loops directly nested in it (each the only statement of its parent)."""
    chain = [top]
    while isinstance(chain[-1].body, For):
        chain.append(chain[-1].body)
    return chain


def uses(e: Expr, names: set[str]) -> bool:
    return any(isinstance(x, Var) and x.name in names for x in walk_expr(e))


def show(e: Expr) -> str:
    return f"'{expr_str(e)}'"
