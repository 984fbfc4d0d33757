"""The one generic traversal/rewrite helper of the tensor IR, and queries built on it.

Rewrites are post-order: children are rebuilt first, then the callback sees
the rebuilt node and returns a replacement or None (keep). Nodes are frozen,
so an unchanged subtree is returned as the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from core.tir.expr import Bin, Cast, Const, Expr, Load, RShiftRound, Select, Unary, Var
from core.tir.stmt import (
    Allocate,
    Block,
    Buffer,
    For,
    IntrinCall,
    IterVar,
    Region,
    Seq,
    Stmt,
    Store,
)

ExprFn = Callable[[Expr], Expr | None]
StmtFn = Callable[[Stmt], Stmt | None]


def map_expr(e: Expr, fn: ExprFn) -> Expr:
    """Rebuild ``e`` bottom-up, letting ``fn`` replace any node."""
    match e:
        case Bin(op, a, b):
            na, nb = map_expr(a, fn), map_expr(b, fn)
            e = e if (na is a and nb is b) else Bin(op, na, nb)
        case Unary(op, a):
            na = map_expr(a, fn)
            e = e if na is a else Unary(op, na)
        case Cast(dt, a):
            na = map_expr(a, fn)
            e = e if na is a else Cast(dt, na)
        case Select(c, a, b):
            nc, na, nb = map_expr(c, fn), map_expr(a, fn), map_expr(b, fn)
            e = e if (nc is c and na is a and nb is b) else Select(nc, na, nb)
        case RShiftRound(x, s, mode):
            nx, ns = map_expr(x, fn), map_expr(s, fn)
            e = e if (nx is x and ns is s) else RShiftRound(nx, ns, mode)
        case Load(buf, idx):
            nidx = tuple(map_expr(i, fn) for i in idx)
            e = e if all(a is b for a, b in zip(nidx, idx, strict=True)) else Load(buf, nidx)
        case Var() | Const():
            pass
    out = fn(e)
    return e if out is None else out


def walk_expr(e: Expr) -> Iterator[Expr]:
    """Every sub-expression, pre-order."""
    yield e
    match e:
        case Bin(_, a, b):
            yield from walk_expr(a)
            yield from walk_expr(b)
        case Unary(_, a) | Cast(_, a):
            yield from walk_expr(a)
        case Select(c, a, b):
            yield from walk_expr(c)
            yield from walk_expr(a)
            yield from walk_expr(b)
        case RShiftRound(x, s, _):
            yield from walk_expr(x)
            yield from walk_expr(s)
        case Load(_, idx):
            for i in idx:
                yield from walk_expr(i)


def substitute(e: Expr, env: Mapping[str, Expr]) -> Expr:
    """Replace variables by name (index math is re-folded through the constructors)."""
    if not env:
        return e
    from core.tir.expr import binop

    def fn(x: Expr) -> Expr | None:
        if isinstance(x, Var):
            return env.get(x.name)
        if isinstance(x, Bin) and x.a.dtype == "int64" and x.op not in ("and", "or"):
            return binop(x.op, x.a, x.b)  # fold constants that substitution exposed
        return None

    return map_expr(e, fn)


def free_vars(e: Expr) -> set[str]:
    return {x.name for x in walk_expr(e) if isinstance(x, Var)}


def _region(r: Region, fn: ExprFn) -> Region:
    return Region(r.buffer, tuple(map_expr(s, fn) for s in r.starts),
                  tuple(map_expr(x, fn) for x in r.extents))


def map_stmt(s: Stmt, stmt_fn: StmtFn | None = None, expr_fn: ExprFn | None = None) -> Stmt:
    """Rebuild ``s`` bottom-up; ``expr_fn`` rewrites every expression it holds
    (indices, values, extents, bindings, predicates, regions)."""

    def ex(e: Expr) -> Expr:
        return map_expr(e, expr_fn) if expr_fn else e

    def ex_opt(e: Expr | None) -> Expr | None:
        return None if e is None else ex(e)

    def rec(x: Stmt) -> Stmt:
        return map_stmt(x, stmt_fn, expr_fn)

    match s:
        case Store(buf, idx, value):
            new: Stmt = Store(buf, tuple(ex(i) for i in idx), ex(value))
        case For(var, extent, body, kind, ann):
            new = For(var, ex(extent), rec(body), kind, ann)
        case Seq(stmts):
            new = Seq(tuple(rec(x) for x in stmts))
        case Block(name, iters, bindings, body, init, pred):
            new = Block(name, tuple(IterVar(iv.var, ex(iv.extent), iv.kind) for iv in iters),
                        tuple(ex(b) for b in bindings), rec(body),
                        None if init is None else rec(init), ex_opt(pred))
        case Allocate(buf, body):
            new = Allocate(buf, rec(body))
        case IntrinCall(intrin, args, dims):
            new = IntrinCall(intrin, tuple(_region(r, expr_fn) for r in args)
                             if expr_fn else args, dims)
        case _:
            raise TypeError(f"not a statement: {s!r}")
    new = s if new == s else new
    if stmt_fn is None:
        return new
    out = stmt_fn(new)
    return new if out is None else out


def walk_stmt(s: Stmt) -> Iterator[Stmt]:
    """Every statement, pre-order (a block's init before its body)."""
    yield s
    match s:
        case For(_, _, body) | Allocate(_, body):
            yield from walk_stmt(body)
        case Seq(stmts):
            for x in stmts:
                yield from walk_stmt(x)
        case Block(body=body, init=init):
            if init is not None:
                yield from walk_stmt(init)
            yield from walk_stmt(body)


def stmt_exprs(s: Stmt) -> Iterator[Expr]:
    """The expressions a statement holds directly (not those of nested statements)."""
    match s:
        case Store(_, idx, value):
            yield from idx
            yield value
        case For(_, extent, _):
            yield extent
        case Block(iters=iters, bindings=bindings, predicate=pred):
            for iv in iters:
                yield iv.extent
            yield from bindings
            if pred is not None:
                yield pred
        case IntrinCall(_, args, _):
            for r in args:
                yield from r.starts
                yield from r.extents


def loads_of(s: Stmt) -> Iterator[Load]:
    for st in walk_stmt(s):
        for e in stmt_exprs(st):
            yield from (x for x in walk_expr(e) if isinstance(x, Load))


def stores_of(s: Stmt) -> Iterator[Store]:
    return (x for x in walk_stmt(s) if isinstance(x, Store))


def buffers_written(s: Stmt) -> set[str]:
    out = {st.buffer.name for st in stores_of(s)}
    for st in walk_stmt(s):
        if isinstance(st, IntrinCall):
            n_in = len(st.intrin.desc.inputs)
            out |= {r.buffer.name for r in st.args[n_in:]}
    return out


def buffers_read(s: Stmt) -> set[str]:
    out = {ld.buffer.name for ld in loads_of(s)}
    for st in walk_stmt(s):
        if isinstance(st, IntrinCall):
            out |= {r.buffer.name for r in st.args}  # outputs may accumulate
    return out


def find_loop(s: Stmt, name: str) -> For | None:
    return next((x for x in walk_stmt(s) if isinstance(x, For) and x.var.name == name), None)


def find_block(s: Stmt, name: str) -> Block | None:
    return next((x for x in walk_stmt(s) if isinstance(x, Block) and x.name == name), None)


def replace_buffer(s: Stmt, old: str, new: Buffer) -> Stmt:
    """Point every load, store and region of buffer ``old`` at ``new``."""

    def ex(e: Expr) -> Expr | None:
        if isinstance(e, Load) and e.buffer.name == old:
            return Load(new, e.indices)
        return None

    def st(x: Stmt) -> Stmt | None:
        if isinstance(x, Store) and x.buffer.name == old:
            return Store(new, x.indices, x.value)
        if isinstance(x, IntrinCall) and any(r.buffer.name == old for r in x.args):
            return IntrinCall(x.intrin, tuple(
                Region(new, r.starts, r.extents) if r.buffer.name == old else r
                for r in x.args), x.dims)
        return None

    return map_stmt(s, st, ex)
