"""Build the tensorized program of a Match under a tiling Plan.

Each intrinsic axis runs over the fused program variables of its role
(``ci*kh*kw -> k``), cut into tiles of the plan's size (a multiple of the
intrinsic's extent; the last tile overhangs and is padded). Per output tile:

    fill C_s from the program's init (bias, 0)        -- the init, decomposed
    for each reduce tile:  stage inputs (gather + pad); intrinsic calls
    store C_s back where the tile lies inside the output

Staging copies read exactly what the program's loads read (strides, dilation,
transposes, the ``select`` padding), so no access pattern has to be
contiguous: the copy is the im2col of one tile, never of the tensor. A copy
sits in the innermost tile loop its operand depends on, so operands that do
not change (weights of a layer whose reduction fits one tile) are staged once
per tile of their own axes. Scratch buffers live in the intrinsic operands'
scopes; the plan may double-buffer any of them (core.schedule.double_buffer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.schedule import double_buffer
from core.schedule.common import ceildiv, divides, simplify
from core.tir.expr import Bin, Const, Expr, Load, Var, binop, const, logical_and, select
from core.tir.stmt import (
    Allocate,
    Block,
    Buffer,
    For,
    IntrinCall,
    IterVar,
    PrimFunc,
    Region,
    Stmt,
    Store,
    seq,
)
from core.tir.visit import substitute, walk_expr
from vendor_sdk.intrinsics.tensorize_match import Match, desc_parts, range_simplify


@dataclass(frozen=True)
class Plan:
    tiles: tuple[tuple[str, int], ...]  # intrinsic axis -> tile extent
    order: tuple[str, ...]  # spatial intrinsic axes, outermost tile loop first
    double_buffer: tuple[str, ...]  # operands whose scratch buffer has two halves

    def tile(self, axis: str) -> int:
        return dict(self.tiles)[axis]


def axis_info(m: Match) -> dict[str, tuple[str, int | None, int]]:
    """Per intrinsic axis: kind, fixed extent (None: variable) and maximum extent."""
    blk, _, _ = desc_parts(m.intrin)
    out: dict[str, tuple[str, int | None, int]] = {}
    for iv in blk.iters:
        fixed = int(iv.extent.value) if isinstance(iv.extent, Const) else None
        out[iv.var.name] = (iv.kind, fixed, fixed or 0)
    return out


def operand_axes(m: Match) -> dict[str, tuple[str, ...]]:
    """Intrinsic operand -> its axes, in the operand's dimension order."""
    _, st, term = desc_parts(m.intrin)
    axes = {st.buffer.name: tuple(i.name for i in st.indices if isinstance(i, Var))}
    for x in walk_expr(term):
        if isinstance(x, Load):
            axes[x.buffer.name] = tuple(i.name for i in x.indices if isinstance(i, Var))
    return axes


def fused_extent(m: Match, axis: str) -> Expr:
    total: Expr = Const(1)
    for iv in m.roles[axis]:
        total = binop("*", total, iv.extent)
    return simplify(total)


class _Names:
    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def __call__(self, base: str) -> Var:
        name, n = base, 0
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return Var(name)


def build(f: PrimFunc, m: Match, plan: Plan) -> PrimFunc:
    """The tensorized program (see the module docstring)."""
    from core.schedule.common import used_names

    names = _Names(used_names(f))
    info, op_axes = axis_info(m), operand_axes(m)
    out_op = desc_parts(m.intrin)[1].buffer.name
    ext = {iv.var.name: int(iv.extent.value) if isinstance(iv.extent, Const) else None
           for iv in m.block.iters}
    spatial = list(plan.order)
    reduce_axes = [a for a, (k, _, _) in info.items() if k == "reduce"]
    lengths = {a: fused_extent(m, a) for a in info}
    trips = {a: ceildiv(lengths[a], plan.tile(a)) for a in info}
    tile_var = {a: names(f"t_{a}") for a in info}
    present = spatial + [a for a in reduce_axes if trips[a] != Const(1)]
    batch_loops = [(names(f"b_{iv.var.name}"), iv) for iv in m.batch]

    def scratch(op: str) -> Buffer:
        p = next(x for x in m.intrin.desc.params if x.name == op)
        return Buffer(f"{op}_{p.scope}", p.dtype,
                      tuple(Const(plan.tile(a)) for a in op_axes[op]), p.scope)

    bufs = {op: scratch(op) for op in op_axes}

    def element_block(label: str, loops_in_scope: list[str], dims: tuple[str, ...],
                      make: Callable[..., tuple[Store, Expr | None]],
                      pred_needed: bool = False) -> Stmt:
        """A block over the outer loops in scope and one element loop per axis of dims;
        ``make(env, elems, flats)`` gives (store, predicate over loops or None)."""
        iters: list[IterVar] = []
        binds: list[Expr] = []
        env: dict[str, Expr] = {}
        for lv, iv in batch_loops:
            v = names(f"{label}_{iv.var.name}")
            iters.append(IterVar(v, iv.extent))
            binds.append(lv)
            env[iv.var.name] = v
        tiles: dict[str, Expr] = {}
        for a in loops_in_scope:
            v = names(f"{label}_t{a}")
            iters.append(IterVar(v, trips[a]))
            binds.append(tile_var[a])
            tiles[a] = v
        elem_loops = [names(f"{label}_{a}") for a in dims]
        elems = {}
        for a, lv in zip(dims, elem_loops, strict=True):
            v = names(f"{label}_e{a}")
            iters.append(IterVar(v, Const(plan.tile(a))))
            binds.append(lv)
            elems[a] = v
        flats = {a: binop("+", binop("*", tiles.get(a, Const(0)), plan.tile(a)), elems[a])
                 for a in dims}
        loop_flats = {a: binop("+", binop("*", tile_var[a] if a in tiles else Const(0),
                                          plan.tile(a)), lv)
                      for a, lv in zip(dims, elem_loops, strict=True)}
        for a in dims:
            env.update(_decode(m, a, flats[a]))
        store, pred = make(env, elems, flats, loop_flats)
        body: Stmt = Block(names(label).name, tuple(iters), tuple(binds), store, None, pred)
        for a, lv in reversed(list(zip(dims, elem_loops, strict=True))):
            body = For(lv, Const(plan.tile(a)), body)
        return body

    def valid(a: str, flat: Expr) -> Expr | None:
        return None if divides(plan.tile(a), lengths[a]) else Bin("<", flat, lengths[a])

    def subst(e: Expr, env: dict[str, Expr]) -> Expr:
        return simplify_all(substitute(range_simplify(e, ext), env))

    def copy_in(op: str, scope_loops: list[str]) -> Stmt:
        o = m.operands[op]
        dims = op_axes[op]

        def make(env: dict, elems: dict, flats: dict, _: dict) -> tuple[Store, None]:
            val: Expr = Load(o.load.buffer, tuple(subst(i, env) for i in o.load.indices))
            if o.guard is not None:
                val = select(subst(o.guard, env), val, const(o.fill, val.dtype))
            inside = logical_and(*(c for a in dims if (c := valid(a, flats[a])) is not None))
            if inside is not None:
                val = select(inside, val, const(0, val.dtype))
            return Store(bufs[op], tuple(elems[a] for a in dims), val), None

        return element_block(f"{op}_load", scope_loops, dims, make)

    c_dims = op_axes[out_op]
    spatial_scope = list(spatial)

    def fill() -> Stmt:
        def make(env: dict, elems: dict, flats: dict, _: dict) -> tuple[Store, None]:
            out_idx = tuple(subst(i, env) for i in m.out.indices)
            val = subst(m.init, env) if m.init is not None else Load(m.out.buffer, out_idx)
            inside = logical_and(*(c for a in c_dims if (c := valid(a, flats[a])) is not None))
            if inside is not None:
                val = select(inside, val, const(0, val.dtype))
            return Store(bufs[out_op], tuple(elems[a] for a in c_dims), val), None

        return element_block(f"{out_op}_init", spatial_scope, c_dims, make)

    def store_back() -> Stmt:
        def make(env: dict, elems: dict, _: dict, loop_flats: dict) -> tuple[Store, Expr | None]:
            out_idx = tuple(subst(i, env) for i in m.out.indices)
            pred = logical_and(*(c for a in c_dims
                                 if (c := valid(a, loop_flats[a])) is not None))
            return Store(m.out.buffer, out_idx,
                         Load(bufs[out_op], tuple(elems[a] for a in c_dims))), pred

        return element_block(f"{out_op}_store", spatial_scope, c_dims, make)

    def calls() -> Stmt:
        # axis -> (sub-tile loop variable, the intrinsic's fixed extent it steps by)
        sub = {a: (names(f"s_{a}"), fixed) for a, (_, fixed, _) in info.items()
               if fixed is not None and plan.tile(a) > fixed}
        regions = []
        for p in m.intrin.desc.params:
            starts, extents = [], []
            for a in op_axes[p.name]:
                fixed = info[a][1]
                starts.append(binop("*", *sub[a]) if a in sub else Const(0))
                extents.append(Const(fixed if fixed is not None else plan.tile(a)))
            regions.append(Region(bufs[p.name], tuple(starts), tuple(extents)))
        body: Stmt = IntrinCall(m.intrin, tuple(regions))
        for a in reversed([a for a in info if a in sub]):
            var, step = sub[a]
            body = For(var, Const(plan.tile(a) // step), body)
        return body

    inputs = [op for op in op_axes if op != out_op]
    home = {op: max((present.index(a) for a in op_axes[op] if a in present), default=-1)
            for op in inputs}

    def copies_at(level: int) -> list[Stmt]:
        scope = present[:level + 1]
        return [copy_in(op, [a for a in scope if a in op_axes[op]])
                for op in inputs if home[op] == level]

    def level(i: int) -> Stmt:
        if i == len(present):
            return calls()
        if i == len(spatial) - 1:  # the output tile: fill, reduce, store back
            body = seq(*copies_at(i), fill(), level(i + 1), store_back())
        else:
            body = seq(*copies_at(i), level(i + 1))
        return For(tile_var[present[i]], trips[present[i]], body)

    nest = seq(*copies_at(-1), level(0))
    for op in reversed(list(bufs)):
        nest = Allocate(bufs[op], nest)
    for lv, iv in reversed(batch_loops):
        nest = For(lv, iv.extent, nest)
    g = f.with_body(_replace_nest(f.body, m.block.name, nest))
    for op in plan.double_buffer:
        g = double_buffer(g, bufs[op].name)
    return g


def simplify_all(e: Expr) -> Expr:
    from core.tir.visit import map_expr

    return map_expr(e, lambda x: simplify(x) if isinstance(x, Bin) and x.dtype == "int64"
                    and x.op in ("+", "-", "*", "//", "%") else None)


def _decode(m: Match, axis: str, flat: Expr) -> dict[str, Expr]:
    """Program variables of a fused axis from its flat index (last variable fastest)."""
    vs = m.roles[axis]
    out: dict[str, Expr] = {}
    stride: Expr = Const(1)
    for k in range(len(vs) - 1, -1, -1):
        q = binop("//", flat, stride)
        out[vs[k].var.name] = simplify(q if k == 0 else binop("%", q, vs[k].extent))
        stride = simplify(binop("*", stride, vs[k].extent))
    return out


def _replace_nest(body: Stmt, block: str, new: Stmt) -> Stmt:
    """Replace the top-level statement holding ``block`` by ``new``."""
    from core.schedule.memory import rebuild, top_level
    from core.tir.visit import walk_stmt

    allocs, stmts = top_level(body)
    k = next(i for i, s in enumerate(stmts)
             if any(isinstance(x, Block) and x.name == block for x in walk_stmt(s)))
    stmts[k] = new
    return rebuild(allocs, stmts)
