"""blockize and tensorize: hand a loop nest to a tensor intrinsic.

``tensorize(f, loop, intrin, mapping)`` replaces the nest under ``loop``
(loops, then one block) by an :class:`IntrinCall`, given which loop plays
which intrinsic axis. It proves the replacement exact by structural matching:
the block's stored expression must equal the intrinsic's, node for node —
operators (commutative ones in either order), casts and dtypes — with each
intrinsic operand bound to one program buffer accessed at ``base + loop``
along each mapped axis (unit stride, axes in the operand's order) and not
varying along the others. Each failure says what differs, where, and what
transformation would make it match. Finding the mapping is the auto-
tensorizer's job; this primitive only checks and applies one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.schedule.common import (
    ScheduleError,
    TensorizeError,
    fresh,
    get_loop,
    loop_chain,
    replace_loop,
    simplify,
    to_dim,
    used_names,
    uses,
)
from core.schedule.loops import subst_stmt
from core.tir.expr import Bin, Cast, Const, Expr, Load, RShiftRound, Select, Unary, Var
from core.tir.printer import expr_str
from core.tir.stmt import (
    Block,
    Buffer,
    For,
    IntrinCall,
    IterVar,
    PrimFunc,
    Region,
    Stmt,
    Store,
    TensorIntrin,
)
from core.tir.visit import substitute, walk_expr, walk_stmt

COMMUTATIVE = ("+", "*", "min", "max", "==", "!=", "&", "|", "^", "and", "or")


def enclosing_loops(f: PrimFunc, name: str) -> list[For]:
    """Loops around loop ``name``, outermost first (stopping at blocks: they hide loops)."""
    path: list[For] = []

    def visit(s: Stmt, stack: list[For]) -> bool:
        if isinstance(s, For):
            if s.var.name == name:
                path.extend(stack)
                return True
            return visit(s.body, [*stack, s])
        if isinstance(s, Block):
            return visit(s.body, []) or (s.init is not None and visit(s.init, []))
        children = getattr(s, "stmts", None) or ((s.body,) if hasattr(s, "body") else ())
        return any(visit(c, stack) for c in children)

    visit(f.body, [])
    return path


def blockize(f: PrimFunc, loop: str) -> PrimFunc:
    """Wrap the nest under ``loop`` in a block over the loops around it.

    The new block ``<inner>_o`` has one iteration variable per enclosing loop
    the nest uses — reduce if that loop only feeds reduce variables of the
    blocks inside, spatial otherwise — so the nest becomes a unit that
    tensorize and later stages can treat like any block.
    """
    lp = get_loop(f, loop, "blockize")
    inner = [s for s in walk_stmt(lp) if isinstance(s, Block)]
    if not inner:
        raise ScheduleError("blockize", f"loop {loop}", "there is no block under it",
                            "blockize a loop around a block")
    outer = [x for x in enclosing_loops(f, loop) if _mentions(lp, x.var.name)]
    used = used_names(f)
    iters, env = [], {}
    for x in outer:
        kinds = {iv.kind for b in inner for iv, e in zip(b.iters, b.bindings, strict=True)
                 if uses(e, {x.var.name})}
        if kinds == {"spatial", "reduce"}:
            raise ScheduleError("blockize", f"loop {x.var.name}",
                                "it feeds both spatial and reduce variables of the blocks inside",
                                "split the loop so each part feeds one kind")
        v = Var(fresh(f"{x.var.name}_v", used))
        iters.append(IterVar(v, x.extent, "reduce" if kinds == {"reduce"} else "spatial"))
        env[x.var.name] = v
    name = fresh(f"{inner[0].name}_o", used)
    block = Block(name, tuple(iters), tuple(x.var for x in outer), subst_stmt(lp, env))
    return replace_loop(f, loop, block)


def _mentions(s: Stmt, name: str) -> bool:
    from core.tir.visit import stmt_exprs

    return any(uses(e, {name}) for x in walk_stmt(s) for e in stmt_exprs(x))


@dataclass
class _Match:
    """State of one structural match: operand -> (buffer, region, axes)."""

    loops: dict[str, For]  # program loops of the nest, by name
    axis_loop: dict[str, str]  # intrinsic iteration variable -> program loop
    desc_axes: dict[str, Expr]  # intrinsic iteration variable -> its extent
    # operand -> (buffer, region starts, region axes of its axes, region extents)
    operands: dict[str, tuple[Buffer, tuple[Expr, ...], tuple[int, ...], tuple[Expr, ...]]] = \
        field(default_factory=dict)


class _Mismatch(Exception):
    pass


def _strip(prog: Expr, desc: Expr) -> str:
    return f"program has '{expr_str(prog)}' ({prog.dtype}), intrinsic has " \
           f"'{expr_str(desc)}' ({desc.dtype})"


def _match(p: Expr, d: Expr, m: _Match, where: str) -> None:
    if p.dtype != d.dtype and not isinstance(d, Load):
        hint = " (a cast differs)" if isinstance(p, Cast) or isinstance(d, Cast) else ""
        raise _Mismatch(f"at '{expr_str(d)}': {_strip(p, d)}{hint}")
    match p, d:
        case Const(a, _), Const(b, _):
            if a != b:
                raise _Mismatch(f"constant {a} where the intrinsic has {b}")
        case Bin(op, pa, pb), Bin(dop, da, db) if op == dop:
            try:
                _match(pa, da, m, where)
                _match(pb, db, m, where)
            except _Mismatch as first:
                if op not in COMMUTATIVE:
                    raise
                saved = dict(m.operands)
                try:
                    _match(pa, db, m, where)
                    _match(pb, da, m, where)
                except _Mismatch:
                    m.operands = saved
                    raise first from None  # the operands in written order explain best
        case Unary(op, pa), Unary(dop, da) if op == dop:
            _match(pa, da, m, where)
        case Cast(dt, pa), Cast(ddt, da) if dt == ddt:
            _match(pa, da, m, where)
        case Select(pc, pa, pb), Select(dc, da, db):
            _match(pc, dc, m, where)
            _match(pa, da, m, where)
            _match(pb, db, m, where)
        case RShiftRound(px, ps, mode), RShiftRound(dx, ds, dmode) if mode == dmode:
            _match(px, dx, m, where)
            _match(ps, ds, m, where)
        case Load(), Load():
            _match_access(p, d, m)
        case _:
            hint = " (a cast differs)" if isinstance(p, Cast) != isinstance(d, Cast) else ""
            raise _Mismatch(f"at '{expr_str(d)}': {_strip(p, d)}{hint}")


def _match_access(p: Load, d: Load, m: _Match) -> None:
    """Bind intrinsic operand d.buffer to program buffer p.buffer at a checked region."""
    op, buf = d.buffer, p.buffer
    if op.dtype != buf.dtype:
        raise _Mismatch(f"operand {op.name} is {op.dtype}, program buffer {buf.name} is "
                        f"{buf.dtype}")
    loops = set(m.loops)
    axes: list[int] = []
    for di in d.indices:
        if not isinstance(di, Var) or di.name not in m.axis_loop:
            raise _Mismatch(f"operand {op.name} index '{expr_str(di)}' is not an axis")
        lname = m.axis_loop[di.name]
        hits = [k for k, e in enumerate(p.indices) if uses(e, {lname})]
        if len(hits) != 1:
            raise _Mismatch(f"operand {op.name} axis {di.name} (loop {lname}) appears in "
                            f"{len(hits)} indices of {buf.name}{_idx(p)}; it must index exactly "
                            "one dimension")
        k = hits[0]
        step = to_dim(simplify(substitute(p.indices[k], {lname: Const(1)})
                               - substitute(p.indices[k], {lname: Const(0)})))
        if step != 1:
            raise _Mismatch(f"{buf.name}{_idx(p)} steps by {step} along loop {lname}; the "
                            f"intrinsic's operand {op.name} needs unit stride (cache_read "
                            "into a contiguous scratch buffer first)")
        axes.append(k)
    if axes != sorted(axes):
        raise _Mismatch(f"{buf.name}{_idx(p)} holds the axes of operand {op.name} in another "
                        "order than the intrinsic; change the layout (transpose) first")
    for k, e in enumerate(p.indices):
        if k not in axes and uses(e, loops):
            raise _Mismatch(f"index {k} of {buf.name}{_idx(p)} varies with loops of the nest "
                            f"but operand {op.name} has no such axis")
    zero = {n: Const(0) for n in loops}
    starts = tuple(simplify(substitute(e, zero)) for e in p.indices)
    prev = m.operands.get(op.name)
    if prev is not None and (prev[0].name != buf.name or prev[1] != starts):
        raise _Mismatch(f"operand {op.name} is read as {prev[0].name} and as {buf.name}"
                        f"{_idx(p)}; one operand must be one region")
    extents: list[Expr] = [Const(1)] * buf.rank
    for k, di in zip(axes, d.indices, strict=True):
        assert isinstance(di, Var)
        extents[k] = m.loops[m.axis_loop[di.name]].extent
    m.operands[op.name] = (buf, starts, tuple(axes), tuple(extents))


def _idx(ld: Load | Store) -> str:
    return "[" + ", ".join(expr_str(i) for i in ld.indices) + "]"


def _nest(root: For, primitive: str) -> tuple[list[For], Block]:
    chain = loop_chain(root, primitive)
    body = chain[-1].body
    if not isinstance(body, Block) or not isinstance(body.body, Store):
        raise TensorizeError(primitive, f"loop {root.var.name}",
                             "the nest under it is not loops around one block with one store",
                             "split the computation so one block remains under the loop")
    return chain, body


def tensorize(f: PrimFunc, loop: str, intrin: TensorIntrin,
              mapping: Mapping[str, str]) -> PrimFunc:
    """Replace the nest under ``loop`` by a call of ``intrin`` (a TensorIntrin).

    ``mapping`` maps each iteration variable of the intrinsic's block to a
    loop of the nest.
    """
    name = intrin.name
    top = get_loop(f, loop, "tensorize")
    chain, block = _nest(top, "tensorize")
    dtop = intrin.desc.body
    if not isinstance(dtop, For):
        raise TensorizeError("tensorize", f"intrinsic {name}", "its description is not a loop "
                             "nest", "describe the intrinsic as loops around one block")
    dchain, dblock = _nest(dtop, "tensorize")
    prog_bind = {iv.var.name: b for iv, b in zip(block.iters, block.bindings, strict=True)}
    loops = {lp.var.name: lp for lp in chain}
    desc_loop_iter = {b.name: iv for iv, b in zip(dblock.iters, dblock.bindings, strict=True)
                      if isinstance(b, Var)}
    where = f"loop {loop} (block {block.name}) onto {name}"
    unknown = [a for a in mapping if a not in {iv.var.name for iv in dblock.iters}]
    if unknown:
        raise TensorizeError("tensorize", where, f"{unknown} are not axes of {name}",
                             f"map {[iv.var.name for iv in dblock.iters]}")
    m = _Match(loops, dict(mapping), {})
    for dl in dchain:
        iv = desc_loop_iter.get(dl.var.name)
        if iv is None:
            raise TensorizeError("tensorize", f"intrinsic {name}", f"loop {dl.var.name} binds no "
                                 "iteration variable directly", "bind each iteration variable "
                                 "to one loop in the description")
        if iv.var.name not in mapping:
            raise TensorizeError("tensorize", where, f"intrinsic axis {iv.var.name} is unmapped",
                                 f"map it to one of {list(loops)}")
    targets = list(mapping.values())
    for lname in targets:
        if lname not in loops:
            raise TensorizeError("tensorize", where, f"loop {lname} is not in the nest "
                                 f"{list(loops)}", "map intrinsic axes to loops under "
                                 f"{loop} (split/reorder so they are)")
    unmapped = [n for n in loops if n not in targets]
    if unmapped or len(set(targets)) != len(targets):
        raise TensorizeError("tensorize", where, f"loops {unmapped or targets} are not mapped "
                             "one to one", f"tensorize at the loop below them, or map each "
                             f"loop of {list(loops)} once")
    _check_axes(block, prog_bind, dblock, mapping, loops, where, intrin.desc)
    pstore, dstore = block.body, dblock.body
    assert isinstance(pstore, Store) and isinstance(dstore, Store)
    pval = _inline(pstore, prog_bind)
    if (block.init is None) != (dblock.init is None):
        has = "has" if block.init is not None else "has no"
        raise TensorizeError("tensorize", where, f"block {block.name} {has} init but the "
                             "intrinsic variant does not match that",
                             "use the intrinsic's init variant, or split the init off the "
                             "reduction")
    if block.predicate is not None:
        raise TensorizeError("tensorize", where, f"block {block.name} is guarded by "
                             f"'{expr_str(block.predicate)}' (a partial tile)",
                             "pad the loops to a multiple of the intrinsic's extents first")
    if block.init is not None:
        outside = sorted({v for iv, b in zip(block.iters, block.bindings, strict=True)
                          if iv.kind == "reduce" for v in _vars(b) if v not in loops}
                         - {x.var.name for x in enclosing_loops(f, loop) if x.extent == Const(1)})
        if outside:
            raise TensorizeError("tensorize", where, f"reduce loops {outside} are outside the "
                                 "nest, so the intrinsic's init would run at each of their "
                                 "iterations", f"tensorize at a loop enclosing {outside}, or "
                                 "initialize separately and use the accumulating variant")
    try:
        _match(pval[0], Load(dstore.buffer, dstore.indices), m, where)
        _match(pval[1], dstore.value, m, where)
        if block.init is not None and dblock.init is not None:
            assert isinstance(block.init, Store) and isinstance(dblock.init, Store)
            pi = _inline(block.init, prog_bind)
            _match(pi[0], Load(dblock.init.buffer, dblock.init.indices), m, where)
            _match(pi[1], dblock.init.value, m, where)
    except _Mismatch as e:
        raise TensorizeError("tensorize", where, str(e),
                             "make the program compute exactly the intrinsic's expression "
                             "(casts and dtypes included) or choose another intrinsic") from None
    return replace_loop(f, loop, _call(intrin, m, where))


def _vars(e: Expr) -> set[str]:
    return {x.name for x in walk_expr(e) if isinstance(x, Var)}


def _inline(s: Store, bind: Mapping[str, Expr]) -> tuple[Load, Expr]:
    return (Load(s.buffer, tuple(simplify(substitute(i, bind)) for i in s.indices)),
            _subst_loads(s.value, bind))


def _subst_loads(e: Expr, bind: Mapping[str, Expr]) -> Expr:
    from core.tir.visit import map_expr

    return map_expr(e, lambda x: Load(x.buffer, tuple(simplify(substitute(i, bind))
                                                       for i in x.indices))
                    if isinstance(x, Load) else None)


def _check_axes(block: Block, bind: Mapping[str, Expr], dblock: Block,
                mapping: Mapping[str, str], loops: Mapping[str, For], where: str,
                desc: PrimFunc) -> None:
    from core.tir.verify import size_vars

    sizes = set(size_vars(desc))
    for div in dblock.iters:
        lp = loops[mapping[div.var.name]]
        kinds = {iv.kind for iv in block.iters if uses(bind[iv.var.name], {lp.var.name})}
        if kinds and kinds != {div.kind}:
            raise TensorizeError("tensorize", where, f"loop {lp.var.name} feeds {kinds} "
                                 f"variables of block {block.name}, intrinsic axis "
                                 f"{div.var.name} is {div.kind}", "map spatial to spatial and "
                                 "reduce to reduce")
        ext = div.extent
        if isinstance(ext, Var) and ext.name in sizes:
            continue  # a variable extent: the instruction takes the loop's count
        if to_dim(simplify(ext - lp.extent)) != 0:
            raise TensorizeError("tensorize", where, f"loop {lp.var.name} runs "
                                 f"{expr_str(lp.extent)} times, intrinsic axis {div.var.name} "
                                 f"needs {expr_str(ext)}", f"split {lp.var.name} by "
                                 f"{expr_str(ext)} (pad it to a multiple first if needed)")


def _call(intrin: TensorIntrin, m: _Match, where: str) -> IntrinCall:
    regions, dims = [], []
    for p in intrin.desc.params:
        if p.name not in m.operands:
            raise TensorizeError("tensorize", where, f"operand {p.name} is not accessed by the "
                                 "intrinsic's statement", "fix the intrinsic description")
        buf, starts, axes, extents = m.operands[p.name]
        regions.append(Region(buf, starts, extents))
        dims.append(axes)
    return IntrinCall(intrin, tuple(regions), tuple(dims))
