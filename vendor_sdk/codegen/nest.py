"""Tensorized PrimFunc -> C that builds the NPU's instruction stream.

The generic loop-nest emitter: loops become C loops (symbolic extents are C
arguments), each ``IntrinCall`` renders its intrinsic's ``emit`` snippet
(sandboxed Jinja, StrictUndefined) with SRAM rows and strides from the
layout below, and each staging copy (a loop nest around one copy block
between a global buffer and an on-chip scope) becomes one call per SRAM row
into the runtime, which merges rows into LOAD/STORE instructions.

Where each buffer sits on chip is the layer's SRAM plan (vendor_sdk.codegen.sram); the C
lines and intrinsic calls are written by vendor_sdk.codegen.cwriter. In DRAM a buffer is
row-major; its last axis is a multiple of a row's lanes L, so a row of lanes is L
consecutive elements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.schedule.common import used_names
from core.tir.expr import Const, Expr, Load, Var, binop
from core.tir.printer import expr_str
from core.tir.stmt import Allocate, Block, Buffer, For, IntrinCall, PrimFunc, Seq, Stmt, Store
from core.tir.visit import substitute
from core.types import itemsize
from vendor_sdk.codegen.cexpr import CodegenError, c_name, decide
from vendor_sdk.codegen.copies import (
    Loops,
    check_lanes,
    constants_first,
    copy_nest,
    split_value,
)
from vendor_sdk.codegen.cwriter import IntrinsicWriter
from vendor_sdk.codegen.hoist import emit_fill, emit_requant
from vendor_sdk.codegen.memories import mem_c, scope_of, widen_c
from vendor_sdk.codegen.rows import by_blocks, name_indices, sub_all
from vendor_sdk.codegen.sram import SramPlan
from vendor_sdk.target import Target


@dataclass(frozen=True, slots=True)
class Requant:
    """Replace the store of the int32 program output ``output`` by requantization
    (``intrinsic``, descriptors at DRAM ``qp_dram``, one per row of channels) into the
    out memory and a store of int8 rows to ``dram``."""

    output: str
    dram: str
    qp_dram: str
    intrinsic: str
    descriptor: tuple[str, ...]  # the intrinsic's descriptor params, declaration order
    x: str = "X"                 # its int32 input and int8 output operands
    y: str = "Y"
    blocks: int = 0              # descriptors in the table (0: unknown, loaded per tile)


class NestEmitter(IntrinsicWriter):
    def __init__(self, target: Target, dram: Mapping[str, str], sizes: Mapping[str, int],
                 requant: Requant | None = None, activations: Iterable[str] = ()) -> None:
        """``activations``: DRAM buffers earlier layers wrote (their loads wait for those
        layers' stores: vsdk_dram_fence)."""
        # The memories the emitter itself places things in, by role (never by name).
        self.acc = scope_of(target, "accumulator") if requant else ""
        self.out_mem = scope_of(target, "output") if requant else ""
        super().__init__(SramPlan(target, self.acc, self.out_mem))
        self.dram = dict(dram)
        self.sizes = dict(sizes)  # sample values of symbolic extents for checks
        self.requant = requant
        # Constants loaded once per layer (before its loops) into rows reserved at the top
        # of a memory, above every tile: see vendor_sdk.codegen.hoist.
        self.prologue: list[str] = []
        self.activations = frozenset(activations)

    def dram_addr(self, buf: Buffer, idx: tuple[Expr, ...], base: str | None = None,
                  esize: int | None = None) -> str:
        flat: Expr = Const(0)
        for d, i in zip(buf.shape, idx, strict=True):
            flat = binop("+", binop("*", flat, d), i)
        size = esize or itemsize(buf.dtype)
        where = base or self.dram.get(buf.name)
        if where is None:
            raise CodegenError(f"buffer '{buf.name}' has no DRAM address")
        offset = self.ct(binop("*", flat, Const(size)))  # bytes: the element size folded in
        if offset == "0":
            return f"(uint32_t)({where})"
        # a leading minus binds to the first term only: ``X - 16 * a + b`` is X + (-16a + b)
        sep = " - " if offset.startswith("-") else " + "
        return f"(uint32_t)({where}{sep}{offset.removeprefix('-')})"

    # ---- statements ----
    def emit(self, s: Stmt) -> None:
        match s:
            case Seq(stmts):
                for x in constants_first(stmts, self.activations):
                    self.emit(x)
            case Allocate(buf, body):
                saved = dict(self.sram.cursor)
                rows = self.sram.rows_of(buf)
                self.sram.allocate(buf, self.sram.shadowed(buf))
                shape = ", ".join(expr_str(d) for d in buf.shape)
                self.out(f"/* {buf.name}: {buf.dtype}[{shape}] in "
                         f"{buf.scope} rows {self.sram.base[buf.name][1]}..+{rows} */")
                self.emit(body)
                self.sram.cursor = saved
            case For() if (copy := copy_nest(s)) is not None:
                self.emit_copy(*copy)
            case For(var, extent, body, kind, _):
                self.open_loop(var, extent, f"  /* {kind} */" if kind != "serial" else "")
                self.emit(body)
                self.close_loop()
            case IntrinCall():
                self.emit_intrin(s)
            case _:
                raise CodegenError(f"statement {type(s).__name__} has no NPU form here "
                                   "(only loops, staging copies and intrinsic calls do)")

    # ---- staging copies ----
    def emit_copy(self, loops: list[tuple[Var, Expr]], blk: Block) -> None:
        env = {iv.var.name: b for iv, b in zip(blk.iters, blk.bindings, strict=True)}
        st = blk.body
        assert isinstance(st, Store)
        idx = tuple(substitute(i, env) for i in st.indices)
        value = substitute(st.value, env)
        pred = substitute(blk.predicate, env) if blk.predicate is not None else None
        if st.buffer.scope != "global":
            self._emit_load(loops, st.buffer, idx, value, pred, blk.name)
            return
        if not isinstance(value, Load) or value.buffer.scope == "global":
            raise CodegenError(f"copy {blk.name}: a store to DRAM must read one on-chip row")
        self._emit_store(loops, st.buffer, idx, value, pred, blk.name)

    def _lane_loop(self, loops: list[tuple[Var, Expr]], idx: Expr, lanes: int,
                   what: str) -> int:
        pos = next((k for k, (v, _) in enumerate(loops) if idx == v), None)
        ext = loops[pos][1] if pos is not None else None
        if pos is None or not isinstance(ext, Const) or int(ext.value) % lanes:
            raise CodegenError(f"{what}: the lane axis must be a loop over a multiple of "
                               f"{lanes} elements")
        return pos

    def _open_rows(self, loops: Loops, lane: int) -> bool:
        """C loops over rows (``loops`` with the lane loop over blocks of a row, see
        :func:`by_blocks`): the lane loop outermost (SRAM order). Whether one is a C loop
        (a block of this copy's own)."""
        for k in [lane] + [k for k in range(len(loops)) if k != lane]:
            self.open_loop(*loops[k])
        return self.printed(len(loops))

    def _close_rows(self, loops: Loops) -> None:
        for _ in loops:
            self.close_loop()

    def _check_lanes(self, loops: Loops, lane: int, exprs: list[Expr], last: Expr,
                     lanes: int, what: str) -> None:
        check_lanes(self.loops, loops, lane, exprs, last, self.sizes, lanes, what)

    def _emit_load(self, loops: list[tuple[Var, Expr]], dst: Buffer, idx: tuple[Expr, ...],
                   value: Expr, pred: Expr | None, name: str) -> None:
        mem = dst.scope
        lanes = self.sram.lanes(mem)
        lane = self._lane_loop(loops, idx[-1], lanes, f"copy {name}")
        guards, src, pad = split_value(value, name)
        acc = self.sram.role_of(mem) == "accumulator"
        widen = src is not None and acc and src.buffer.dtype == "int8"  # sign-extending load
        self.out(f"/* stage {name}: {src.buffer.name if src else 'constant'} -> "
                 f"{dst.name} ({dst.scope}) */")
        if src is not None:
            self._check_lanes(loops, lane, [*src.indices[:-1], *(c for c, _ in guards),
                                            *((pred,) if pred is not None else ())],
                              src.indices[-1], lanes, f"copy {name}")
        loops, env = by_blocks(loops, lane, lanes)
        idx, guards = sub_all(idx, env), [(substitute(c, env), v) for c, v in guards]
        src = Load(src.buffer, sub_all(src.indices, env)) if src is not None else None
        pred = substitute(pred, env) if pred is not None else None
        if src is not None and acc and not widen and emit_fill(self, loops, lane, dst, idx, src,
                                                               guards, pred, name):
            return
        mem_id = widen_c(self.target, mem) if widen else mem_c(self.target, mem)
        if src is not None and src.buffer.name in self.activations:
            self.out(f"vsdk_dram_fence(rt, {mem_id});")
        scoped = self._open_rows(loops, lane)
        for b in self.row_copy(mem_id, self.sram.row(dst, idx), src, guards, pad, pred,
                               scoped):
            self.out(b)
        self._close_rows(loops)

    def row_copy(self, mem_id: str, row: Expr, src: Load | None,
                 guards: list[tuple[Expr, int]], pad: int, pred: Expr | None,
                 scoped: bool) -> list[str]:
        """C lines staging one SRAM row: the source row, or the pad value of the first
        failing guard; nothing when ``pred`` fails. Guards the enclosing loops decide are
        dropped (always true) or end the chain (always false: that pad value); source
        indices used by a guard and by the address are named once (``iy``, ``ix``), in a
        block of their own unless ``scoped`` (the lines go in a block of this copy's)."""
        at = f"(uint32_t){self.c(row)}"
        if pred is not None and decide(pred, self.facts) is False:
            return []
        kept: list[tuple[Expr, int]] = []
        for cond, value in guards:
            truth = decide(cond, self.facts)
            if truth is False:  # the earlier guards, then always this pad value
                src, pad = None, value
                break
            if truth is None:
                kept.append((cond, value))
        named: list[str] = []
        if src is not None:
            src, kept, named = name_indices(self, src, kept)
            body = [f"vsdk_load_row(rt, {mem_id}, {at}, "
                    f"{self.dram_addr(src.buffer, src.indices)});"]
        else:
            body = [f"vsdk_pad_row(rt, {mem_id}, {at}, {pad});"]
        for cond, value in reversed(kept):  # innermost guard last in, first out
            body = [f"if ({self.ct(cond)}) {{", *("    " + x for x in body), "} else {",
                    f"    vsdk_pad_row(rt, {mem_id}, {at}, {value});", "}"]
        if named:
            body = named + body if scoped else ["{", *("    " + b for b in named + body), "}"]
        if pred is not None and decide(pred, self.facts) is None:
            body = [f"if ({self.ct(pred)}) {{", *("    " + b for b in body), "}"]
        return body

    def _emit_store(self, loops: list[tuple[Var, Expr]], dst: Buffer, idx: tuple[Expr, ...],
                    src: Load, pred: Expr | None, name: str) -> None:
        lanes = self.sram.lanes(src.buffer.scope)
        lane = self._lane_loop(loops, src.indices[-1], lanes, f"copy {name}")
        self._check_lanes(loops, lane, [*idx[:-1], *((pred,) if pred is not None else ())],
                          idx[-1], lanes, f"copy {name}")
        rq = self.requant if self.requant and dst.name == self.requant.output else None
        mem, base, esize, where = src.buffer.scope, None, None, None
        if rq is not None:
            emit_requant(self, loops, lane, src, idx[-1], name)
            mem, base, esize, where = self.out_mem, self.sram.shadow[src.buffer.name], 1, rq.dram
        self.out(f"/* store {name}: {src.buffer.name} ({mem}) -> {dst.name} */")
        loops, env = by_blocks(loops, lane, lanes)
        src, idx = Load(src.buffer, sub_all(src.indices, env)), sub_all(idx, env)
        pred = substitute(pred, env) if pred is not None else None
        self._open_rows(loops, lane)
        if pred is None or decide(pred, self.facts) is not False:
            row = self.c(self.sram.row(src.buffer, src.indices, base, mem))
            call = (f"vsdk_store_row(rt, {mem_c(self.target, mem)}, (uint32_t){row}, "
                    f"{self.dram_addr(dst, idx, where, esize)});")
            guarded = pred is not None and decide(pred, self.facts) is None
            self.out(f"if ({self.ct(pred)}) {call}" if guarded and pred is not None else call)
        self._close_rows(loops)

    # ---- intrinsic calls ----
    def emit_intrin(self, call: IntrinCall) -> None:
        payload = dict(call.intrin.payload)
        name, variant = str(payload["intrinsic"]), str(payload["variant"])
        sem = self.target.semantics[name]
        streamed = {a.name for a in sem.axes.values() if a.min != a.max}
        names = [p.name for p in call.intrin.desc.params]
        views: dict[str, tuple[str, Expr, int]] = {}
        iters: Expr | None = None
        for n, reg in zip(names, call.args, strict=True):
            shape = sem.operands[n].shape
            buf = reg.buffer
            if buf.scope == "global":
                raise CodegenError(f"{name}: operand {n} is not staged on chip")
            row = self.sram.row(buf, tuple(reg.starts))
            dims = range(buf.rank - len(shape), buf.rank)
            stride = 0
            for d, axis in zip(dims, shape, strict=True):
                if axis in streamed and d < buf.rank - 1:
                    stride, iters = self.sram.row_stride(buf, d), reg.extents[d]
            views[n] = (buf.scope, row, stride)
        self.render_call(name, views, {}, iters if iters is not None else 1, variant,
                         call.intrin.name)


def emit_prim_func(f: PrimFunc, target: Target, dram: Mapping[str, str],
                   sizes: Mapping[str, int], requant: Requant | None = None,
                   activations: Iterable[str] = ()) -> list[str]:
    """C statements (in a function with ``vsdk_rt *rt`` and the size variables)."""
    em = NestEmitter(target, dram, sizes, requant, activations)
    em.invariants.taken.update(c_name(n) for n in used_names(f))
    em.sram.plan(f.body)
    em.emit(f.body)
    em.out("vsdk_flush(rt);")
    return [f"    {ln}" for ln in em.prologue] + em.lines
