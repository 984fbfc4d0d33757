"""partition_loops: index-set splitting of loops around guarded blocks.

Padding reads are ``select(0 <= h*s + k - p < H, x[..], pad)`` and
non-divisible splits guard blocks with ``o*f + i < n``. On almost every
iteration such a condition is true; compiled as written, every iteration
evaluates it and — because a ``select``'s arms may read out of bounds —
clamps its load indices, which turns contiguous loads into gathers.

``partition_loops(f)`` splits a loop ``for v in range(E)`` into
``[0, lo)``, ``[lo, hi)`` and ``[hi, E)``, where ``[lo, hi)`` is the range of
``v`` on which a condition conjunct holds for every value of the loops
inside ``v``. The middle copy drops those conjuncts (a ``select`` whose
condition is then always true becomes its true arm; a predicate becomes
None); the border copies keep the program as it was. Iterations still run
in the original order, so results are unchanged bit for bit.

Conjuncts qualify when, with the block's bindings substituted, they are
affine comparisons ``a*v + sum(a_i*u_i) + R >= 0`` with integer ``a``,
``a_i``, ``u_i`` loops nested inside ``v`` whose extents do not depend on
those loops, and ``R`` free of ``v`` and the inner loops (outer loop
variables and sizes are fine: the bounds are computed when the loop starts).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.schedule.common import fresh, simplify, used_names
from core.schedule.loops import subst_stmt
from core.tir.expr import INDEX, Bin, Const, Expr, Select, Var, binop, logical_and, smax, smin
from core.tir.stmt import Allocate, Block, For, IterVar, PrimFunc, Seq, Stmt
from core.tir.visit import free_vars, map_stmt, stmt_exprs, substitute, walk_expr, walk_stmt

# Innermost loops of at most this many iterations are not split: three copies of a short
# vectorised loop cost code size and branch mispredictions and save almost nothing.
SHORT_INNER = 16


@dataclass(frozen=True, slots=True)
class _Bound:
    """A conjunct of one block, true when ``lower <= v < upper`` (either side optional)."""

    block: Block
    term: Expr
    lower: Expr | None
    upper: Expr | None


def partition_loops(f: PrimFunc) -> PrimFunc:
    """``f`` with every qualifying loop split into border and interior parts (see module)."""
    used = used_names(f)
    return f.with_body(_stmt(f.body, used))


def conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Bin) and e.op == "and":
        return conjuncts(e.a) + conjuncts(e.b)
    return [e]


def _stmt(s: Stmt, used: set[str]) -> Stmt:
    match s:
        case For(var, extent, body, kind, ann):
            split = _split(s, used)
            if split is not None:  # the copies' own inner loops may split further
                parts = [For(x.var, x.extent, _stmt(x.body, used), x.kind, x.annotations)
                         for x in split]
                return parts[0] if len(parts) == 1 else Seq(tuple(parts))
            return For(var, extent, _stmt(body, used), kind, ann)
        case Seq(stmts):
            return Seq(tuple(_stmt(x, used) for x in stmts))
        case Allocate(buf, body):
            return Allocate(buf, _stmt(body, used))
    return s


def _split(loop: For, used: set[str]) -> tuple[For, ...] | None:
    """The three-way split of ``loop``, or None when nothing qualifies."""
    if isinstance(loop.extent, Const) and (loop.extent.value < 3 or (
            loop.extent.value <= SHORT_INNER
            and not any(isinstance(x, For) for x in walk_stmt(loop.body)))):
        return None
    if any(isinstance(x, Allocate) for x in walk_stmt(loop.body)):
        return None  # copies would declare the scratch buffer twice
    bounds = _bounds(loop)
    if not bounds:
        return None
    n = loop.extent
    lowers = [b.lower for b in bounds if b.lower is not None]
    uppers = [b.upper for b in bounds if b.upper is not None]
    lo: Expr = Const(0)
    for x in lowers:
        lo = smax(lo, x)
    lo = simplify(smin(lo, n)) if lowers else lo
    hi: Expr = n
    for x in uppers:
        hi = smin(hi, x)
    hi = simplify(smax(hi, lo)) if uppers else n
    proven: dict[int, set[Expr]] = {}
    for b in bounds:
        proven.setdefault(id(b.block), set()).add(b.term)
    interior = _drop(loop.body, proven)
    parts: list[For] = []
    if lowers:
        parts.append(_copy(loop, Const(0), lo, loop.body, used, "lo"))
    parts.append(_copy(loop, lo, hi, interior, used, None))
    if uppers:
        parts.append(_copy(loop, hi, n, loop.body, used, "hi"))
    # Static sizes often leave a border empty; a loop of extent 0 is only noise.
    return tuple(p for p in parts if p.extent != Const(0)) or (parts[1 if lowers else 0],)


def _copy(loop: For, start: Expr, stop: Expr, body: Stmt, used: set[str],
          tag: str | None) -> For:
    """``for v' in range(stop - start)`` running ``body`` at ``v = v' + start``; border
    copies (``tag``) rename every loop, iteration variable and block inside them."""
    name = loop.var.name if tag is None else fresh(f"{loop.var.name}_{tag}", used)
    v = Var(name)
    if tag is not None:
        body = _renamed(body, used, tag)
    inner = subst_stmt(body, {loop.var.name: binop("+", v, start)}) if (
        tag is not None or start != Const(0)) else body
    return For(v, simplify(binop("-", stop, start)), inner, loop.kind, loop.annotations)


def _renamed(s: Stmt, used: set[str], tag: str) -> Stmt:
    """``s`` with fresh names for what it binds (names are unique per function)."""
    names: dict[str, str] = {}
    for x in walk_stmt(s):
        if isinstance(x, For):
            names[x.var.name] = fresh(f"{x.var.name}_{tag}", used)
        elif isinstance(x, Block):
            names[x.name] = fresh(f"{x.name}_{tag}", used)
            for iv in x.iters:
                names[iv.var.name] = fresh(f"{iv.var.name}_{tag}", used)

    def ex(e: Expr) -> Expr | None:
        return Var(names[e.name], e.dtype) if isinstance(e, Var) and e.name in names else None

    def st(x: Stmt) -> Stmt | None:
        if isinstance(x, For) and x.var.name in names:
            # Borders run a few iterations: unrolled copies there would only multiply
            # code size (and compile time) by the number of borders.
            kind = "serial" if x.kind == "unrolled" else x.kind
            return For(Var(names[x.var.name]), x.extent, x.body, kind, x.annotations)
        if isinstance(x, Block):
            iters = tuple(IterVar(Var(names[iv.var.name], iv.var.dtype), iv.extent, iv.kind)
                          for iv in x.iters)
            return Block(names[x.name], iters, x.bindings, x.body, x.init, x.predicate)
        return None

    return map_stmt(s, st, ex)


# -- which conjuncts hold on which range ----------------------------------------------------


def _bounds(loop: For) -> list[_Bound]:
    out: list[_Bound] = []
    for blk, inner in _blocks(loop.body, {}):
        if _feeds_init_reduce(blk, loop.var.name):
            return []  # a reduce binding `v' + lo` would no longer start at 0 (init)
        env = dict(zip((iv.var.name for iv in blk.iters), blk.bindings, strict=True))
        terms = [] if blk.predicate is None else conjuncts(blk.predicate)
        for st in (blk.body, *(() if blk.init is None else (blk.init,))):
            for e in _exprs(st):
                for x in walk_expr(e):
                    if isinstance(x, Select):
                        terms += conjuncts(x.cond)
        for term in dict.fromkeys(terms):
            bound = _bound_of(substitute(term, env), loop.var.name, inner)
            if bound is not None:
                out.append(_Bound(blk, term, *bound))
    return out


def _feeds_init_reduce(blk: Block, var: str) -> bool:
    return blk.init is not None and any(
        iv.kind == "reduce" and var in free_vars(b)
        for iv, b in zip(blk.iters, blk.bindings, strict=True))


def _blocks(s: Stmt, inner: dict[str, Expr]) -> list[tuple[Block, dict[str, Expr]]]:
    """Outermost blocks under ``s`` with the extents of the loops between."""
    match s:
        case Block():
            return [(s, inner)]
        case For(var, extent, body):
            return _blocks(body, {**inner, var.name: extent})
        case Seq(stmts):
            return [x for st in stmts for x in _blocks(st, inner)]
        case Allocate(_, body):
            return _blocks(body, inner)
    return []


def _exprs(s: Stmt) -> list[Expr]:
    return [e for x in walk_stmt(s) for e in stmt_exprs(x)]


def _bound_of(term: Expr, v: str, inner: dict[str, Expr]) -> tuple[Expr | None,
                                                                    Expr | None] | None:
    """``(lower, upper)`` with ``term`` true for all inner loop values iff
    ``lower <= v < upper``; None when ``term`` is not affine in ``v`` and the inner loops."""
    if not isinstance(term, Bin) or term.op not in ("<", "<=", ">", ">=") \
            or term.a.dtype != INDEX:
        return None
    a, b = term.a, term.b
    # As `L >= 0` over integers.
    diff = {">=": (a, b, 0), ">": (a, b, 1), "<=": (b, a, 0), "<": (b, a, 1)}[term.op]
    lin = _linear(binop("-", diff[0], diff[1]), {v, *inner})
    if lin is None:
        return None
    coeffs, rest = lin
    rest = binop("-", rest, Const(diff[2]))
    a_v = coeffs.pop(v, 0)
    if a_v == 0:
        return None
    for u, c in coeffs.items():
        if free_vars(inner[u]) & ({v} | set(inner)):
            return None  # a triangular inner loop: its range is not a box
        if c < 0:  # the minimum over u in [0, U) is at U - 1
            rest = binop("+", rest, binop("*", Const(c), binop("-", inner[u], Const(1))))
    if a_v > 0:  # a*v >= -rest
        return simplify(binop("//", binop("+", unary_neg(rest), Const(a_v - 1)),
                              Const(a_v))), None
    return None, simplify(binop("+", binop("//", rest, Const(-a_v)), Const(1)))


def unary_neg(e: Expr) -> Expr:
    return binop("-", Const(0), e)


def _linear(e: Expr, loops: set[str]) -> tuple[dict[str, int], Expr] | None:
    """``e`` as ``sum(c*loop) + rest`` with integer ``c`` and ``rest`` free of ``loops``."""
    if not free_vars(e) & loops:
        return {}, e
    match e:
        case Var(name) if name in loops:
            return {name: 1}, Const(0)
        case Bin("+" | "-", a, b):
            la, lb = _linear(a, loops), _linear(b, loops)
            if la is None or lb is None:
                return None
            sign = 1 if e.op == "+" else -1
            coeffs = dict(la[0])
            for k, c in lb[0].items():
                coeffs[k] = coeffs.get(k, 0) + sign * c
            return {k: c for k, c in coeffs.items() if c}, binop(e.op, la[1], lb[1])
        case Bin("*", a, Const(c)) | Bin("*", Const(c), a):
            la = _linear(a, loops)
            if la is None:
                return None
            return {k: int(c) * x for k, x in la[0].items()}, binop("*", la[1], Const(c))
    return None


# -- the interior: proven conjuncts dropped --------------------------------------------------


def _drop(s: Stmt, proven: dict[int, set[Expr]]) -> Stmt:
    def rebuild(x: Stmt) -> Stmt:
        match x:
            case Block() if id(x) in proven:
                terms = proven[id(x)]
                pred = None if x.predicate is None else _without(x.predicate, terms)

                def ex(e: Expr) -> Expr | None:
                    if isinstance(e, Select):
                        cond = _without(e.cond, terms)
                        return e.a if cond is None else Select(cond, e.a, e.b)
                    return None

                body = map_stmt(x.body, expr_fn=ex)
                init = None if x.init is None else map_stmt(x.init, expr_fn=ex)
                return Block(x.name, x.iters, x.bindings, body, init, pred)
            case For(var, extent, body, kind, ann):
                return For(var, extent, rebuild(body), kind, ann)
            case Seq(stmts):
                return Seq(tuple(rebuild(y) for y in stmts))
            case Allocate(buf, body):
                return Allocate(buf, rebuild(body))
        return x

    return rebuild(s)


def _without(cond: Expr, terms: set[Expr]) -> Expr | None:
    return logical_and(*(Const(1, "bool") if t in terms else t for t in conjuncts(cond)))

