"""Structural matching of a reduction block against an intrinsic's description.

A program block ``out[..] = out[..] + upd`` matches an accumulating intrinsic
``C[..] = C[..] + dupd`` when ``upd`` equals ``dupd`` node for node (casts and
dtypes included; ``+ * min max`` in either order), each intrinsic operand
standing for one program load. A ``select(in_bounds, x, v)`` around an
operand is padding: the staging copy applies it, which is exact when ``v`` is
a value of the operand's own dtype.

Axis roles come from access patterns, not names: an intrinsic axis is
characterised by the set of operands it indexes (GEMM: m -> {A, C}, n ->
{B, C}, k -> {A, B}); a program iteration variable takes the role of the
axis indexed by exactly the operands it indexes (conv: output pixels -> m,
output channels -> n, input channels and kernel taps -> k). Several program
variables on one axis are fused; a variable indexing every operand (a batch
or group) stays an outer loop. Dependence is decided after range-aware
simplification, so ``oc // OC`` (group 0 of 1) does not count.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.tir.expr import Bin, Cast, Const, Expr, Load, Select, Var, is_int
from core.tir.printer import expr_str
from core.tir.stmt import Block, IterVar, PrimFunc, Stmt, Store, TensorIntrin
from core.tir.visit import map_expr, walk_expr, walk_stmt

COMMUTATIVE = ("+", "*", "min", "max")


class Mismatch(Exception):
    """Why a block does not match an intrinsic: the condition and the fix."""

    def __init__(self, condition: str, fix: str) -> None:
        super().__init__(f"{condition}; fix: {fix}")
        self.condition, self.fix = condition, fix


@dataclass(frozen=True)
class Operand:
    """An intrinsic input bound to a program load, maybe guarded (padding)."""

    name: str
    load: Load
    guard: Expr | None
    fill: int


@dataclass(frozen=True)
class Match:
    intrin: TensorIntrin
    block: Block
    out: Store  # the program's store (over block iteration variables)
    init: Expr | None  # the program's init value, None: accumulate into the output
    operands: dict[str, Operand]
    roles: dict[str, tuple[IterVar, ...]]  # intrinsic axis -> program variables, fused
    batch: tuple[IterVar, ...]  # program variables indexing every operand
    axis_sets: dict[str, frozenset[str]]  # intrinsic axis -> operands it indexes


def desc_parts(intrin: TensorIntrin) -> tuple[Block, Store, Expr]:
    """The intrinsic's block, its store, and the accumulated term of ``C = C + term``."""
    blk = next(s for s in _stmts(intrin.desc.body) if isinstance(s, Block))
    st = blk.body
    if not isinstance(st, Store) or not isinstance(st.value, Bin) or st.value.op != "+" \
            or st.value.a != Load(st.buffer, st.indices) or blk.init is not None:
        raise Mismatch(f"{intrin.name} is not an accumulating statement C = C + ...",
                       "declare the accumulating form as the main compute")
    return blk, st, st.value.b


def _stmts(s: Stmt) -> list[Stmt]:
    return list(walk_stmt(s))


def _bounds(e: Expr, ext: dict[str, int | None]) -> tuple[int, int | None] | None:
    """[lo, hi] of an index expression (hi None: unbounded), None if unknown."""
    match e:
        case Const(v, "int64"):
            return int(v), int(v)
        case Var(n) if n in ext:
            x = ext[n]
            return 0, None if x is None else x - 1
        case Bin("+", a, b):
            ba, bb = _bounds(a, ext), _bounds(b, ext)
            if ba and bb:
                return ba[0] + bb[0], None if ba[1] is None or bb[1] is None else ba[1] + bb[1]
        case Bin("*", a, Const(c)) if c >= 0:
            ba = _bounds(a, ext)
            if ba:
                k = int(c)  # an index expression's constants are integers
                return ba[0] * k, None if ba[1] is None else ba[1] * k
    return None


def range_simplify(e: Expr, ext: dict[str, int | None]) -> Expr:
    """Drop ``x // c`` (-> 0) and ``x % c`` (-> x) where 0 <= x < c is provable."""

    def fn(x: Expr) -> Expr | None:
        if isinstance(x, Bin) and x.op in ("//", "%") and isinstance(x.b, Const):
            b = _bounds(x.a, ext)
            if b and b[0] >= 0 and b[1] is not None and b[1] < x.b.value:
                return Const(0) if x.op == "//" else x.a
        if isinstance(x, Bin) and x.op == "*" and Const(0) in (x.a, x.b) and x.dtype == "int64":
            return Const(0)
        if isinstance(x, Bin) and x.op == "+" and x.dtype == "int64":
            if x.a == Const(0):
                return x.b
            if x.b == Const(0):
                return x.a
        return None

    return map_expr(e, fn)


def _uses(e: Expr, name: str) -> bool:
    return any(isinstance(x, Var) and x.name == name for x in walk_expr(e))


def _leaf(d: Expr) -> Load | None:
    """The operand load of an intrinsic leaf ``A[..]`` or ``i32(A[..])``."""
    inner = d.a if isinstance(d, Cast) else d
    return inner if isinstance(inner, Load) else None


class _Unify:
    def __init__(self, intrin: TensorIntrin) -> None:
        self.intrin = intrin
        self.bound: dict[str, Operand] = {}

    def __call__(self, p: Expr, d: Expr, guard: Expr | None = None, fill: int = 0) -> None:
        if isinstance(p, Select) and isinstance(p.b, Const) and _leaf(d) is not None:
            ld = _leaf(d)
            assert ld is not None
            if not is_int(ld.dtype) or not _fits(p.b.value, ld.dtype):
                raise Mismatch(f"padding value {p.b.value} of '{expr_str(p)}' is not a "
                               f"{ld.dtype}, so a padded {ld.buffer.name} cannot hold it",
                               "pad with a value of the operand's dtype")
            g = p.cond if guard is None else Bin("and", guard, p.cond)
            return self(p.a, d, g, int(p.b.value))
        if p.dtype != d.dtype:
            cast = " (a cast differs)" if isinstance(p, Cast) != isinstance(d, Cast) else ""
            raise Mismatch(f"program has '{expr_str(p)}' ({p.dtype}) where {self.intrin.name} "
                           f"has '{expr_str(d)}' ({d.dtype}){cast}",
                           "compute in the intrinsic's dtypes (quantize the operator), or "
                           "leave it on the host")
        match p, d:
            case Load(), Load(dbuf, _):
                prev = self.bound.get(dbuf.name)
                op = Operand(dbuf.name, p, guard, fill)
                if prev is not None and prev != op:
                    raise Mismatch(f"operand {dbuf.name} would be both '{expr_str(prev.load)}' "
                                   f"and '{expr_str(p)}'", "one operand must be one tensor")
                self.bound[dbuf.name] = op
            case Cast(dt, pa), Cast(ddt, da) if dt == ddt:
                self(pa, da, guard, fill)
            case Const(a, _), Const(b, _) if a == b:
                pass
            case Bin(op, pa, pb), Bin(dop, da, db) if op == dop:
                saved = dict(self.bound)
                try:
                    self(pa, da, guard, fill)
                    self(pb, db, guard, fill)
                except Mismatch:
                    if op not in COMMUTATIVE:
                        raise
                    self.bound = saved
                    self(pa, db, guard, fill)
                    self(pb, da, guard, fill)
            case _:
                raise Mismatch(f"program computes '{expr_str(p)}' where {self.intrin.name} "
                               f"computes '{expr_str(d)}'", "choose an intrinsic with this "
                               "operation, or leave the operator on the host")


def _fits(v: int | float, dtype: str) -> bool:
    import numpy as np

    info = np.iinfo(dtype)
    return float(v).is_integer() and info.min <= v <= info.max


def reduction_block(f: PrimFunc) -> Block:
    blocks = [s for s in _stmts(f.body) if isinstance(s, Block) and s.reduce]
    if len(blocks) != 1:
        raise Mismatch(f"{f.name} has {len(blocks)} reduction blocks",
                       "tensorize one reduction per function (partition the graph per op)")
    return blocks[0]


def match(f: PrimFunc, intrin: TensorIntrin) -> Match:
    """Bind ``intrin``'s operands and axes to ``f``'s reduction block, or raise Mismatch."""
    block = reduction_block(f)
    dblock, dstore, dterm = desc_parts(intrin)
    st = block.body
    if not isinstance(st, Store):
        raise Mismatch(f"block {block.name} holds more than one store", "split it")
    cur = Load(st.buffer, st.indices)
    v = st.value
    if not isinstance(v, Bin) or v.op != "+" or cur not in (v.a, v.b):
        raise Mismatch(f"block {block.name} stores '{expr_str(v)}', not "
                       f"{st.buffer.name} + (term)", "only accumulations map onto "
                       f"{intrin.name}")
    term = v.b if v.a == cur else v.a
    if st.buffer.dtype != dstore.buffer.dtype:
        raise Mismatch(f"program accumulates {st.buffer.dtype} ({st.buffer.name}), "
                       f"{intrin.name} accumulates {dstore.buffer.dtype}",
                       "quantize the operator so it accumulates in the intrinsic's dtype")
    uni = _Unify(intrin)
    uni(term, dterm)
    init = None
    if block.init is not None:
        if not isinstance(block.init, Store) or block.init.indices != st.indices:
            raise Mismatch(f"block {block.name}'s init is not one store to its output",
                           "initialize the output element by element")
        init = block.init.value
    ext = {iv.var.name: int(iv.extent.value) if isinstance(iv.extent, Const) else None
           for iv in block.iters}
    axis_sets: dict[str, frozenset[str]] = {}
    uses_of: dict[str, tuple[Expr, ...]] = {
        name: op.load.indices for name, op in uni.bound.items()}
    uses_of[dstore.buffer.name] = st.indices
    for div in dblock.iters:
        axis_sets[div.var.name] = frozenset(
            p.name for p in intrin.desc.params
            if any(isinstance(x, Load) and x.buffer.name == p.name and _uses_idx(x, div.var)
                   for x in walk_expr(dstore.value))
            or (p.name == dstore.buffer.name and div.var in dstore.indices))
    everything = frozenset(uses_of)
    roles: dict[str, list[IterVar]] = {a: [] for a in axis_sets}
    batch: list[IterVar] = []
    kinds = {div.var.name: div.kind for div in dblock.iters}
    for iv in block.iters:
        hits = frozenset(n for n, idx in uses_of.items()
                         if any(_uses(range_simplify(e, ext), iv.var.name) for e in idx))
        if not hits:
            continue
        axes = [a for a, s in axis_sets.items() if s == hits]
        if len(axes) == 1 and kinds[axes[0]] == iv.kind:
            roles[axes[0]].append(iv)
        elif hits == everything and iv.kind == "spatial" and not axes:
            batch.append(iv)
        elif len(axes) > 1:
            raise Mismatch(f"{iv.var.name} indexes {sorted(hits)}, as do intrinsic axes "
                           f"{axes}: its role is ambiguous", "use an intrinsic whose axes "
                           "are told apart by the operands they index")
        else:
            want = {a: sorted(s) for a, s in axis_sets.items()}
            raise Mismatch(f"{iv.kind} variable {iv.var.name} indexes {sorted(hits)}; no "
                           f"{iv.kind} axis of {intrin.name} indexes exactly those {want}",
                           "change the layout so each loop plays one intrinsic role")
    return Match(intrin, block, st, init, dict(uni.bound),
                 {a: tuple(v) for a, v in roles.items()}, tuple(batch), axis_sets)


def _uses_idx(ld: Load, v: Var) -> bool:
    return v in ld.indices


def zero_when_padded(term: Expr, padded: set[str]) -> bool:
    """The accumulated term is 0 whenever an operand in ``padded`` reads 0: padding the
    reduction adds nothing (true for products, not for e.g. ``A - B``)."""
    match term:
        case Load(buf, _):
            return buf.name in padded
        case Cast(_, a):
            return zero_when_padded(a, padded)
        case Bin("*", a, b):
            return zero_when_padded(a, padded) or zero_when_padded(b, padded)
        case Bin("+" | "-", a, b):
            return zero_when_padded(a, padded) and zero_when_padded(b, padded)
        case Const(v, _):
            return v == 0
    return False
