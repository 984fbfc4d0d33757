"""The default host schedule: what every PrimFunc goes through before LLVM code generation.

A flat list of rewrites, each keeping results identical to the interpreter's:

1. ``interleave_reductions`` — a reduction whose reduce loops are innermost is
   one dependent chain of adds (or compare-selects) per output element, so it
   runs at the latency of one add per element. Splitting the innermost
   spatial loop by ``LANES`` and moving the lanes inside the reduce loops makes
   ``LANES`` independent chains the vectoriser turns into one vector
   operation; every output element still accumulates in its original order.
   Where some input does not depend on an outer spatial loop (conv weights
   and output rows), that loop is blocked by ``BLOCK`` too, so one load feeds
   ``BLOCK`` accumulators. The init moves out (``decompose_reduction``) and
   short loops are marked ``unrolled``: the emitter copies their bodies, and
   LLVM keeps the accumulators in registers and packs the lanes into vectors.
2. ``partition_loops`` — border/interior splitting, so padding ``select``s and
   split guards leave the loops that run most (see :mod:`core.schedule.partition`).

Before them, ``rfactor_reductions`` handles the reductions (1) cannot: where
the terms of one output element are contiguous in memory and neighbouring
output elements are not (a softmax row, a global pool's window), lanes across
outputs would be strided gathers. It splits such a reduction into partial
accumulators over the contiguous axis (:func:`core.schedule.rfactor.rfactor`).
That reassociates float sums, so it runs on float reductions only with
``reassociate=True`` (the default for host code, as in onnxruntime and every
BLAS); integer sums and min/max are exact in any order and always qualify.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from core import symbolic as sym
from core.schedule.common import ScheduleError, get_loop, loop_chain, step, to_dim
from core.schedule.loops import annotate, reorder, split, split_names
from core.schedule.partition import partition_loops
from core.schedule.reduction import decompose_reduction
from core.schedule.rfactor import reduction_form, rfactor
from core.tir.expr import Const, Unary, Var, is_float
from core.tir.stmt import Allocate, Block, For, PrimFunc, Seq, Stmt
from core.tir.visit import (
    free_vars,
    loads_of,
    stmt_exprs,
    stores_of,
    substitute,
    walk_expr,
    walk_stmt,
)

Pass = Callable[[PrimFunc], PrimFunc]

# Independent accumulators per reduction: two AVX2 vectors of float32 (one AVX-512
# vector), enough to cover the latency of a vector add on current x86 cores; 8 where it
# divides a constant extent that 16 does not (no guarded remainder).
LANES = (16, 8)
# A second spatial loop blocked around the lanes when some operand does not depend on it
# (an input pixel shared by output channels): that load is then reused BLOCK times.
BLOCK = 4
# Partial sums of rfactor_reductions: with AVX-512, two vectors of float32, so two
# independent add chains hide the add latency (8 lanes, one AVX2 vector, ran at half speed).
RF_LANES = 32
# Reductions with at most this many constant iterations are left to LLVM, which
# unrolls them completely and vectorises the spatial loop around them itself.
SHORT_REDUCTION = 16


def reduction_nests(s: Stmt) -> Iterator[tuple[list[For], Block]]:
    """Perfect loop nests ending in a block with ``init`` (outermost first)."""
    match s:
        case For():
            chain = loop_chain(s, "host_schedule")
            if isinstance(chain[-1].body, Block):
                if chain[-1].body.init is not None:
                    yield chain, chain[-1].body
            else:
                yield from reduction_nests(chain[-1].body)
        case Seq(stmts):
            for x in stmts:
                yield from reduction_nests(x)
        case Allocate(_, body):
            yield from reduction_nests(body)


def _interleavable(chain: list[For], blk: Block) -> tuple[For, list[str]] | None:
    """(innermost spatial loop, reduce loops) when the reduce loops are innermost, long,
    and bound one-to-one to the block's reduce variables."""
    reduce_bound = [b for iv, b in zip(blk.iters, blk.bindings, strict=True)
                    if iv.kind == "reduce"]
    if not all(isinstance(b, Var) for b in reduce_bound):
        return None
    names = [b.name for b in reduce_bound if isinstance(b, Var)]
    k = len(chain) - len(names)
    if k < 1 or sorted(lp.var.name for lp in chain[k:]) != sorted(names):
        return None
    total = 1
    for lp in chain[k:]:
        if not isinstance(lp.extent, Const):
            total = SHORT_REDUCTION + 1  # symbolic: assume long
            break
        total *= int(lp.extent.value)
    # Unit loops (the 1x1 output of a global pool) have nothing to interleave.
    spatial = [lp for lp in chain[:k] if lp.extent != Const(1)]
    if total <= SHORT_REDUCTION or not spatial:
        return None
    return spatial[-1], [lp.var.name for lp in chain[k:]]


def interleave_reductions(f: PrimFunc) -> PrimFunc:
    """Run ``LANES`` output elements of each long reduction side by side (see module)."""
    for chain, blk in list(reduction_nests(f.body)):
        found = _interleavable(chain, blk)
        if found is None:
            continue
        loop, reduce = found
        spatial, ext = loop.var.name, loop.extent
        factor = next((n for n in LANES if isinstance(ext, Const) and ext.value % n == 0),
                      LANES[0])
        outer_of = {}  # split loops are replaced by their outer part at the same place
        outer_of[spatial], lanes = split_names(f, spatial)
        try:
            g = split(f, spatial, factor)
            inner = [lanes]
            other = _block_loop(chain[:chain.index(loop)], blk)
            if other is not None:
                outer_of[other], block = split_names(g, other)
                g = annotate(split(g, other, BLOCK), block, "unrolled")
                inner = [block, lanes]
            top_name = outer_of.get(chain[0].var.name, chain[0].var.name)
            top = loop_chain(get_loop(g, top_name, "host_schedule"), "host_schedule")
            outer = [lp.var.name for lp in top if lp.var.name not in {*reduce, *inner}]
            g = reorder(g, *outer, *reduce, *inner)
            # Unrolled lanes with exp/log/tanh/erf would call scalar libm; left as a
            # loop, the vectoriser gathers them and calls the vector variant.
            scalar = [] if _calls_libm(blk) else inner
            for name in scalar:
                g = _unroll_short(g, name)
            f = decompose_reduction(g, blk.name, reduce[0])
        except ScheduleError:
            continue  # e.g. a body whose order is observable: leave the nest as it is
    return f


def _calls_libm(blk: Block) -> bool:
    return any(isinstance(x, Unary) and x.op in ("exp", "log", "tanh", "erf")
               for st in walk_stmt(blk.body) for e in stmt_exprs(st) for x in walk_expr(e))


def _unroll_short(f: PrimFunc, loop: str) -> PrimFunc:
    """Mark a loop of at most LANES constant iterations unrolled."""
    lp = get_loop(f, loop, "host_schedule")
    if isinstance(lp.extent, Const) and lp.extent.value <= max(LANES):
        return annotate(f, loop, "unrolled")
    return f


def _block_loop(outer: list[For], blk: Block) -> str | None:
    """A spatial loop (not the innermost) that some input load of the block does not
    depend on, with a constant extent divisible by BLOCK: the one worth register blocking."""
    env = dict(zip((iv.var.name for iv in blk.iters), blk.bindings, strict=True))
    written = {st.buffer.name for st in stores_of(blk.body)}
    inputs = [set().union(*(free_vars(substitute(i, env)) for i in ld.indices))
              for ld in loads_of(blk.body) if ld.buffer.name not in written]
    for lp in reversed(outer):
        if isinstance(lp.extent, Const) and lp.extent.value % BLOCK == 0 \
                and any(lp.var.name not in used for used in inputs):
            return lp.var.name
    return None


def rfactor_reductions(f: PrimFunc, reassociate: bool = True) -> PrimFunc:
    """Partial accumulators along a contiguous reduce axis where lanes across outputs
    would gather (see module); float sums only when ``reassociate``."""
    for chain, blk in list(reduction_nests(f.body)):
        lanes = _rfactor_lanes(chain, blk, reassociate)
        if lanes is None:
            continue
        try:
            f = rfactor(f, blk.name, lanes)
        except ScheduleError:
            continue  # not the plain form rfactor needs: interleave_reductions may take it
    return f


def _rfactor_lanes(chain: list[For], blk: Block, reassociate: bool) -> int | None:
    form = reduction_form(blk)
    found = _interleavable(chain, blk)
    if form is None or found is None or blk.predicate is not None:
        return None
    store, op = form.store, form.op
    if op == "+" and is_float(store.buffer.dtype) and not reassociate:
        return None
    spatial, reduce = found
    inner = next(lp for lp in chain if lp.var.name == reduce[-1])
    env = dict(zip((iv.var.name for iv in blk.iters), blk.bindings, strict=True))
    # every access but the accumulator's: the term's loads, and the side stores and theirs
    accesses = [ld.indices for ld in loads_of(blk.body) if ld.buffer.name != store.buffer.name]
    accesses += [x.indices for x in form.side]
    r = inner.var.name
    maybe = [[to_dim(substitute(i, env)) for i in idx] for idx in accesses]
    dims = [[d for d in ds if d is not None] for ds in maybe]
    if any(len(ds) != len(m) for ds, m in zip(dims, maybe, strict=True)):
        return None
    # Every access that moves with r must move along its last axis only, one element per
    # step of r: the lanes then load neighbours. An access with r elsewhere (a matmul's
    # B[k, j]) would be a strided gather per lane — lanes across outputs
    # (interleave_reductions) load neighbours there instead. So must every access whose
    # last index moves with the innermost spatial loop as well as with r. Accesses not
    # moving with r (a row's max) are the same for every lane.
    along = [ds for ds in dims if any(r in sym.free_vars(d) for d in ds)]
    if not along or any(
            any(r in sym.free_vars(d) for d in ds[:-1])
            or not sym.equal(step(ds[-1], r), 1)
            or spatial.var.name in sym.free_vars(ds[-1])
            for ds in along):
        return None
    ext = inner.extent
    if isinstance(ext, Const):
        n = int(ext.value)
        if n < 4:
            return None
        if n <= RF_LANES:
            return n  # the whole loop is the lanes: no ragged tail
        if n < 2 * RF_LANES:
            return next((k for k in LANES if n % k == 0), LANES[0])
    return RF_LANES  # a ragged tail is peeled by partition_loops


def host_schedule(f: PrimFunc, reassociate: bool = True) -> PrimFunc:
    """The default host schedule; ``reassociate=False`` keeps every float reduction in
    its program order (bit-identical to the interpreter on ``f``)."""
    f = rfactor_reductions(f, reassociate)
    for p in HOST_PASSES:
        f = p(f)
    return f


HOST_PASSES: tuple[Pass, ...] = (interleave_reductions, partition_loops)
