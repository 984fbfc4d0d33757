"""Staging copies in a tensorized PrimFunc: which loop nests move data between DRAM and an
on-chip memory, and what one staged element is (a load, a padded load, a constant).

The loop-nest emitter (vendor_sdk.codegen.nest) turns each copy found here into runtime
calls, one per SRAM row; everything else in the program must be a loop or an intrinsic call.
"""

from __future__ import annotations

from core.tir.expr import Bin, Cast, Const, Expr, Load, Select, Var
from core.tir.printer import expr_str
from core.tir.stmt import Block, For, Stmt, Store
from core.tir.visit import free_vars, walk_expr
from vendor_sdk.codegen.cexpr import CodegenError

Loops = list[tuple[Var, Expr]]


def copy_nest(s: For) -> tuple[Loops, Block] | None:
    """The loops and block of a staging copy nest (a store whose target or source is on
    chip), or None."""
    loops: Loops = []
    cur: Stmt = s
    while isinstance(cur, For):
        loops.append((cur.var, cur.extent))
        cur = cur.body
    if not isinstance(cur, Block) or not isinstance(cur.body, Store) or cur.init is not None:
        return None
    st = cur.body
    scopes = {st.buffer.scope} | {x.buffer.scope for x in loads_of(st.value)}
    if scopes == {"global"}:
        return None
    return loops, cur


def loads_of(e: Expr) -> list[Load]:
    return [x for x in walk_expr(e) if isinstance(x, Load)]


def names_of(e: Expr) -> set[str]:
    return free_vars(e)


def is_var_plus(e: Expr, v: Var) -> bool:
    return isinstance(e, Bin) and e.op == "+" and (e.a == v or e.b == v)


def _uncast(e: Expr) -> Expr:
    while isinstance(e, Cast):
        e = e.a
    return e


def split_value(value: Expr, name: str) -> tuple[list[tuple[Expr, int]], Load | None, int]:
    """(guards, source load, constant) of a staged value: the row is the load when every
    guard condition holds, else the pad value of the first failing guard; with no load,
    the constant."""
    guards: list[tuple[Expr, int]] = []
    while True:
        value = _uncast(value)
        if isinstance(value, Const):
            return guards, None, int(value.value)
        if isinstance(value, Load):
            return guards, value, 0
        if isinstance(value, Select):
            b = _uncast(value.b)
            if isinstance(b, Const):
                a = _uncast(value.a)
                if isinstance(a, Const) and a.value == b.value:
                    return guards, None, int(a.value)
                guards.append((value.cond, int(b.value)))
                value = value.a
                continue
        raise CodegenError(f"copy {name}: value {expr_str(value)} is neither a load, a padded "
                           "load nor a constant")
