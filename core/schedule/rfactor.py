"""rfactor: split a reduction into ``lanes`` partial reductions and a combining step.

A reduction ``out[s] = out[s] op v(s, r)`` adds its terms one after another, so
each output element is one dependent chain. When consecutive terms sit next to
each other in memory (a softmax row, a global pool's window) the fast way is
to keep ``lanes`` partial results, term ``r`` going to lane ``r % lanes``, and
combine them at the end::

    for s...:                                   # spatial loops, as before
        alloc acc[lanes]                        # scope "local": registers, in practice
        for l: acc[l] = identity(op)            # vectorized
        for r_1...: for ro: for l:              # r_m = ro*lanes + l (guarded if ragged)
            side stores; acc[l] = acc[l] op v(s, r)          # l vectorized
        for t < lanes/2: acc[t] = acc[t] op acc[t + lanes/2] # ... down to one lane
        out[s] = init; out[s] = out[s] op acc[0]

The partial sums form ``lanes`` independent chains over contiguous loads,
which is what vector units want; the lane loops are marked ``vectorized``.
Side stores the block makes before its update (a softmax's exp, stored and
summed in one pass) move into the lanes unchanged: each still runs once per
``(s, r)``. This *reassociates* the reduction: integer
sums and min/max give the same value (up to which NaN a min/max returns),
float sums differ in rounding. The rewritten program is still an ordinary
program — the interpreter runs it to the same bits as machine code — but not
bit-identical to the original for float sums, which is why the host schedule
applies it to floats only when asked to reassociate (the default for host code;
see :func:`core.schedule.host.host_schedule`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.schedule.common import (
    ScheduleError,
    ceildiv,
    divides,
    fresh,
    get_block,
    loop_chain,
    replace_loop,
    show,
    used_names,
)
from core.schedule.loops import subst_stmt
from core.tir.expr import Bin, Const, Expr, Load, Var, is_float
from core.tir.stmt import (
    Allocate,
    Block,
    Buffer,
    For,
    IterVar,
    LoopKind,
    PrimFunc,
    Seq,
    Stmt,
    Store,
    seq,
)
from core.tir.visit import free_vars, loads_of, substitute, walk_stmt

# Combiners rfactor can split, with their identity (the value a lane starts from).
COMBINERS = ("+", "max", "min")


def identity(op: str, dtype: str) -> Const:
    if op == "+":
        return Const(0.0 if is_float(dtype) else 0, dtype)
    if is_float(dtype):
        return Const(float("-inf") if op == "max" else float("inf"), dtype)
    info = np.iinfo(np.dtype(dtype))
    return Const(int(info.min if op == "max" else info.max), dtype)


@dataclass(frozen=True)
class ReductionForm:
    """A block ``side...; X[i] = X[i] op term``: ``side`` stores write other buffers (a
    softmax's exp, stored and summed in one pass) and may be read by ``term``."""

    side: tuple[Store, ...]
    store: Store
    op: str
    term: Expr
    left: bool  # the accumulator is the left operand


def reduction_form(b: Block) -> ReductionForm | None:
    """The block as ``side...; X[i] = X[i] op term`` with nothing but the update reading
    or writing ``X``; None otherwise."""
    body = b.body.stmts if isinstance(b.body, Seq) else (b.body,)
    *side, st = body
    if not isinstance(st, Store) or not isinstance(st.value, Bin) or st.value.op not in COMBINERS:
        return None
    side_stores = [x for x in side if isinstance(x, Store) and x.buffer.name != st.buffer.name
                   and not any(ld.buffer.name == st.buffer.name for ld in loads_of(x))]
    if len(side_stores) != len(side):
        return None
    acc = Load(st.buffer, st.indices)
    a, c = st.value.a, st.value.b
    left = a == acc
    term = c if left else a
    if not (left or c == acc):
        return None
    if any(ld.buffer.name == st.buffer.name for ld in loads_of(Store(st.buffer, (), term))):
        return None
    return ReductionForm(tuple(side_stores), st, st.value.op, term, left)


def _combine(op: str, left: bool, acc: Expr, term: Expr) -> Expr:
    return Bin(op, acc, term) if left else Bin(op, term, acc)


def rfactor(f: PrimFunc, block: str, lanes: int) -> PrimFunc:
    """Give ``block``'s innermost reduce loop ``lanes`` partial accumulators (see module)."""
    b = get_block(f, block, "rfactor")
    where = f"block {block}"
    if lanes < 2:
        raise ScheduleError("rfactor", where, f"lanes={lanes}", "use at least 2 lanes")
    form = reduction_form(b)
    if form is None or b.init is None:
        raise ScheduleError("rfactor", where, "the block is not 'X[i] = X[i] op term' (after "
                            f"stores to other buffers) with an init, op one of {COMBINERS}, "
                            "nothing else reading X", "rfactor a plain sum/min/max reduction")
    if b.predicate is not None:
        raise ScheduleError("rfactor", where, f"the block has a predicate {show(b.predicate)}",
                            "rfactor before splitting loops by non-divisible factors")
    store, op, term, left = form.store, form.op, form.term, form.left
    chain, top = _enclosing_chain(f, b)
    reduce_vars = [e for iv, e in zip(b.iters, b.bindings, strict=True) if iv.kind == "reduce"]
    names = [e.name for e in reduce_vars if isinstance(e, Var)]
    k = len(chain) - len(names)
    if len(names) != len(reduce_vars) or k < 0 or \
            sorted(lp.var.name for lp in chain[k:]) != sorted(names):
        raise ScheduleError("rfactor", where, "the reduce loops are not the innermost loops, "
                            "each bound to one reduce variable", "rfactor the nest as lowered")
    spatial_loops, reduce_loops = chain[:k], chain[k:]
    if any(free_vars(lp.extent) & {x.var.name for x in chain} for lp in chain):
        raise ScheduleError("rfactor", where, "a loop extent depends on another loop",
                            "rfactor rectangular nests")
    inner = reduce_loops[-1]
    used = used_names(f)
    acc = Buffer(fresh(f"{block}_lanes", used), store.buffer.dtype, (Const(lanes),), "local")
    lane_loop = Var(fresh(f"{inner.var.name}_l", used))
    ragged = not divides(lanes, inner.extent)
    outer_extent = ceildiv(inner.extent, lanes)
    single = outer_extent == Const(1) and not ragged
    ro = Var(fresh(f"{inner.var.name}_o", used))
    position: Expr = lane_loop if single else ro * lanes + lane_loop
    bindings = tuple(substitute(e, {inner.var.name: position}) for e in b.bindings)
    lane_iv = IterVar(Var(fresh(f"{block}_lane", used)), Const(lanes))
    # Code generators emit a vectorized loop as one vector operation per statement (the
    # host's does; others may treat it as unrolled or serial: the meaning is the same).
    kind: LoopKind = "vectorized"

    # 1. every lane starts from the combiner's identity
    l0 = Var(fresh(f"{inner.var.name}_l_init", used))
    iv0 = IterVar(Var(fresh(f"{block}_lane_init", used)), Const(lanes))
    start = For(l0, Const(lanes), Block(fresh(f"{block}_rf_init", used), (iv0,), (l0,),
                                        Store(acc, (iv0.var,), identity(op, acc.dtype))), kind)
    # 2. term r goes to lane r % lanes
    guard = Bin("<", position, inner.extent) if ragged else None
    partial: Stmt = Block(fresh(f"{block}_rf", used), (*b.iters, lane_iv), (*bindings, lane_loop),
                          seq(*form.side, Store(acc, (lane_iv.var,), _combine(
                              op, left, Load(acc, (lane_iv.var,)), term))),
                          None, guard)
    partial = For(lane_loop, Const(lanes), partial, kind)
    if not single:
        partial = For(ro, outer_extent, partial)
    for lp in reversed(reduce_loops[:-1]):
        partial = For(lp.var, lp.extent, partial, lp.kind, lp.annotations)
    # 3. the lanes fold pairwise into lane 0: log2(lanes) dependent steps, not lanes
    tree = _fold(acc, op, left, lanes, block, used)
    # 4. the output starts from the block's init and takes lane 0
    spatial = [(iv, e) for iv, e in zip(b.iters, b.bindings, strict=True)
               if iv.kind == "spatial"]
    fresh_iv = {iv.var.name: Var(fresh(f"{iv.var.name}_c", used)) for iv, _ in spatial}
    lc = Var(fresh(f"{block}_lane_c", used))
    ivc = IterVar(Var(fresh(f"{block}_lane_c", used)), Const(1), "reduce")
    rename: dict[str, Expr] = dict(fresh_iv)
    out_store = Store(store.buffer, store.indices,
                      _combine(op, left, Load(store.buffer, store.indices),
                               Load(acc, (ivc.var,))))
    combine = Block(fresh(f"{block}_combine", used),
                    (*(IterVar(fresh_iv[iv.var.name], iv.extent) for iv, _ in spatial), ivc),
                    (*(e for _, e in spatial), lc),
                    subst_stmt(out_store, rename), subst_stmt(b.init, rename))
    body: Stmt = Allocate(acc, seq(start, partial, *tree, For(lc, Const(1), combine)))
    for lp in reversed(spatial_loops):
        body = For(lp.var, lp.extent, body, lp.kind, lp.annotations)
    return replace_loop(f, top.var.name, body)


def _fold(acc: Buffer, op: str, left: bool, lanes: int, block: str,
          used: set[str]) -> list[Stmt]:
    """``acc[t] = acc[t] op acc[t + m]`` halving the live lanes until one is left."""
    steps: list[Stmt] = []
    n = lanes
    while n > 1:
        m = (n + 1) // 2
        t = Var(fresh(f"{block}_fold", used))
        iv = IterVar(Var(fresh(f"{block}_fold_lane", used)), Const(n - m))
        steps.append(For(t, Const(n - m), Block(
            fresh(f"{block}_fold", used), (iv,), (t,),
            Store(acc, (iv.var,), _combine(op, left, Load(acc, (iv.var,)),
                                           Load(acc, (iv.var + m,))))), "vectorized"))
        n = m
    return steps


def _enclosing_chain(f: PrimFunc, b: Block) -> tuple[list[For], For]:
    """The perfect loop nest directly around ``b`` (outermost first) and its top loop."""
    for s in walk_stmt(f.body):
        if isinstance(s, For):
            chain = loop_chain(s, "rfactor")
            if chain[-1].body is b:
                return chain, s
    raise ScheduleError("rfactor", f"block {b.name}", "the block is not the body of a perfect "
                        "loop nest", "rfactor blocks as lowered (loops, then the block)")
