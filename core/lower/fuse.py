"""Elementwise fusion: a chain of elementwise tensor programs becomes one.

``fuse_elementwise`` runs after the per-op lowering. Where a ``CallTIR``'s
result has exactly one use, and that use is another ``CallTIR`` of the same
block reading it element for element, the producer's scalar expression is
substituted for the consumer's loads of it (``compute_inline``): one loop
nest, one pass over memory, no intermediate buffer. Every element is still
computed with the same operations, in the same order and dtypes, so results
are bit-identical to the unfused chain.

What counts as elementwise is decided on the tensor programs, not on op
names, so anything lowered to the same shape fuses (unary and binary ops,
Clip, LeakyRelu, Cast, Quantize/DequantizeLinear, ...):

* an *elementwise program* is one spatial block (no reduction, init or
  predicate) storing each output element at its own index, whose loads read
  inputs at projections of that index (each index an iteration variable, in
  order, or 0): numpy broadcasting, per-axis parameters;
* it fuses into its consumer only where the consumer is elementwise too and
  reads it at the output index. A consumer that broadcasts the intermediate
  would recompute it per output element, and copies (Reshape, Transpose,
  Concat) would put their index arithmetic into every element: neither fuses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice, pairwise

from core.graph import Binding, CallTIR, Constant, Function, Module, Var, used_vars
from core.graph import Block as GraphBlock
from core.lower.build import LowerError
from core.tir.expr import Const, Expr, Load
from core.tir.stmt import Block, Buffer, For, PrimFunc, Stmt, Store
from core.tir.verify import check
from core.tir.visit import map_expr, map_stmt, substitute, walk_expr

# LeakyRelu reads its input three times, so inlining a producer into it copies the
# producer's expression three times (LLVM merges the copies, the tree still grows):
# a fused store value stays below this many nodes.
MAX_EXPR_NODES = 256


@dataclass(frozen=True, slots=True)
class Kernel:
    """A CallTIR binding as fusion sees it: its program, arguments and ONNX nodes."""

    func: PrimFunc
    args: tuple[Var | Constant, ...]
    sources: tuple[str, ...]


def elementwise_block(f: PrimFunc) -> Block | None:
    """The one block of ``f`` if ``f`` is an elementwise program (module docstring)."""
    loops: list[Expr] = []
    s: Stmt = f.body
    while isinstance(s, For):
        loops.append(s.var)
        s = s.body
    if (f.num_outputs != 1 or not isinstance(s, Block) or s.init is not None
            or s.predicate is not None or s.reduce or s.bindings != tuple(loops)):
        return None
    out, iters = f.outputs[0], tuple(iv.var for iv in s.iters)
    store = s.body
    if (not isinstance(store, Store) or store.buffer != out or store.indices != iters
            or tuple(iv.extent for iv in s.iters) != out.shape):
        return None
    inputs = {b.name for b in f.inputs}
    for ld in _loads(store.value):
        if ld.buffer.name not in inputs or not _projection(ld.indices, iters):
            return None
    return s


def _loads(e: Expr) -> list[Load]:
    return [x for x in walk_expr(e) if isinstance(x, Load)]


def _projection(idx: tuple[Expr, ...], iters: tuple[Expr, ...]) -> bool:
    """Each index is 0 or an iteration variable, the variables in their order."""
    pos = [iters.index(i) for i in idx if i in iters]
    return (all(i in iters or i == Const(0) for i in idx)
            and all(a < b for a, b in pairwise(pos)))


def _at_output(block: Block, buf: str) -> bool:
    """Every load of ``buf`` in the block reads the element the block stores."""
    assert isinstance(block.body, Store)
    loads = [ld for ld in _loads(block.body.value) if ld.buffer.name == buf]
    return bool(loads) and all(
        len(ld.indices) == len(block.iters)
        and all(i == iv.var or (i == Const(0) and iv.extent == Const(1))
                for i, iv in zip(ld.indices, block.iters, strict=True))
        for ld in loads)


def _small(e: Expr) -> bool:
    return sum(1 for _ in islice(walk_expr(e), MAX_EXPR_NODES + 1)) <= MAX_EXPR_NODES


def inline(consumer: Kernel, slot: int, producer: Kernel) -> Kernel | None:
    """``consumer`` with its input ``slot`` computed in place by ``producer``.

    Inputs are the consumer's, with the producer's spliced in at ``slot``; an
    argument passed twice becomes one parameter. None when the pair is not an
    elementwise producer read at the output index, or the expression grows too large.
    """
    pb, cb = elementwise_block(producer.func), elementwise_block(consumer.func)
    if pb is None or cb is None or not _at_output(cb, consumer.func.inputs[slot].name):
        return None
    # Parameters by graph argument: the same value passed twice is one buffer.
    params: dict[Var | Constant, Buffer] = {}
    for a, b in zip((*consumer.args[:slot], *producer.args, *consumer.args[slot + 1:]),
                    (*consumer.func.inputs[:slot], *producer.func.inputs,
                     *consumer.func.inputs[slot + 1:]), strict=True):
        params.setdefault(a, Buffer(f"in{len(params)}", b.dtype, b.shape, b.scope))

    def renamed(f: Kernel) -> dict[str, Buffer]:
        return {b.name: params[a] for a, b in zip(f.args, f.func.inputs, strict=True)
                if a in params}  # not the consumer's ``slot``: that one is inlined

    assert isinstance(pb.body, Store)
    value = _rename(pb.body.value, renamed(producer))
    iters = [iv.var.name for iv in pb.iters]
    cnames, fed = renamed(consumer), consumer.func.inputs[slot].name

    def expr_fn(e: Expr) -> Expr | None:
        if isinstance(e, Load) and e.buffer.name == fed:
            return substitute(value, dict(zip(iters, e.indices, strict=True)))
        if isinstance(e, Load) and e.buffer.name in cnames:
            return Load(cnames[e.buffer.name], e.indices)
        return None

    def stmt_fn(s: Stmt) -> Stmt | None:
        if isinstance(s, Block):  # the fused block is named after what it computes
            return Block(f"{pb.name}_{s.name}", s.iters, s.bindings, s.body, s.init,
                         s.predicate)
        return None

    func = PrimFunc(consumer.func.name, (*params.values(), *consumer.func.outputs),
                    map_stmt(consumer.func.body, stmt_fn, expr_fn))
    fused = elementwise_block(func)
    assert fused is not None and isinstance(fused.body, Store)
    if not _small(fused.body.value):
        return None
    return Kernel(check(func), tuple(params), (*producer.sources, *consumer.sources))


def _rename(e: Expr, table: Mapping[str, Buffer]) -> Expr:
    return map_expr(e, lambda x: Load(table[x.buffer.name], x.indices)
                    if isinstance(x, Load) and x.buffer.name in table else None)


def _kernel(b: Binding, module: Module) -> Kernel | None:
    v = b.value
    if not isinstance(v, CallTIR) or v.func not in module:
        return None
    f = module[v.func]
    args = tuple(a for a in v.args if isinstance(a, Var | Constant))
    if not isinstance(f, PrimFunc) or len(v.args) != len(f.inputs) or len(args) != len(v.args):
        return None
    return Kernel(f, args, (b.source,) if b.source else ())


def _fuse_block(blk: GraphBlock, module: Module, uses: Counter[str], fname: str
                ) -> tuple[GraphBlock, list[PrimFunc]]:
    """The block with single-use elementwise producers inlined into their consumers."""
    kernels: dict[str, Kernel] = {}  # already fused, by result name
    absorbed: set[str] = set()
    fused: dict[str, Kernel] = {}
    for b in blk.bindings:
        k = _kernel(b, module)
        if k is None:
            continue
        changed, slot = False, 0
        while slot < len(k.args):
            a = k.args[slot]
            prod = kernels.get(a.name) if isinstance(a, Var) and uses[a.name] == 1 else None
            merged = inline(k, slot, prod) if prod is not None else None
            if merged is None:
                slot += 1
                continue
            absorbed.add(a.name)
            k, changed = merged, True  # the producer's inputs now sit at ``slot``
        kernels[b.var.name] = k
        if changed:
            fused[b.var.name] = k
    out: list[Binding] = []
    funcs: list[PrimFunc] = []
    for b in blk.bindings:
        if b.var.name in absorbed:
            continue
        if b.var.name not in fused:
            out.append(b)
            continue
        k = fused[b.var.name]
        blocks = elementwise_block(k.func)
        assert blocks is not None
        name = f"{fname}_{b.var.name}_{blocks.name}"
        funcs.append(PrimFunc(name, k.func.params, k.func.body))
        out.append(Binding(b.var, CallTIR(name, k.args, b.var.type), ", ".join(
            dict.fromkeys(k.sources))))
    return GraphBlock(tuple(out), blk.dataflow), funcs


def fuse_elementwise(module: Module, func: str | None = None) -> Module:
    """Inline single-use elementwise CallTIRs of ``func`` (default: entry) into their
    elementwise consumers; programs no longer called are dropped from the module."""
    f: Function = module[func or module.entry]
    uses = Counter(v.name for b in f.bindings for v in used_vars(b.value))
    uses.update(o.name for o in f.outputs if isinstance(o, Var))
    blocks, funcs = [], []
    for blk in f.blocks:
        nb, nf = _fuse_block(blk, module, uses, f.name)
        blocks.append(nb)
        funcs += nf
    new = Function(f.name, f.params, tuple(blocks), f.outputs, f.attrs)
    result = module.with_function(new)
    for pf in funcs:
        if pf.name in result:
            raise LowerError(f"fuse_elementwise: {f.name}: the fused program's name "
                             f"'{pf.name}' is taken by another function of the module")
        result = result.with_function(pf)
    called = {b.value.func for g in result.functions if isinstance(g, Function)
              for b in g.bindings if isinstance(b.value, CallTIR)}
    before = {b.value.func for b in f.bindings if isinstance(b.value, CallTIR)}
    dead = before - called
    return Module(tuple(g for g in result.functions if g.name not in dead), result.entry)
