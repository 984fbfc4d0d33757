"""Loop transformations: split, fuse, reorder, tile, annotate.

Blocks carry the meaning (their bindings are rewritten, their bodies never),
so these primitives only have to keep each block's iteration domain and,
for ``reorder``, the order constraints that a block's body could observe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.schedule.common import (
    ScheduleError,
    ceildiv,
    divides,
    fresh,
    get_loop,
    loop_chain,
    replace_loop,
    show,
    simplify,
    used_names,
    uses,
)
from core.tir.expr import Bin, Const, Expr, Load, Var, binop, logical_and
from core.tir.stmt import Allocate, Block, For, IntrinCall, LoopKind, PrimFunc, Seq, Stmt, Store
from core.tir.visit import map_stmt, walk_expr, walk_stmt


def subst_stmt(s: Stmt, env: Mapping[str, Expr]) -> Stmt:
    """Replace loop variables in every expression of ``s`` (index math re-folded)."""
    names = set(env)

    def ex(e: Expr) -> Expr | None:
        if isinstance(e, Var) and e.name in names:
            return env[e.name]
        return None

    out = map_stmt(s, expr_fn=ex)
    return map_stmt(out, expr_fn=lambda e: simplify(e) if isinstance(e, Bin) else None) \
        if out is not s else out


def bare_stores(s: Stmt) -> list[str]:
    """Stores and intrinsic calls not enclosed in a block (their order is all they mean)."""
    out: list[str] = []

    def visit(x: Stmt) -> None:
        match x:
            case Store(buf, _, _):
                out.append(f"store to {buf.name}")
            case IntrinCall(intrin, _):
                out.append(f"call of {intrin.name}")
            case For(body=body) | Allocate(body=body):
                visit(body)
            case Seq(stmts):
                for y in stmts:
                    visit(y)
            case Block():
                pass

    visit(s)
    return out


def add_predicate(s: Stmt, pred: Expr) -> Stmt:
    """Guard the outermost blocks of ``s`` with ``pred`` (inner blocks cannot see loops)."""
    match s:
        case Block():
            both = logical_and(*(p for p in (s.predicate, pred) if p is not None))
            return Block(s.name, s.iters, s.bindings, s.body, s.init, both)
        case For(var, extent, body, kind, ann):
            return For(var, extent, add_predicate(body, pred), kind, ann)
        case Seq(stmts):
            return Seq(tuple(add_predicate(x, pred) for x in stmts))
        case Allocate(buf, body):
            return Allocate(buf, add_predicate(body, pred))
    return s


def split_names(f: PrimFunc, loop: str) -> tuple[str, str]:
    """The names ``split`` gives the outer and inner loop: ``<loop>_o``, ``<loop>_i``
    (suffixed when taken)."""
    used = used_names(f)
    return fresh(f"{loop}_o", used), fresh(f"{loop}_i", used)


def split(f: PrimFunc, loop: str, factor: int) -> PrimFunc:
    """``for x in range(n)`` -> ``for x_o in range(ceil(n/f)): for x_i in range(f)``.

    A factor that does not divide the extent (or may not, for a symbolic
    extent) guards the blocks inside with ``x_o*f + x_i < n``.
    """
    lp = get_loop(f, loop, "split")
    if not isinstance(factor, int) or factor < 1:
        raise ScheduleError("split", f"loop {loop}", f"factor {factor!r} is not a positive int",
                            "pass an integer factor >= 1")
    o, i = (Var(n) for n in split_names(f, loop))
    joined = binop("+", binop("*", o, factor), i)
    body = subst_stmt(lp.body, {loop: joined})
    if not divides(factor, lp.extent):
        bare = bare_stores(lp.body)
        if bare:
            raise ScheduleError(
                "split", f"loop {loop}",
                f"factor {factor} may not divide extent {show(lp.extent)} and the loop body has "
                f"statements outside blocks ({', '.join(bare[:3])}) that cannot be guarded",
                f"use a factor dividing {show(lp.extent)} or pad the loop first")
        body = add_predicate(body, Bin("<", joined, lp.extent))
    new = For(o, ceildiv(lp.extent, factor), For(i, Const(factor), body), lp.kind, lp.annotations)
    return replace_loop(f, loop, new)


def fuse(f: PrimFunc, outer: str, inner: str) -> PrimFunc:
    """Two directly nested loops become one of the product extent (row-major order kept)."""
    lo = get_loop(f, outer, "fuse")
    li = lo.body
    if not isinstance(li, For) or li.var.name != inner:
        raise ScheduleError("fuse", f"loops {outer}, {inner}",
                            f"{inner} is not the only statement in the body of {outer}",
                            "fuse directly nested loops (reorder them next to each other first)")
    if uses(li.extent, {outer}):
        raise ScheduleError("fuse", f"loop {inner}", f"extent {show(li.extent)} depends on "
                            f"{outer}", "only rectangular nests can be fused")
    used = used_names(f)
    v = Var(fresh(f"{outer}_{inner}_f", used))
    env = {outer: binop("//", v, li.extent), inner: binop("%", v, li.extent)}
    extent = simplify(binop("*", lo.extent, li.extent))
    return replace_loop(f, outer, For(v, extent, subst_stmt(li.body, env), lo.kind,
                                      lo.annotations))


def _independent(s: Stmt) -> list[str]:
    """Blocks whose body reads a buffer it writes at other indices (a carried dependence)."""
    bad: list[str] = []
    for b in walk_stmt(s):
        if not isinstance(b, Block):
            continue
        for st in walk_stmt(b.body):
            if not isinstance(st, Store):
                continue
            for x in walk_expr(st.value):
                if isinstance(x, Load) and x.buffer.name == st.buffer.name \
                        and x.indices != st.indices:
                    bad.append(f"block {b.name} reads {x.buffer.name} at other indices than it "
                               "writes")
    return bad


def reorder(f: PrimFunc, *loops: str) -> PrimFunc:
    """Permute loops of one perfect nest into the given order (outermost first)."""
    if len(set(loops)) != len(loops) or len(loops) < 2:
        raise ScheduleError("reorder", f"loops {list(loops)}", "need two or more distinct loops",
                            "name each loop once")
    found = [get_loop(f, n, "reorder") for n in loops]
    chains = [loop_chain(lp, "reorder") for lp in found]
    top_i = max(range(len(found)), key=lambda k: len(chains[k]))
    chain = chains[top_i]
    names = [lp.var.name for lp in chain]
    missing = [n for n in loops if n not in names]
    if missing:
        raise ScheduleError(
            "reorder", f"loop {missing[0]}",
            f"not in the perfect nest {names} under {chain[0].var.name} (a sequence, block or "
            "allocation sits between them)", "reorder loops of one perfect nest")
    pos = sorted(names.index(n) for n in loops)
    span = {lp.var.name for lp in chain[pos[0]:pos[-1] + 1]}
    for lp in chain[pos[0]:pos[-1] + 1]:
        if uses(lp.extent, span - {lp.var.name}):
            raise ScheduleError("reorder", f"loop {lp.var.name}",
                                f"extent {show(lp.extent)} depends on another reordered loop",
                                "only rectangular nests can be reordered")
    body = chain[-1].body
    problems = bare_stores(body) + _independent(body)
    if problems:
        raise ScheduleError("reorder", f"loops {list(loops)}",
                            f"the order is observable: {problems[0]}",
                            "reorder only loops around independent blocks")
    order = list(chain)
    by_name = {lp.var.name: lp for lp in chain}
    for p, n in zip(pos, loops, strict=True):
        order[p] = by_name[n]
    for lp in reversed(order):
        body = For(lp.var, lp.extent, body, lp.kind, lp.annotations)
    return replace_loop(f, chain[0].var.name, body)


def tile(f: PrimFunc, loops: Sequence[str], factors: Sequence[int]) -> PrimFunc:
    """Split each loop by its factor, then order all outer parts before all inner parts.

    The new loops are named ``<loop>_o`` / ``<loop>_i`` (suffixed if taken).
    """
    if len(loops) != len(factors) or not loops:
        raise ScheduleError("tile", f"loops {list(loops)}", f"{len(factors)} factors given",
                            "give one factor per loop")
    outers, inners = [], []
    for name, factor in zip(loops, factors, strict=True):
        o, i = split_names(f, name)
        f = split(f, name, factor)
        outers.append(o)
        inners.append(i)
    return reorder(f, *outers, *inners) if len(loops) > 1 else f


def annotate(f: PrimFunc, loop: str, kind: LoopKind) -> PrimFunc:
    """Mark a loop for the code generator: unrolled, vectorized, parallel or pipelined."""
    lp = get_loop(f, loop, "annotate")
    if kind == "unrolled" and not isinstance(lp.extent, Const):
        raise ScheduleError("annotate", f"loop {loop}", f"extent {show(lp.extent)} is not "
                            "constant", f"split {loop} by a constant and unroll the inner loop")
    if kind == "vectorized" and any(isinstance(s, For) for s in walk_stmt(lp.body)):
        raise ScheduleError("annotate", f"loop {loop}", "it is not innermost",
                            "vectorize the innermost loop (reorder first)")
    if kind == "parallel":
        for b in walk_stmt(lp.body):
            if isinstance(b, Block) and any(
                    iv.kind == "reduce" and uses(x, {loop})
                    for iv, x in zip(b.iters, b.bindings, strict=True)):
                raise ScheduleError("annotate", f"loop {loop}", f"it feeds reduce variables of "
                                    f"block {b.name}: parallel iterations would race",
                                    "parallelize a spatial loop")
    return replace_loop(f, loop, For(lp.var, lp.extent, lp.body, kind, lp.annotations))
