"""Staging copies in a tensorized PrimFunc: which loop nests move data between DRAM and an
on-chip memory, and what one staged element is (a load, a padded load, a constant).

The loop-nest emitter (vendor_sdk.codegen.nest) turns each copy found here into runtime
calls, one per SRAM row; everything else in the program must be a loop or an intrinsic call.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from core.tir.expr import Bin, Cast, Const, Expr, Load, Select, Var
from core.tir.printer import expr_str
from core.tir.stmt import Block, For, Stmt, Store
from core.tir.visit import free_vars, walk_expr
from vendor_sdk.codegen.cexpr import CodegenError, evaluate

Loops = list[tuple[Var, Expr]]
SAMPLES = 48  # sample points per staging copy for the lane-contiguity check


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


def check_lanes(outer: Loops, loops: Loops, lane: int, exprs: list[Expr], last: Expr,
                sizes: Mapping[str, int], lanes: int, what: str) -> None:
    """Each L lanes of a row are L consecutive elements in DRAM: ``exprs`` do not
    change along the lane, ``last`` grows by one per lane (checked on samples of the
    enclosing ``outer`` loops and the copy's ``loops``, and of the symbolic ``sizes``)."""
    rng = random.Random(0)
    lv = loops[lane][0].name
    symbolic = sorted(set(sizes) & set().union(*(names_of(x) for x in [*exprs, last])))
    hint = (f"; they depend on symbolic {', '.join(symbolic)}: rows of {lanes} lanes fit "
            f"only at multiples of {lanes}, make the lane axis static") if symbolic else ""
    for s in range(SAMPLES):
        # Symbolic extents take their hint, then other values: a lane guard on one (a
        # symbolic extent of the lane axis) holds for whole rows only at multiples of L,
        # so a hint of 16 passed and a run with 11 wrote whole rows past the output.
        env = {v: n if s % 3 == 0 else n + 1 + rng.randrange(2 * lanes) for v, n in sizes.items()}
        for v, e in [*outer, *loops]:
            n = evaluate(e, env)
            env[v.name] = rng.randrange(max(n, 1))
        env[lv] -= env[lv] % lanes
        ref = [evaluate(x, env) for x in exprs]
        start = evaluate(last, env)
        for k in range(1, lanes):
            env2 = {**env, lv: env[lv] + k}
            if [evaluate(x, env2) for x in exprs] != ref or evaluate(last, env2) != start + k:
                raise CodegenError(f"{what}: the {lanes} lanes of a row are not consecutive "
                                   f"elements in DRAM (no LOAD/STORE moves them){hint}")


def constants_first(stmts: tuple[Stmt, ...], activations: frozenset[str]) -> list[Stmt]:
    """Adjacent staging loads reordered with those of constants first (stable): they write
    different rows, and a weight tile then loads before the wait for the previous layer's
    stores that the first load of its output carries (vsdk_dram_fence)."""
    def rank(x: Stmt) -> int | None:
        nest = copy_nest(x) if isinstance(x, For) else None
        st = nest[1].body if nest is not None else None
        if not isinstance(st, Store) or st.buffer.scope == "global":
            return None
        reads = {ld.buffer.name for ld in loads_of(st.value)}
        return 1 if reads & activations else 0

    out: list[Stmt] = []
    run: list[tuple[int, Stmt]] = []
    for x in (*stmts, None):
        r = rank(x) if x is not None else None
        if r is not None and x is not None:
            run.append((r, x))
            continue
        out += [y for _, y in sorted(run, key=lambda p: p[0])]
        run = []
        if x is not None:
            out.append(x)
    return out
