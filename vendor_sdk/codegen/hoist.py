"""Layer constants kept on chip: loaded once per layer instead of once per tile.

Two costs dominated the exec unit of tensorized layers (SqueezeNet on a 16 x 16 array: 1.3 M of
4.5 M exec cycles): the accumulator fill with the bias, a LOAD of every tile row from DRAM
at 4 bytes per lane of a row even though each row is the same bias row (a broadcast), and the
requantization descriptors reloaded for every output tile. Both are constants of the
layer, so:

- requantization descriptors of the whole layer are loaded once, before its loops, when
  they fit the descriptor memory (else per output tile, as before);
- a broadcast fill (a staging copy into the accumulator whose source does not depend on
  the tile row) loads the source once into rows reserved at the top of the accumulator
  (above every tile of the layer) and fills each tile with the target's move intrinsic
  (``D = S``, found by its compute) reading the source row with row stride 0: one ALU
  instruction per row of channels at a row per cycle instead of a DMA of the whole tile.

The loads go to the emitter's prologue (C statements before the layer's loops); the
runtime orders them against earlier layers like any other instruction.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from core.tir.expr import Bin, Const, Expr, Load, binop
from core.tir.stmt import Buffer
from core.tir.visit import substitute
from vendor_sdk.codegen.cexpr import CodegenError, decide
from vendor_sdk.codegen.copies import Loops, names_of
from vendor_sdk.codegen.intrinsic_roles import find_move
from vendor_sdk.codegen.memories import load_rows_c, mem_c, memory_of
from vendor_sdk.codegen.sram import const_int
from vendor_sdk.target import Target

if TYPE_CHECKING:  # the emitter calls into this module
    from vendor_sdk.codegen.nest import NestEmitter

QP_ROWS_PER_DESCRIPTOR = 3  # mult row, shift row, one row of scalar lanes (docs/compile.md)


def descriptor_slots(target: Target, where: str) -> int:
    """How many requantization descriptors the target holds at once: its qp memory rows
    over the rows of one descriptor. The target declares no separate descriptor count,
    and the reference NPU's descriptor index field is sized to exactly this (isa.yaml:
    qp_idx max QP_ROWS // 3 - 1), so an index below it always encodes."""
    qp = memory_of(target, "param")
    rows = qp.rows
    if rows < QP_ROWS_PER_DESCRIPTOR:
        raise CodegenError(f"{where}: the target's param memory {qp.name} has {rows} rows, "
                           f"one "
                           f"requantization descriptor needs {QP_ROWS_PER_DESCRIPTOR}; "
                           f"hint: raise the rows of memory {qp.name} in target.yaml")
    return rows // QP_ROWS_PER_DESCRIPTOR


def emit_requant(em: NestEmitter, loops: Loops, lane: int, src: Load, channel: Expr,
                 name: str) -> None:
    """Requantize the acc rows a store copy reads into the out rows it will store."""
    rq = em.requant
    assert rq is not None
    rows = [k for k in range(len(loops)) if k != lane]
    if len(rows) != 1:
        raise CodegenError(f"copy {name}: requantization streams one row loop, "
                           f"the copy has {len(rows)}")
    rvar, rext = loops[rows[0]]
    lvar, lext = loops[lane]
    zero = {rvar.name: Const(0), lvar.name: Const(0)}
    out_idx = tuple(substitute(i, zero) for i in src.indices)
    lanes = em.sram.lanes(src.buffer.scope)  # channels per requantized row, per descriptor
    blocks = const_int(lext) // lanes
    stride = em.sram.stride_of(src, rvar)
    qp = memory_of(em.target, "param")
    desc_bytes = QP_ROWS_PER_DESCRIPTOR * qp.row_elems * 4
    slots = descriptor_slots(em.target, name)
    resident = 0 < rq.blocks <= slots
    if resident and qp.name not in em.sram.reserved:
        em.sram.reserved[qp.name] = rq.blocks * QP_ROWS_PER_DESCRIPTOR
        em.prologue += [f"/* requantization descriptors of every output channel, loaded "
                        f"once: {rq.blocks} */",
                        load_rows_c(em.target, qp.name, "0", rq.qp_dram,
                                    rq.blocks * QP_ROWS_PER_DESCRIPTOR)]
    em.out(f"/* requantize {name}: {blocks} x {lanes} channels */")
    blk0 = binop("//", substitute(channel, zero), Const(lanes))  # the tile's first block
    for b in range(blocks):
        blk = binop("+", blk0, Const(b))
        if not resident and b % slots == 0:  # the next group of descriptors that fits
            n = min(slots, blocks - b)
            em.out(load_rows_c(em.target, qp.name, "0",
                               f"{rq.qp_dram} + {em.c(blk)} * {desc_bytes}",
                               QP_ROWS_PER_DESCRIPTOR * n))
        i = (*out_idx[:-1], binop("+", out_idx[-1], Const(b * lanes)))
        xrow = em.sram.row(src.buffer, i)
        yrow = em.sram.row(src.buffer, i, em.sram.shadow[src.buffer.name], em.out_mem)
        views = {rq.x: (em.acc, xrow, stride), rq.y: (em.out_mem, yrow, stride)}
        desc = f"(uint32_t)({em.ct(blk)})" if resident else str(b % slots)
        em.render_call(rq.intrinsic, views, {p: desc for p in rq.descriptor}, rext, "", name)


def _hoisted_rows(em: NestEmitter, buf: Buffer, acc: str) -> int | None:
    """First reserved acc row of a whole int32 DRAM buffer loaded once, or None when it is
    not one contiguous run of rows in DRAM or does not fit above the layer's tiles."""
    if buf.name in em.sram.hoisted:
        return em.sram.hoisted[buf.name]
    if any(not isinstance(d, Const) for d in buf.shape) or buf.name not in em.dram:
        return None
    lead = math.prod(const_int(d) for d in buf.shape[:-1])
    if lead != 1 and const_int(buf.shape[-1]) > em.sram.lanes(acc):
        return None  # lane blocks outermost on chip, row-major in DRAM: not one run
    rows = em.sram.rows_of(buf, acc)
    base = em.sram.reserve(acc, rows)
    if base is None:
        return None
    em.sram.hoisted[buf.name] = base
    em.prologue += [f"/* {buf.name}: {rows} {acc} rows from row {base}, loaded once */",
                    load_rows_c(em.target, acc, str(base), em.dram[buf.name], rows)]
    return base


def _conjuncts(cond: Expr) -> list[Expr]:
    """``a and b and ...`` as [a, b, ...] (a guard with one pad value: the first failing
    conjunct pads exactly when the whole condition fails)."""
    if isinstance(cond, Bin) and cond.op == "and":
        return [*_conjuncts(cond.a), *_conjuncts(cond.b)]
    return [cond]


def emit_fill(em: NestEmitter, loops: Loops, lane: int, dst: Buffer, idx: tuple[Expr, ...],
              src: Load, guards: list[tuple[Expr, int]], pred: Expr | None, name: str) -> bool:
    """A broadcast staging copy into the accumulator as moves from hoisted rows; False
    (nothing emitted) when the copy is not one or the target cannot do it.

    Guards that depend on the tile row (the last tile of a non-divisible extent) are
    applied after the move, row by row, exactly as the copy would: only those rows
    get their pad values. A lane block failing a row-independent guard is copied row by
    row as before."""
    move = find_move(em.target)
    rows = [k for k in range(len(loops)) if k != lane]
    acc = dst.scope
    if move is None or em.sram.role_of(acc) != "accumulator" or src.buffer.dtype != dst.dtype \
            or len(rows) != 1:
        return False
    intrin, d_op, s_op = move
    rvar, rext = loops[rows[0]]
    sem = em.target.semantics[intrin]
    if sem.operands[d_op].scope != acc:  # a move elsewhere cannot fill this tile
        return False
    limit = min(a.max for a in sem.axes.values() if a.min != a.max)
    if any(rvar.name in names_of(e) for e in (*src.indices, *((pred,) if pred else ()))) \
            or not isinstance(rext, Const) or int(rext.value) > limit:
        return False
    try:
        stride = em.sram.stride_of(Load(dst, idx), rvar)
    except CodegenError:
        return False
    base = _hoisted_rows(em, src.buffer, acc)
    if base is None:
        return False
    # A padded tile of a layer partial in both rows and lanes has one guard ``row < M and
    # lane < N``: split into its conjuncts, the lane part skips lane blocks past the bias
    # (whose source rows were never loaded) instead of moving from past the reserved rows.
    guards = [(c, v) for cond, v in guards for c in _conjuncts(cond)]
    per_row = [g for g in guards if rvar.name in names_of(g[0])]
    whole = [c for c, _ in guards if rvar.name not in names_of(c)]
    lvar, lext = loops[lane]
    em.out(f"/* fill {name}: {src.buffer.name} ({acc} row {base}..) -> {dst.name}, "
           f"broadcast by {intrin} */")
    em.open_loop(lvar, lext)  # over row blocks (vendor_sdk.codegen.rows.by_blocks)
    if pred is not None and decide(pred, em.facts) is False:
        em.close_loop()
        return True
    guarded = pred is not None and decide(pred, em.facts) is None
    if guarded and pred is not None:
        em.open_block(f"if ({em.ct(pred)}) {{")
    whole = [c for c in whole if decide(c, em.facts) is not True]
    never = any(decide(c, em.facts) is False for c in whole)
    if whole and not never:
        em.open_block(f"if ({' && '.join(em.ct(c) for c in whole)}) {{")
    if not never:
        d_row = em.sram.row(dst, tuple(substitute(i, {rvar.name: Const(0)}) for i in idx))
        s_row = em.sram.row(src.buffer, src.indices, base, acc)
        em.render_call(intrin, {d_op: (acc, d_row, stride), s_op: (acc, s_row, 0)}, {},
                       int(rext.value), "", name)
        if per_row:
            em.open_loop(rvar, rext)
            for b in _pad_rows(em, mem_c(em.target, acc), em.sram.row(dst, idx), per_row):
                em.out(b)
            em.close_loop()
    if whole:
        if not never:
            em.else_block()
        em.open_loop(rvar, rext)
        for b in em.row_copy(mem_c(em.target, acc), em.sram.row(dst, idx), src, guards, 0,
                             None, scoped=not never or em.printed(2)):
            em.out(b)
        em.close_loop()
        if not never:
            em.close_blocks(1)
    if guarded:
        em.close_blocks(1)
    em.close_loop()
    return True


def _pad_rows(em: NestEmitter, mem: str, row: Expr, per_row: list[tuple[Expr, int]]
              ) -> list[str]:
    """C lines padding one filled row where its guards fail (the first failing guard's
    pad value); guards the loops decide are dropped or end the chain."""
    at = f"(uint32_t){em.c(row)}"
    body: list[str] = []
    for cond, value in reversed(per_row):
        truth = decide(cond, em.facts)
        pad = f"vsdk_pad_row(rt, {mem}, {at}, {value});"
        if truth is False:
            body = [pad]
        elif truth is None:
            body = ([f"if (!({em.ct(cond)})) {pad}"] if not body else
                    [f"if ({em.ct(cond)}) {{", *("    " + b for b in body), "} else {",
                     f"    {pad}", "}"])
    return body
