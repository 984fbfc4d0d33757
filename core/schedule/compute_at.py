"""compute_at: produce a buffer tile by tile, inside the loop that consumes it.

``compute_at(f, block, loop)`` moves the nest of producer ``block`` (a
top-level statement writing one buffer element-wise, as ``cache_read`` and
``pad`` make) to the start of ``loop``'s body, a loop of a later top-level
statement. Each iteration of ``loop`` then produces only the box of the
buffer the rest of its body reads: along each dimension, the consumer's
indices are affine in the loops under ``loop`` with non-negative steps, so
their minimum and maximum are the indices at the first and last inner
iteration. The box is clipped to the buffer (a predicate), so overhanging
tiles of a non-divisible or symbolic extent stay in bounds.

Recomputing the producer per tile is exact because it is pure: it reads no
buffer the consumer writes, and writes only its own buffer, once per element.
"""

from __future__ import annotations

from core.schedule.common import (
    ScheduleError,
    fresh,
    get_block,
    get_loop,
    show,
    simplify,
    to_dim,
    used_names,
    uses,
)
from core.schedule.memory import rebuild, top_level
from core.tir.expr import Bin, Const, Expr, Var, binop, logical_and
from core.tir.stmt import Allocate, Block, For, IterVar, PrimFunc, Seq, Stmt, Store, seq
from core.tir.visit import (
    buffers_read,
    buffers_written,
    loads_of,
    map_stmt,
    substitute,
    walk_stmt,
)


def _inner_loops(s: Stmt) -> dict[str, Expr]:
    return {x.var.name: x.extent for x in walk_stmt(s) if isinstance(x, For)}


def _box(lp: For, buffer: str, rank: int) -> list[tuple[Expr, Expr]]:
    """Per dimension (start, extent) of what ``lp``'s body reads of ``buffer``."""
    inner = _inner_loops(lp.body)
    reads = _reads(lp.body, buffer, {})
    box: list[tuple[Expr, Expr]] = []
    for d in range(rank):
        lo_hi: list[tuple[Expr, Expr]] = []
        for idx in reads:
            e = idx[d]
            lo = simplify(substitute(e, {n: Const(0) for n in inner}))
            hi = simplify(substitute(e, {n: simplify(x - 1) for n, x in inner.items()}))
            for n in inner:
                if not uses(e, {n}):
                    continue
                step = to_dim(simplify(substitute(e, {n: Const(1)}) -
                                       substitute(e, {n: Const(0)})))
                if not isinstance(step, int) or step < 0 or (uses(e, set(inner) - {n}) and \
                        not _separable(e, n, inner)):
                    raise ScheduleError(
                        "compute_at", f"loop {lp.var.name}",
                        f"{buffer} is read at {show(e)}, not affine with a non-negative step "
                        f"in loop {n}", "compute the whole buffer up front (no compute_at)")
            lo_hi.append((lo, hi))
        if len({x for x in lo_hi}) != 1:
            raise ScheduleError("compute_at", f"loop {lp.var.name}",
                                f"{buffer} is read at {len(set(lo_hi))} different boxes along "
                                f"dimension {d}", "read the buffer through one access pattern")
        lo, hi = lo_hi[0]
        box.append((lo, simplify(hi - lo + 1)))
    return box


def _reads(s: Stmt, buffer: str, env: dict[str, Expr]) -> list[tuple[Expr, ...]]:
    """Indices of every read of ``buffer`` in ``s`` in terms of loops (block iteration
    variables replaced by their bindings)."""
    out: list[tuple[Expr, ...]] = []
    match s:
        case Block():
            inner = {iv.var.name: substitute(e, env)
                     for iv, e in zip(s.iters, s.bindings, strict=True)}
            for part in (s.init, s.body):
                if part is not None:
                    out += _reads(part, buffer, {**env, **inner})
            return out
        case For(body=body) | Allocate(body=body):
            return _reads(body, buffer, env)
        case Seq(stmts):
            return [r for x in stmts for r in _reads(x, buffer, env)]
    for ld in loads_of(s):
        if ld.buffer.name == buffer:
            out.append(tuple(simplify(substitute(i, env)) for i in ld.indices))
    return out


def _separable(e: Expr, n: str, inner: dict[str, Expr]) -> bool:
    """``e`` is a sum in which loop ``n`` steps evenly whatever the other inner loops are."""
    base = {m: Const(0) for m in inner if m != n}
    top = {m: simplify(x - 1) for m, x in inner.items() if m != n}
    steps = [to_dim(simplify(substitute(substitute(e, env), {n: Const(1)})
                             - substitute(substitute(e, env), {n: Const(0)})))
             for env in (base, top)]
    return steps[0] == steps[1]


def compute_at(f: PrimFunc, block: str, loop: str) -> PrimFunc:
    """Move producer ``block`` into ``loop``, producing only the tile it reads."""
    b = get_block(f, block, "compute_at")
    lp = get_loop(f, loop, "compute_at")
    allocs, stmts = top_level(f.body)
    k_prod = next((k for k, s in enumerate(stmts) if any(
        isinstance(x, Block) and x.name == block for x in walk_stmt(s))), None)
    k_cons = next((k for k, s in enumerate(stmts) if any(
        isinstance(x, For) and x.var.name == loop for x in walk_stmt(s))), None)
    where = f"block {block} at loop {loop}"
    if k_prod is None or k_cons is None or k_prod >= k_cons:
        raise ScheduleError("compute_at", where, "the producer is not a top-level statement "
                            "before the consumer's", "compute_at a producer nest (cache_read, "
                            "pad copy) into a loop of a later statement")
    st = b.body
    if not isinstance(st, Store) or b.init is not None or b.reduce or b.predicate is not None \
            or st.indices != tuple(iv.var for iv in b.iters):
        raise ScheduleError("compute_at", where, "the producer does not write its buffer "
                            "element-wise (one store at its iteration variables, no init, "
                            "reduction or predicate)", "compute_at copies and element-wise "
                            "blocks only")
    out = st.buffer.name
    prod = stmts[k_prod]
    if not (buffers_read(prod) & buffers_written(seq(*stmts[k_prod + 1:]))) == set() or \
            buffers_written(prod) != {out}:
        raise ScheduleError("compute_at", where, "the producer is not pure: it reads what later "
                            "statements write, or writes more than its buffer",
                            "compute_at pure producers only")
    later_readers = [s for k, s in enumerate(stmts) if k > k_prod and k != k_cons
                     and out in buffers_read(s)]
    outside = [ld for ld in loads_of(stmts[k_cons]) if ld.buffer.name == out
               and not any(ld is x for x in loads_of(lp.body))]
    if later_readers or outside:
        raise ScheduleError("compute_at", where, f"{out} is also read outside loop {loop}",
                            f"compute_at the loop enclosing every read of {out}")
    box = _box(lp, out, len(st.indices))
    used = used_names(f)
    loops = [Var(fresh(f"{block}_c{d}", used)) for d in range(len(box))]
    bindings: list[Expr] = []
    conds: list[Expr] = []
    for v, (start, ext), iv in zip(loops, box, b.iters, strict=True):
        idx = binop("+", start, v)
        bindings.append(idx)
        # Tiles overhang the buffer at the edges of non-divisible or symbolic extents.
        if not _nonneg(start):
            conds.append(Bin(">=", idx, Const(0)))
        if not (start == Const(0) and to_dim(simplify(iv.extent - ext)) == 0):
            conds.append(Bin("<", idx, iv.extent))
    nest: Stmt = Block(b.name, tuple(IterVar(iv.var, iv.extent) for iv in b.iters),
                       tuple(bindings), st, None, logical_and(*conds))
    for v, (_, ext) in reversed(list(zip(loops, box, strict=True))):
        nest = For(v, ext, nest)

    def put(s: Stmt) -> Stmt | None:
        if isinstance(s, For) and s.var.name == loop:
            return For(s.var, s.extent, seq(nest, s.body), s.kind, s.annotations)
        return None

    stmts = [s for k, s in enumerate(stmts) if k != k_prod]
    stmts = [map_stmt(s, put) for s in stmts]
    return f.with_body(rebuild(allocs, stmts))


def _nonneg(e: Expr) -> bool:
    """Provably >= 0: a polynomial in loop variables with non-negative coefficients."""
    d = to_dim(e)
    if isinstance(d, int):
        return d >= 0
    return d is not None and all(c >= 0 and all(a.kind == "var" for a in mono)
                                 for mono, c in d.terms)
