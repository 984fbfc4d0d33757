"""Data movement: cache_read, cache_write, double_buffer.

Copies are ordinary blocks (``<buffer>_<scope>``) so later primitives —
tiling them, tensorizing them onto a DMA intrinsic — treat them like any
other computation.
"""

from __future__ import annotations

from collections.abc import Callable

from core.schedule.common import ScheduleError, fresh, get_block, used_names
from core.tir.expr import Const, Expr, Load, Var, binop
from core.tir.stmt import (
    Allocate,
    Block,
    Buffer,
    For,
    IntrinCall,
    IterVar,
    PrimFunc,
    Region,
    Seq,
    Stmt,
    Store,
    seq,
)
from core.tir.visit import (
    buffers_read,
    buffers_written,
    map_stmt,
    replace_buffer,
    walk_stmt,
)


def copy_nest(dst: Buffer, src: Buffer, used: set[str], name: str,
              value: Expr | None = None) -> Stmt:
    """``dst[i...] = src[i...]`` over dst's shape (or ``value`` written over iters ``v<k>``)."""
    loops = [Var(fresh(f"{name}_ax{k}", used)) for k in range(dst.rank)]
    iters = [Var(fresh(f"{name}_v{k}", used)) for k in range(dst.rank)]
    body: Stmt = Block(
        fresh(name, used),
        tuple(IterVar(v, d) for v, d in zip(iters, dst.shape, strict=True)),
        tuple(loops),
        Store(dst, tuple(iters), value if value is not None else Load(src, tuple(iters))))
    if value is not None:
        # The caller wrote value over "v<k>"-style names; rename them to ours.
        from core.tir.visit import substitute

        env = {f"v{k}": iters[k] for k in range(dst.rank)}
        assert isinstance(body, Block)
        body = Block(body.name, body.iters, body.bindings,
                     Store(dst, tuple(iters), substitute(value, env)))
    for v, d in reversed(list(zip(loops, dst.shape, strict=True))):
        body = For(v, d, body)
    return body


def top_level(body: Stmt) -> tuple[list[Buffer], list[Stmt]]:
    """The root allocations and the top-level statement sequence under them."""
    allocs: list[Buffer] = []
    while isinstance(body, Allocate):
        allocs.append(body.buffer)
        body = body.body
    return allocs, list(body.stmts if isinstance(body, Seq) else (body,))


def rebuild(allocs: list[Buffer], stmts: list[Stmt]) -> Stmt:
    body = seq(*stmts)
    for b in reversed(allocs):
        body = Allocate(b, body)
    return body


def containing(stmts: list[Stmt], block: str) -> int:
    for k, s in enumerate(stmts):
        if any(isinstance(x, Block) and x.name == block for x in walk_stmt(s)):
            return k
    raise AssertionError(block)


def cache_read(f: PrimFunc, buffer: str, scope: str,
               consumers: tuple[str, ...] | None = None) -> PrimFunc:
    """Copy ``buffer`` into a new buffer in ``scope`` up front; consumers read the copy."""
    src = next((p for p in f.params if p.name == buffer), None) or next(
        (s.buffer for s in walk_stmt(f.body) if isinstance(s, Allocate)
         and s.buffer.name == buffer), None)
    if src is None:
        raise ScheduleError("cache_read", f"buffer {buffer}", f"{f.name} has no such buffer",
                            f"use one of {[p.name for p in f.params]}")
    writers = [s.name for s in walk_stmt(f.body) if isinstance(s, Block)
               and buffer in buffers_written(s.body)]
    if buffer in buffers_written(f.body):
        raise ScheduleError("cache_read", f"buffer {buffer}",
                            f"it is written in {f.name} (by {writers or 'a bare store'}), so a "
                            "copy made up front would be stale",
                            f"cache_write the producer of {buffer} instead")
    used = used_names(f)
    cache = Buffer(fresh(f"{buffer}_{scope}", used), src.dtype, src.shape, scope)
    allocs, stmts = top_level(f.body)
    names = consumers or tuple(s.name for s in walk_stmt(f.body) if isinstance(s, Block))
    for name in names:
        get_block(f, name, "cache_read")
    stmts = [_redirect_in_blocks(s, set(names), buffer, cache) for s in stmts]
    copy = copy_nest(cache, src, used, cache.name)
    return f.with_body(rebuild(allocs, [Allocate(cache, seq(copy, *stmts))]))


def _redirect_in_blocks(s: Stmt, names: set[str], old: str, new: Buffer) -> Stmt:
    def fn(x: Stmt) -> Stmt | None:
        if isinstance(x, Block) and x.name in names:
            return replace_buffer(x, old, new)
        return None

    return map_stmt(s, fn)


def cache_write(f: PrimFunc, block: str, scope: str) -> PrimFunc:
    """``block`` writes a new buffer in ``scope``, copied back right after its loop nest."""
    b = get_block(f, block, "cache_write")
    written = buffers_written(b.body) | (buffers_written(b.init) if b.init else set())
    if len(written) != 1:
        raise ScheduleError("cache_write", f"block {block}", f"it writes {sorted(written)}",
                            "cache_write a block that writes exactly one buffer")
    (name,) = written
    others = [s.name for s in walk_stmt(f.body) if isinstance(s, Block) and s.name != block
              and name in buffers_written(s) and not any(
                  isinstance(x, Block) and x.name == block for x in walk_stmt(s))]
    if others:
        raise ScheduleError("cache_write", f"block {block}",
                            f"{name} is also written by {others}",
                            "cache_write the last producer, or give each producer its buffer")
    dst = next(s.buffer for s in walk_stmt(b.body) if isinstance(s, Store))
    used = used_names(f)
    cache = Buffer(fresh(f"{name}_{scope}", used), dst.dtype, dst.shape, scope)

    def wrap(nest: Stmt) -> Stmt:
        parts = [_redirect_in_blocks(nest, {block}, name, cache),
                 copy_nest(dst, cache, used, f"{cache.name}_out")]
        if b.init is None and name in buffers_read(b.body):
            parts.insert(0, copy_nest(cache, dst, used, f"{cache.name}_in"))  # accumulates
        return Allocate(cache, seq(*parts))

    return f.with_body(around(f.body, block, wrap))


def around(s: Stmt, block: str, wrap: Callable[[Stmt], Stmt]) -> Stmt:
    """Replace the statement holding ``block`` at the innermost sequence level by
    ``wrap(statement)``, staying inside the allocations around it."""
    if isinstance(s, Allocate):
        return Allocate(s.buffer, around(s.body, block, wrap))
    if isinstance(s, Seq):
        k = containing(list(s.stmts), block)
        return Seq((*s.stmts[:k], around(s.stmts[k], block, wrap), *s.stmts[k + 1:]))
    return wrap(s)


def double_buffer(f: PrimFunc, buffer: str) -> PrimFunc:
    """Give a scratch buffer two halves alternating with the loop it lives in.

    Iteration ``t`` of the innermost loop enclosing every access uses half
    ``t % 2``, so a pipelined backend can fill one half while the other is
    read. The loop is annotated ``("double_buffer", buffer)``.
    """
    alloc = next((s for s in walk_stmt(f.body) if isinstance(s, Allocate)
                  and s.buffer.name == buffer), None)
    if alloc is None or alloc.buffer.scope == "global":
        raise ScheduleError("double_buffer", f"buffer {buffer}",
                            "it is not a scratch buffer in an on-chip scope",
                            "cache_read/cache_write into a scope first")
    loop = _innermost_enclosing(alloc.body, buffer)
    if loop is None:
        raise ScheduleError("double_buffer", f"buffer {buffer}",
                            "no loop encloses all its uses, so there is nothing to overlap",
                            "move its producer into the consumer's loop (compute_at) first")
    first = next((s for s in (loop.body.stmts if isinstance(loop.body, Seq) else (loop.body,))
                  if buffer in buffers_read(s) | buffers_written(s)), None)
    if first is None or buffer in buffers_read(first) or buffer not in buffers_written(first):
        raise ScheduleError("double_buffer", f"loop {loop.var.name}",
                            f"its body reads {buffer} before writing it, so values flow "
                            "between iterations", "only buffers refilled every iteration "
                            "can be double-buffered")
    old = alloc.buffer
    new = Buffer(old.name, old.dtype, (Const(2), *old.shape), old.scope)
    half = binop("%", loop.var, 2)
    used = used_names(f)
    body = _halve(loop.body, old.name, new, half, used)
    ann = (*loop.annotations, ("double_buffer", buffer))
    new_loop = For(loop.var, loop.extent, body, loop.kind, ann)

    def fn(s: Stmt) -> Stmt | None:
        if isinstance(s, For) and s.var.name == loop.var.name:
            return new_loop
        if isinstance(s, Allocate) and s.buffer.name == buffer:
            return Allocate(new, s.body)
        return None

    return f.with_body(map_stmt(f.body, fn))


def _innermost_enclosing(s: Stmt, buffer: str) -> For | None:
    found: For | None = None
    for x in walk_stmt(s):  # pre-order: a later hit is nested deeper
        if isinstance(x, For) and _all_uses_in(s, x, buffer):
            found = x
    return found


def _all_uses_in(root: Stmt, loop: For, buffer: str) -> bool:
    def count(s: Stmt) -> int:
        n = sum(1 for x in walk_stmt(s) if isinstance(x, Store) and x.buffer.name == buffer)
        n += sum(1 for x in walk_stmt(s) if isinstance(x, IntrinCall)
                 and any(r.buffer.name == buffer for r in x.args))
        from core.tir.visit import loads_of

        return n + sum(1 for ld in loads_of(s) if ld.buffer.name == buffer)

    return count(root) == count(loop)


def _halve(s: Stmt, name: str, new: Buffer, half: Expr, used: set[str]) -> Stmt:
    """Prefix every access of ``name`` with the half index; blocks get an iteration
    variable bound to it (their bodies cannot see the loop)."""

    def outer(x: Stmt) -> Stmt | None:
        if isinstance(x, Block) and name in buffers_read(x) | buffers_written(x):
            v = Var(fresh(f"{name}_half", used))
            inner = _prefix(x.body, name, new, v)
            init = None if x.init is None else _prefix(x.init, name, new, v)
            return Block(x.name, (*x.iters, IterVar(v, Const(2))),
                         (*x.bindings, half), inner, init, x.predicate)
        if isinstance(x, IntrinCall | Store) and x is not None:
            return _prefix(x, name, new, half)
        return None

    return _map_outermost(s, outer)


def _map_outermost(s: Stmt, fn: object) -> Stmt:

    assert callable(fn)
    f2: Callable[[Stmt], Stmt | None] = fn
    out = f2(s)
    if out is not None:
        return out
    match s:
        case For(var, extent, body, kind, ann):
            return For(var, extent, _map_outermost(body, f2), kind, ann)
        case Seq(stmts):
            return Seq(tuple(_map_outermost(x, f2) for x in stmts))
        case Allocate(buf, body):
            return Allocate(buf, _map_outermost(body, f2))
    return s


def _prefix(s: Stmt, name: str, new: Buffer, half: Expr) -> Stmt:
    def ex(e: Expr) -> Expr | None:
        if isinstance(e, Load) and e.buffer.name == name:
            return Load(new, (half, *e.indices))
        return None

    def st(x: Stmt) -> Stmt | None:
        if isinstance(x, Store) and x.buffer.name == name:
            return Store(new, (half, *x.indices), x.value)
        if isinstance(x, IntrinCall) and any(r.buffer.name == name for r in x.args):
            args = tuple(Region(new, (half, *r.starts), (Const(1), *r.extents))
                         if r.buffer.name == name else r for r in x.args)
            dims = tuple(tuple(a + 1 for a in x.operand_axes(k)) if r.buffer.name == name
                         else x.operand_axes(k) for k, r in enumerate(x.args))
            return IntrinCall(x.intrin, args, dims)
        return None

    return map_stmt(s, st, ex)
