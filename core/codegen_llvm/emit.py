"""PrimFuncs as LLVM functions: one function per PrimFunc, loops as canonical loops.

Signature: ``void f(ptr noalias p0, ..., ptr noalias pN, i64 size0, ...)`` —
buffers in parameter order (destination-passing, outputs last), then the
size variables in order of first appearance in the parameter shapes
(:func:`core.tir.verify.size_vars`). Loops count an i64 from 0 with a
non-wrapping increment and a body that indexes buffers through one flat
``getelementptr inbounds``, which is the shape LLVM's vectoriser and
unroller recognise.

Blocks compile as their loop nests. A reduction block whose reduce loops are
innermost (what ``core.lower`` produces) runs its ``init`` once before those
loops rather than testing "all reduce indices are 0" on every iteration: the
same order of effects, and a loop body without control flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llvmlite import ir

from core.codegen_llvm import vector
from core.codegen_llvm.dtypes import I1, I64, PTR, byte_size, memory_type
from core.codegen_llvm.error import CodegenError
from core.codegen_llvm.expr import BufferRef, ExprEmitter
from core.tir.expr import Const, Var
from core.tir.printer import region_str
from core.tir.stmt import Allocate, Block, Buffer, For, IntrinCall, PrimFunc, Seq, Stmt, Store
from core.tir.verify import size_vars
from core.tir.visit import free_vars

# Scratch buffers up to this size live on the stack; larger or symbolic ones on the heap.
STACK_LIMIT = 64 * 1024
ALIGN = 64


@dataclass(frozen=True)
class Signature:
    """How to call the emitted function: buffers, then i64 sizes by name."""

    symbol: str
    params: tuple[Buffer, ...]
    sizes: tuple[str, ...]


def emit_function(f: PrimFunc, module: ir.Module, symbol: str) -> Signature:
    """Add ``f`` to ``module`` as function ``symbol``."""
    sig = Signature(symbol, f.params, tuple(size_vars(f)))
    _FuncEmitter(f, module, sig).run()
    return sig


class _FuncEmitter:
    def __init__(self, f: PrimFunc, module: ir.Module, sig: Signature) -> None:
        self.f = f
        fnty = ir.FunctionType(ir.VoidType(), [PTR] * len(sig.params) + [I64] * len(sig.sizes))
        self.fn = ir.Function(module, fnty, sig.symbol)
        self.fn.attributes.add("nounwind")
        for arg, p in zip(self.fn.args, sig.params, strict=False):
            arg.name = p.name
            # The call wrapper refuses outputs that overlap any other argument.
            arg.add_attribute("noalias")
        self.entry = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.b = ir.IRBuilder(self.fn.append_basic_block("body"))
        self.env: dict[str, ir.Value] = {}
        for arg, name in zip(self.fn.args[len(sig.params):], sig.sizes, strict=True):
            arg.name = name
            self.env[name] = arg
        self.buffers: dict[str, BufferRef] = {}
        self.expr = ExprEmitter(self.b, self.env, self.buffers)
        for arg, p in zip(self.fn.args, sig.params, strict=False):
            self.buffers[p.name] = BufferRef(p, arg, tuple(self.expr(d) for d in p.shape))

    def run(self) -> None:
        self.stmt(self.f.body)
        self.b.ret_void()
        # Allocas were collected in the entry block; it falls through to the body last.
        self.entry.branch(self.fn.blocks[1])

    def stmt(self, s: Stmt) -> None:
        match s:
            case Seq(stmts):
                for x in stmts:
                    self.stmt(x)
            case For():
                self.for_(s)
            case Block():
                self.block(s)
            case Store(buf, idx, value):
                v = self.expr.store_value(self.expr(value), buf.dtype)
                self.b.store(v, self.expr.address(buf, idx), align=byte_size(buf.dtype))
            case Allocate():
                self.allocate(s)
            case IntrinCall(intrin, args):
                regions = ", ".join(region_str(r) for r in args)
                raise CodegenError(
                    f"{self.f.name}: the program still contains an NPU intrinsic call "
                    f"{intrin.name}({regions}); host code cannot run it — NPU regions go "
                    "through the vendor's C code generator, not core.codegen_llvm")
            case _:
                raise CodegenError(f"{self.f.name}: cannot compile {type(s).__name__}")

    # -- loops ----------------------------------------------------------------------------

    def loop(self, var: Var, extent: ir.Value, body: Callable[[], None]) -> None:
        B = self.b
        pre = B.block
        head = B.append_basic_block(f"{var.name}.head")
        inner = B.append_basic_block(f"{var.name}.body")
        done = B.append_basic_block(f"{var.name}.done")
        B.branch(head)
        B.position_at_end(head)
        i = B.phi(I64, var.name)
        i.add_incoming(ir.Constant(I64, 0), pre)
        B.cbranch(B.icmp_signed("<", i, extent), inner, done)
        B.position_at_end(inner)
        self.env[var.name] = i
        body()
        # i < extent <= INT64_MAX, so the increment cannot wrap.
        nxt = B.add(i, ir.Constant(I64, 1), flags=("nuw", "nsw"))
        i.add_incoming(nxt, B.block)
        B.branch(head)
        B.position_at_end(done)
        del self.env[var.name]

    def for_(self, s: For) -> None:
        chain = _reduce_chain(s)
        if chain is not None:
            self.reduction(*chain)
            return
        if s.kind == "vectorized" and isinstance(s.extent, Const) \
                and 1 < s.extent.value <= vector.MAX_WIDTH:
            try:
                stores: tuple[Store, ...] | None = vector.vectorizable(s.body, s.var.name)
            except vector.NotVectorizable:
                stores = None  # unrolled scalar copies below: the same results
            if stores is not None:
                ve = vector.VectorEmitter(self.expr, s.var.name, int(s.extent.value))
                for st in stores:
                    ve.store(st)
                return
        if s.kind in ("unrolled", "vectorized") and isinstance(s.extent, Const):
            # One copy per iteration with the variable a constant: register blocking only
            # works if LLVM sees the copies' accumulators as distinct scalars early.
            for i in range(int(s.extent.value)):
                self.env[s.var.name] = ir.Constant(I64, i)
                self.stmt(s.body)
            self.env.pop(s.var.name, None)
            return
        self.loop(s.var, self.expr(s.extent), lambda: self.stmt(s.body))

    def reduction(self, loops: list[For], blk: Block) -> None:
        """Innermost reduce loops of ``blk``: init once before them, then the plain body."""
        assert blk.init is not None
        for iv, binding in zip(blk.iters, blk.bindings, strict=True):
            if iv.kind == "spatial":
                self.env[iv.var.name] = self.expr(binding)
        extents = [self.expr(f.extent) for f in loops]
        nonempty: ir.Value = ir.Constant(I1, 1)
        for e in extents:  # the conditional form never runs init for an empty reduction
            nonempty = self.b.and_(nonempty, self.b.icmp_signed(">", e, ir.Constant(I64, 0)))
        reduce_of = {b.name: iv.var.name for iv, b in zip(blk.iters, blk.bindings, strict=True)
                     if iv.kind == "reduce" and isinstance(b, Var)}
        with self.b.if_then(nonempty):
            for name in reduce_of.values():
                self.env[name] = ir.Constant(I64, 0)
            self.stmt(blk.init)

        def nest(k: int) -> None:
            if k == len(loops):
                for loop_var, it in reduce_of.items():
                    self.env[it] = self.env[loop_var]
                self.stmt(blk.body)
                return
            self.loop(loops[k].var, extents[k], lambda: nest(k + 1))

        nest(0)
        for iv in blk.iters:
            self.env.pop(iv.var.name, None)

    def block(self, blk: Block) -> None:
        for iv, binding in zip(blk.iters, blk.bindings, strict=True):
            self.env[iv.var.name] = self.expr(binding)

        def run() -> None:
            if blk.init is not None:
                first: ir.Value = ir.Constant(I1, 1)
                for iv in blk.reduce:
                    first = self.b.and_(first, self.b.icmp_signed(
                        "==", self.env[iv.var.name], ir.Constant(I64, 0)))
                with self.b.if_then(first):
                    self.stmt(blk.init)
            self.stmt(blk.body)

        if blk.predicate is None:
            run()
        else:
            with self.b.if_then(self.expr(blk.predicate)):
                run()
        for iv in blk.iters:
            del self.env[iv.var.name]

    # -- memory ---------------------------------------------------------------------------

    def allocate(self, s: Allocate) -> None:
        buf = s.buffer
        dims = tuple(self.expr(d) for d in buf.shape)
        mem = memory_type(buf.dtype)
        static = [int(d.value) for d in buf.shape if isinstance(d, Const)]
        heap = len(static) < buf.rank
        if not heap:
            count = 1
            for d in static:
                count *= d
            heap = count * byte_size(buf.dtype) > STACK_LIMIT
        if heap:
            count_v: ir.Value = ir.Constant(I64, 1)
            for d in dims:
                count_v = self.b.mul(count_v, d)
            nbytes = self.b.mul(count_v, ir.Constant(I64, byte_size(buf.dtype)))
            ptr = self.b.call(self._libc("malloc", PTR, [I64]), [nbytes])
        else:
            # In the entry block, so a loop around the Allocate does not grow the stack.
            ptr = self.entry.alloca(mem, size=ir.Constant(I64, max(count, 1)), name=buf.name)
            ptr.align = ALIGN
        self.buffers[buf.name] = BufferRef(buf, ptr, dims)
        self.stmt(s.body)
        del self.buffers[buf.name]
        if heap:
            self.b.call(self._libc("free", ir.VoidType(), [PTR]), [ptr])

    def _libc(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        existing = self.fn.module.globals.get(name)
        if isinstance(existing, ir.Function):
            return existing
        return ir.Function(self.fn.module, ir.FunctionType(ret, args), name)


def _reduce_chain(s: For) -> tuple[list[For], Block] | None:
    """``s`` and the loops directly inside it, if they are exactly the reduce loops of
    the block they wrap (each reduce iteration bound to one of them, nothing else
    depending on them) — the case where ``init`` can run once before them."""
    loops: list[For] = []
    cur: Stmt = s
    while isinstance(cur, For):
        loops.append(cur)
        cur = cur.body
    if not isinstance(cur, Block) or cur.init is None or cur.predicate is not None:
        return None
    names = {f.var.name for f in loops}
    reduce_bound = [b for iv, b in zip(cur.iters, cur.bindings, strict=True)
                    if iv.kind == "reduce"]
    bound_vars = [b for b in reduce_bound if isinstance(b, Var)]
    if not reduce_bound or len(bound_vars) != len(reduce_bound):
        return None
    if sorted(b.name for b in bound_vars) != sorted(names):
        return None
    spatial = [b for iv, b in zip(cur.iters, cur.bindings, strict=True) if iv.kind == "spatial"]
    if any(free_vars(e) & names for e in [*spatial, *(f.extent for f in loops)]):
        return None
    return loops, cur
