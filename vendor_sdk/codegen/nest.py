"""Tensorized PrimFunc -> C that builds the NPU's instruction stream.

The generic loop-nest emitter: loops become C loops (symbolic extents are C
arguments), each ``IntrinCall`` renders its intrinsic's ``emit`` snippet
(sandboxed Jinja, StrictUndefined) with SRAM rows and strides from the
layout below, and each staging copy (a loop nest around one copy block
between a global buffer and an on-chip scope) becomes one call per SRAM row
into the runtime, which merges rows into LOAD/STORE instructions.

Layouts (docs/compile.md):
- on chip, a buffer of shape ``(d0, ..., dn)`` occupies rows of its memory's
  ``row_elems`` lanes (L), lane blocks outermost: element ``(i0..in)`` is in row
  ``base + (in // L) * R + flat(i0..i(n-1))`` (``R = d0*...*d(n-1)``), lane
  ``in % L``; so every L-wide slice of the last axis over a run of leading
  indices is a run of rows, which is what an instruction streams;
- in DRAM, a buffer is row-major; its last axis is a multiple of L, so a
  row of lanes is L consecutive elements.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jinja2 import meta

from core.tir.expr import Const, Expr, Load, Var, binop
from core.tir.printer import expr_str
from core.tir.stmt import Allocate, Block, Buffer, For, IntrinCall, PrimFunc, Seq, Stmt, Store
from core.tir.visit import substitute
from core.types import itemsize
from vendor_sdk.codegen.cexpr import CodegenError, c_expr, c_name
from vendor_sdk.codegen.copies import (
    Loops,
    check_lanes,
    constants_first,
    copy_nest,
    is_var_plus,
    names_of,
    split_value,
)
from vendor_sdk.codegen.hoist import emit_fill, emit_requant
from vendor_sdk.codegen.memories import mem_c, scope_of, widen_c
from vendor_sdk.target.templates import OperandView, environment


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


class NestEmitter:
    def __init__(self, target: object, dram: Mapping[str, str], sizes: Mapping[str, int],
                 requant: Requant | None = None, activations: Iterable[str] = ()) -> None:
        """``activations``: DRAM buffers earlier layers wrote (their loads wait for those
        layers' stores: vsdk_dram_fence)."""
        self.target = target
        self.dram = dict(dram)
        self.sizes = dict(sizes)  # sample values of symbolic extents for checks
        self.requant = requant
        self.lines: list[str] = []
        self.cursor: dict[str, int] = {}
        self.base: dict[str, tuple[str, int]] = {}
        self.shadow: dict[str, int] = {}  # acc buffer -> first out row of its requant copy
        self.loops: list[tuple[Var, Expr]] = []
        self.env = environment()
        # Constants loaded once per layer (before its loops) into rows reserved at the top
        # of a memory, above every tile: see vendor_sdk.codegen.hoist.
        self.prologue: list[str] = []
        self.reserved: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.hoisted: dict[str, int] = {}  # DRAM buffer -> its first reserved row
        self.activations = frozenset(activations)
        # The memories the emitter itself places things in, by role (never by name).
        self.acc = scope_of(target, "accumulator") if requant else ""
        self.out_mem = scope_of(target, "output") if requant else ""

    # ---- layout ----
    def lanes(self, scope: str) -> int:
        """Lanes of a row of memory ``scope`` (its declared ``row_elems``)."""
        mem = self.target.memories.get(scope)  # type: ignore[attr-defined]
        if mem is None:
            raise CodegenError(f"scope '{scope}' is not a memory of target "
                               f"{getattr(self.target, 'name', '?')}")
        return int(mem.row_elems)

    def alignment(self, scope: str) -> int:
        """Rows a tile of ``scope`` starts at a multiple of: a row of lanes, and in a weight
        memory a whole weight tile too (intrinsics address it by tile index = row / rows
        of a tile, e.g. k rows of n lanes or n rows of k)."""
        align = self.lanes(scope)
        if self.role_of(scope) == "weight":
            for sem in self.target.semantics.values():  # type: ignore[attr-defined]
                for op in sem.operands.values():
                    if op.scope == scope and op.shape:
                        align = math.lcm(align, math.prod(sem.axes[a].max
                                                          for a in op.shape[:-1]))
        return align

    def rows_of(self, buf: Buffer, scope: str = "") -> int:
        """Rows ``buf`` occupies in its memory (or in ``scope``: a DRAM buffer staged)."""
        lead = math.prod(int(d.value) for d in buf.shape[:-1])  # type: ignore[union-attr]
        last = int(buf.shape[-1].value)  # type: ignore[union-attr]
        return lead * -(-last // self.lanes(scope or buf.scope))

    def allocate(self, buf: Buffer, shadow: bool = False) -> int:
        """Rows for an on-chip buffer (and, with ``shadow``, the out rows its requantized
        copy goes to); returns its first row."""
        rows = self.rows_of(buf)
        self.base[buf.name] = (buf.scope, self._alloc(buf.scope, rows, buf.name))
        if shadow:
            self.shadow[buf.name] = self._alloc(self.out_mem, self.rows_of(buf, self.out_mem),
                                                f"{buf.name} (requantized)")
        return self.base[buf.name][1]

    def open_loop(self, var: Var, extent: Expr, note: str = "") -> None:
        v = c_name(var.name)
        self.out(f"for (int64_t {v} = 0; {v} < {c_expr(extent)}; {v}++) {{{note}")
        self.loops.append((var, extent))

    def close_loop(self) -> None:
        self.loops.pop()
        self.out("}")

    def role_of(self, scope: str) -> str:
        mem = self.target.memories.get(scope)  # type: ignore[attr-defined]
        return mem.role if mem is not None else ""

    def _alloc(self, scope: str, rows: int, what: str) -> int:
        mems = self.target.memories  # type: ignore[attr-defined]
        align = self.alignment(scope)
        start = -(-self.cursor.get(scope, 0) // align) * align
        free = mems[scope].rows - self.reserved.get(scope, 0)
        if start + rows > free:
            raise CodegenError(f"{what}: {rows} rows of '{scope}' from row {start} exceed its "
                               f"{free} free rows")
        self.cursor[scope] = start + rows
        self.peak[scope] = max(self.peak.get(scope, 0), start + rows)
        return start

    def plan(self, s: Stmt) -> None:
        """Peak rows per memory of the program's buffers, before emitting it (so rows
        reserved for hoisted constants never meet a tile allocated later)."""
        saved = (dict(self.cursor), dict(self.base), dict(self.shadow))
        self._walk_allocs(s)
        self.cursor, self.base, self.shadow = saved

    def _walk_allocs(self, s: Stmt) -> None:
        match s:
            case Seq(stmts):
                for x in stmts:
                    self._walk_allocs(x)
            case Allocate(buf, body):
                saved = dict(self.cursor)
                self.allocate(buf, self.requant is not None and buf.scope == self.acc)
                self._walk_allocs(body)
                self.cursor = saved
            case For(_, _, body, _, _):
                self._walk_allocs(body)

    def reserve(self, scope: str, rows: int) -> int | None:
        """``rows`` at the top of ``scope`` for the rest of the layer, or None when they
        would overlap the layer's tiles."""
        top = self.target.memories[scope].rows - self.reserved.get(scope, 0)  # type: ignore[attr-defined]
        if top - rows < self.peak.get(scope, 0):
            return None
        self.reserved[scope] = self.reserved.get(scope, 0) + rows
        return top - rows

    def sram_row(self, buf: Buffer, idx: tuple[Expr, ...], base: int | None = None,
                 scope: str = "") -> Expr:
        """The row of element ``idx`` of ``buf`` (placed at ``base`` in memory ``scope``
        when given: a DRAM buffer hoisted, or a requantized copy)."""
        if base is None:
            base = self.base[buf.name][1]
        lead = Const(0)
        for d, i in zip(buf.shape[:-1], idx[:-1], strict=True):
            lead = binop("+", binop("*", lead, d), i)
        total = math.prod(int(d.value) for d in buf.shape[:-1])  # type: ignore[union-attr]
        blk = binop("//", idx[-1], Const(self.lanes(scope or buf.scope)))
        return binop("+", Const(base), binop("+", binop("*", blk, Const(total)), lead))

    def row_stride(self, buf: Buffer, dim: int) -> int:
        return math.prod(int(d.value) for d in buf.shape[dim + 1:-1])  # type: ignore[union-attr]

    def dram_addr(self, buf: Buffer, idx: tuple[Expr, ...], base: str | None = None,
                  esize: int | None = None) -> str:
        flat: Expr = Const(0)
        for d, i in zip(buf.shape, idx, strict=True):
            flat = binop("+", binop("*", flat, d), i)
        size = esize or itemsize(buf.dtype)
        where = base or self.dram.get(buf.name)
        if where is None:
            raise CodegenError(f"buffer '{buf.name}' has no DRAM address")
        return f"(uint32_t)({where} + {size} * {c_expr(flat)})"

    # ---- statements ----
    def out(self, text: str) -> None:
        pad = "    " * (len(self.loops) + 1)
        self.lines.extend(pad + ln if ln else ln for ln in text.split("\n"))

    def open_rows(self, opened: list[str]) -> None:
        """Open C blocks (row loops, guards) that indent what follows."""
        for ln in opened:
            self.out(ln)
            self.loops.append((Var("_"), Const(1)))

    def close_rows(self, n: int) -> None:
        for _ in range(n):
            self.loops.pop()
            self.out("}")

    def emit(self, s: Stmt) -> None:
        match s:
            case Seq(stmts):
                for x in constants_first(stmts, self.activations):
                    self.emit(x)
            case Allocate(buf, body):
                saved = dict(self.cursor)
                rows = self.rows_of(buf)
                self.allocate(buf, self.requant is not None and buf.scope == self.acc)
                shape = ", ".join(expr_str(d) for d in buf.shape)
                self.out(f"/* {buf.name}: {buf.dtype}[{shape}] in "
                         f"{buf.scope} rows {self.base[buf.name][1]}..+{rows} */")
                self.emit(body)
                self.cursor = saved
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

    def _row_loops(self, loops: list[tuple[Var, Expr]], lane: int, lanes: int) -> list[str]:
        """C loops over rows: the lane loop outermost in steps of a row (SRAM order)."""
        order = [lane] + [k for k in range(len(loops)) if k != lane]
        opened = []
        for k in order:
            var, ext = loops[k]
            v = c_name(var.name)
            step = f"{v} += {lanes}" if k == lane else f"{v}++"
            opened.append(f"for (int64_t {v} = 0; {v} < {c_expr(ext)}; {step}) {{")
        return opened

    def _check_lanes(self, loops: Loops, lane: int, exprs: list[Expr], last: Expr,
                     lanes: int, what: str) -> None:
        check_lanes(self.loops, loops, lane, exprs, last, self.sizes, lanes, what)

    def _emit_load(self, loops: list[tuple[Var, Expr]], dst: Buffer, idx: tuple[Expr, ...],
                   value: Expr, pred: Expr | None, name: str) -> None:
        mem = dst.scope
        lanes = self.lanes(mem)
        lane = self._lane_loop(loops, idx[-1], lanes, f"copy {name}")
        guards, src, pad = split_value(value, name)
        acc = self.role_of(mem) == "accumulator"
        widen = src is not None and acc and src.buffer.dtype == "int8"  # sign-extending load
        self.out(f"/* stage {name}: {src.buffer.name if src else 'constant'} -> "
                 f"{dst.name} ({dst.scope}) */")
        if src is not None:
            self._check_lanes(loops, lane, [*src.indices[:-1], *(c for c, _ in guards),
                                            *((pred,) if pred is not None else ())],
                              src.indices[-1], lanes, f"copy {name}")
            if acc and not widen and emit_fill(self, loops, lane, dst, idx, src, guards, pred,
                                               name):
                return
        mem_id = widen_c(self.target, mem) if widen else mem_c(self.target, mem)
        if src is not None and src.buffer.name in self.activations:
            self.out(f"vsdk_dram_fence(rt, {mem_id});")
        opened = self._row_loops(loops, lane, lanes)
        self.open_rows(opened)
        body = self.row_copy(mem_id, c_expr(self.sram_row(dst, idx)), src, guards, pad, pred)
        for b in body:
            self.out(b)
        self.close_rows(len(opened))

    def row_copy(self, mem_id: str, row: str, src: Load | None, guards: list[tuple[Expr, int]],
                 pad: int, pred: Expr | None) -> list[str]:
        """C lines staging one SRAM row: the source row, or the pad value of the first
        failing guard; nothing when ``pred`` fails."""
        if src is not None:
            body = [f"vsdk_load_row(rt, {mem_id}, (uint32_t){row}, "
                    f"{self.dram_addr(src.buffer, src.indices)});"]
            for cond, value in reversed(guards):  # innermost guard last in, first out
                body = [f"if ({c_expr(cond)}) {{", *("    " + x for x in body), "} else {",
                        f"    vsdk_pad_row(rt, {mem_id}, (uint32_t){row}, {value});", "}"]
        else:
            body = [f"vsdk_pad_row(rt, {mem_id}, (uint32_t){row}, {pad});"]
        if pred is not None:
            body = [f"if ({c_expr(pred)}) {{", *("    " + b for b in body), "}"]
        return body

    def _emit_store(self, loops: list[tuple[Var, Expr]], dst: Buffer, idx: tuple[Expr, ...],
                    src: Load, pred: Expr | None, name: str) -> None:
        lanes = self.lanes(src.buffer.scope)
        lane = self._lane_loop(loops, src.indices[-1], lanes, f"copy {name}")
        self._check_lanes(loops, lane, [*idx[:-1], *((pred,) if pred is not None else ())],
                          idx[-1], lanes, f"copy {name}")
        rq = self.requant if self.requant and dst.name == self.requant.output else None
        mem, base, esize, where = src.buffer.scope, None, None, None
        if rq is not None:
            emit_requant(self, loops, lane, src, idx[-1], name)
            mem, base, esize, where = self.out_mem, self.shadow[src.buffer.name], 1, rq.dram
        self.out(f"/* store {name}: {src.buffer.name} ({mem}) -> {dst.name} */")
        opened = self._row_loops(loops, lane, lanes)
        self.open_rows(opened)
        row = c_expr(self.sram_row(src.buffer, src.indices, base, mem))
        call = (f"vsdk_store_row(rt, {mem_c(self.target, mem)}, (uint32_t){row}, "
                f"{self.dram_addr(dst, idx, where, esize)});")
        self.out(f"if ({c_expr(pred)}) {call}" if pred is not None else call)
        self.close_rows(len(opened))

    def stride_of(self, ld: Load, var: Var) -> int:
        dims = [d for d, i in enumerate(ld.indices[:-1]) if var.name in names_of(i)]
        if len(dims) != 1 or (ld.indices[dims[0]] != var and not is_var_plus(
                ld.indices[dims[0]], var)):
            raise CodegenError(f"{ld.buffer.name}: rows are not a unit-stride run of one axis")
        return self.row_stride(ld.buffer, dims[0])

    # ---- intrinsic calls ----
    def emit_intrin(self, call: IntrinCall) -> None:
        payload = dict(call.intrin.payload)
        name, variant = str(payload["intrinsic"]), str(payload["variant"])
        sem = self.target.semantics[name]  # type: ignore[attr-defined]
        streamed = {a.name for a in sem.axes.values() if a.min != a.max}
        names = [p.name for p in call.intrin.desc.params]
        views: dict[str, tuple[str, str, int]] = {}
        iters: Expr | None = None
        for n, reg in zip(names, call.args, strict=True):
            shape = sem.operands[n].shape
            buf = reg.buffer
            if buf.scope == "global":
                raise CodegenError(f"{name}: operand {n} is not staged on chip")
            row = c_expr(self.sram_row(buf, tuple(reg.starts)))
            dims = range(buf.rank - len(shape), buf.rank)
            stride = 0
            for d, axis in zip(dims, shape, strict=True):
                if axis in streamed and d < buf.rank - 1:
                    stride, iters = self.row_stride(buf, d), reg.extents[d]
            views[n] = (buf.scope, row, stride)
        self.render_call(name, views, {}, c_expr(iters) if iters is not None else "1", variant,
                     call.intrin.name)

    def render_call(self, name: str, views: Mapping[str, tuple[str, str, int]],
                fixed: Mapping[str, OperandView | str], iters: str, variant: str,
                what: str) -> None:
        """Render one intrinsic call: ``views`` are on-chip operands (scope, first row,
        row stride), ``fixed`` descriptor indices (str) or immediates (OperandView)."""
        sem = self.target.semantics[name]  # type: ignore[attr-defined]
        spec = self.target.spec.intrinsics[name]  # type: ignore[attr-defined]
        ctx: dict[str, object] = {"ctx": "vsdk_ctx(rt)", "deps": "deps", "variant": variant,
                                  "iter_out": f"(uint32_t)({iters})", "iter_in": "1",
                                  "params": dict(self.target.params)}  # type: ignore[attr-defined]
        access = []
        for n, op in sem.operands.items():
            if n in fixed:
                f = fixed[n]
                ctx[n] = f if isinstance(f, OperandView) else OperandView(f, f, "0", "0", "0")
                continue
            if n not in views:
                raise CodegenError(f"{what}: operand {n} of {name} has no value here")
            scope, row, stride = views[n]
            if scope != op.scope:  # e.g. an accumulator tile handed to an operand elsewhere
                raise CodegenError(f"{what}: {name} declares operand {n} in memory "
                                   f"'{op.scope}', the code generator placed it in '{scope}' "
                                   f"(its {self.role_of(scope) or 'unknown'} memory); hint: "
                                   "declare the operand in the memory of that role")
            # a weight operand is a whole tile: its rows are the product of its leading
            # axes (tile index = row / that), e.g. k rows of n lanes, or n rows of k
            weight = self.role_of(scope) == "weight"
            tile = math.prod(sem.axes[a].max for a in op.shape[:-1]) if weight else 1
            rows = f"(({iters}) - 1) * {stride} + 1" if stride else str(tile)
            per = tile if weight else self.lanes(scope)
            ctx[n] = OperandView(f"(uint32_t)({row})", f"(uint32_t)(({row}) / {per})",
                                 str(stride), "0", "0")
            rd, wr = int(op.kind in ("input", "inout")), int(op.kind in ("output", "inout"))
            access.append(f"{{{mem_c(self.target, scope)}, (uint32_t)({row}), (uint32_t)({rows}), "
                          f"{rd}, {wr}}}")
        try:
            snippet = _compiled(self.env, spec.emit).render(ctx).strip()
        except Exception as e:  # a vendor snippet: name it, with the template's own message
            raise CodegenError(f"{name}: emit snippet does not render: {e}") from None
        self.out(f"{{ /* {what} */")
        self.out(f"    const vsdk_access acc_[{len(access)}] = {{{', '.join(access)}}};")
        self.out("    vsdk_flush(rt);")
        # a snippet that orders itself (an in-order machine's) takes no dependency word
        deps = "uint32_t deps = " if _uses(self.env, spec.emit, "deps") else "(void)"
        self.out(f"    {deps}vsdk_exec(rt, {len(access)}, acc_);")
        self.out("    const uint32_t mark_ = vsdk_mark(rt);")
        self.out(f"    {snippet}")
        self.out("    vsdk_check(rt, mark_);")
        self.out("}")


@functools.lru_cache(maxsize=512)
def _uses(env: object, text: str, name: str) -> bool:
    """Whether an emit snippet reads the variable ``name``."""
    return name in meta.find_undeclared_variables(env.parse(text))  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=512)
def _compiled(env: object, text: str) -> object:
    """An intrinsic's emit snippet compiled once per environment (a layer renders the
    same few snippets hundreds of times)."""
    return env.from_string(text)  # type: ignore[attr-defined]


def emit_prim_func(f: PrimFunc, target: object, dram: Mapping[str, str],
                   sizes: Mapping[str, int], requant: Requant | None = None,
                   activations: Iterable[str] = ()) -> list[str]:
    """C statements (in a function with ``vsdk_rt *rt`` and the size variables)."""
    em = NestEmitter(target, dram, sizes, requant, activations)
    em.plan(f.body)
    em.emit(f.body)
    em.out("vsdk_flush(rt);")
    return [f"    {ln}" for ln in em.prologue] + em.lines
