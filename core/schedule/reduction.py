"""decompose_reduction: split a reduction's init off into its own nest.

A block's ``init`` runs at the first reduce iteration, which ties it to the
block: an intrinsic with an init variant can take the block only when every
reduce loop sits inside the tensorized nest. ``decompose_reduction(f, block,
loop)`` writes the init as a separate block ``<block>_init`` over the
spatial loops under ``loop``, placed right before ``loop``, and drops it from
the reduction, which then matches an accumulating intrinsic wherever its
reduce loops are.
"""

from __future__ import annotations

from core.schedule.common import (
    ScheduleError,
    fresh,
    get_block,
    get_loop,
    loop_chain,
    replace_loop,
    show,
    simplify,
    to_dim,
    used_names,
    uses,
)
from core.schedule.loops import subst_stmt
from core.tir.expr import Bin, Const, Expr, Var, logical_and
from core.tir.stmt import Block, For, IterVar, PrimFunc, Stmt, seq
from core.tir.visit import free_vars, map_stmt, substitute


def decompose_reduction(f: PrimFunc, block: str, loop: str) -> PrimFunc:
    """Initialize ``block``'s outputs in a nest before ``loop``; the block keeps only its
    update. ``loop`` must enclose every loop that feeds a reduce variable."""
    b = get_block(f, block, "decompose_reduction")
    lp = get_loop(f, loop, "decompose_reduction")
    where = f"block {block} at loop {loop}"
    if b.init is None:
        raise ScheduleError("decompose_reduction", where, "the block has no init",
                            "decompose a reduction block that initializes its output")
    chain = loop_chain(lp, "decompose_reduction")
    if chain[-1].body != b:
        raise ScheduleError("decompose_reduction", where, f"loop {loop} is not a perfect nest "
                            f"around block {block}", "decompose at a loop whose nest holds "
                            "only the block")
    inside = {x.var.name for x in chain}
    for iv, e in zip(b.iters, b.bindings, strict=True):
        if iv.kind == "reduce" and free_vars(e) - inside - _sizes(f):
            outer = sorted(free_vars(e) - inside - _sizes(f))
            raise ScheduleError("decompose_reduction", where,
                                f"reduce variable {iv.var.name} = {show(e)} depends on loops "
                                f"{outer} outside {loop}: the init nest would run once per "
                                "iteration of them and wipe the partial sums",
                                f"decompose at a loop enclosing {outer}")
    spatial_loops = {n for iv, e in zip(b.iters, b.bindings, strict=True)
                     if iv.kind == "spatial" for n in free_vars(e) & inside}
    reduce_loops = inside - spatial_loops
    # The init ran where the predicate held at the first reduce iteration: reduce loops 0.
    first = {n: Const(0) for n in reduce_loops}
    for iv, e in zip(b.iters, b.bindings, strict=True):
        if iv.kind == "reduce" and to_dim(simplify(substitute(e, first))) != 0:
            raise ScheduleError("decompose_reduction", where,
                                f"reduce variable {iv.var.name} = {show(e)} is not 0 when its "
                                "loops are", "decompose nests made by split/fuse/reorder")
    pred = None if b.predicate is None else simplify_pred(substitute(b.predicate, first))
    used = used_names(f)
    env: dict[str, Expr] = {}
    kept: list[For] = []
    for x in chain:
        if x.var.name in spatial_loops:
            if any(uses(x.extent, {y.var.name}) for y in chain):
                raise ScheduleError("decompose_reduction", where,
                                    f"loop {x.var.name}'s extent depends on another loop",
                                    "decompose rectangular nests only")
            v = Var(fresh(f"{x.var.name}_init", used))
            env[x.var.name] = v
            kept.append(For(v, x.extent, x.body, x.kind))
    spatial = [(iv, e) for iv, e in zip(b.iters, b.bindings, strict=True)
               if iv.kind == "spatial"]
    # The init block gets its own iteration variables: names are unique per function.
    ivars = {iv.var.name: Var(fresh(f"{iv.var.name}_init", used)) for iv, _ in spatial}
    init_body = map_stmt(b.init, expr_fn=lambda e: ivars.get(e.name)
                         if isinstance(e, Var) else None)
    init: Stmt = Block(fresh(f"{block}_init", used),
                       tuple(IterVar(ivars[iv.var.name], iv.extent) for iv, _ in spatial),
                       tuple(e for _, e in spatial), init_body, None, pred)
    init = subst_stmt(init, env)
    for x in reversed(kept):
        init = For(x.var, x.extent, init, x.kind)
    update = Block(b.name, b.iters, b.bindings, b.body, None, b.predicate)

    def body_of(k: int) -> Stmt:  # chain[k + 1] is chain[k].body (loop_chain)
        s = chain[k]
        inner = update if k == len(chain) - 1 else body_of(k + 1)
        return For(s.var, s.extent, inner, s.kind, s.annotations)

    return replace_loop(f, loop, seq(init, body_of(0)))


def simplify_pred(e: Expr) -> Expr | None:
    """A predicate with conjuncts that became constant true dropped (None: always)."""
    if isinstance(e, Bin) and e.op == "and":
        parts = [simplify_pred(e.a), simplify_pred(e.b)]
        return logical_and(*(p for p in parts if p is not None))
    if isinstance(e, Bin) and e.op in ("<", "<=", ">", ">="):
        d = to_dim(simplify(e.a - e.b))
        if isinstance(d, int) and {"<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0}[e.op]:
            return None
    return e


def _sizes(f: PrimFunc) -> set[str]:
    from core.tir.verify import size_vars

    return set(size_vars(f))
