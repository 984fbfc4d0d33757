"""Vectorised evaluation of loop nests, used by the interpreter where it is exact.

A nest qualifies when it is a chain of loops and blocks ending in one store
(plus at most one ``init`` store of the innermost block). Every loop variable
of the chain becomes an index array along its own grid axis, so numpy
evaluates all iterations at once; the grid in C order *is* the sequential
iteration order. That equals running the loops in order when

* the stored value reads the written buffer only at the store's own indices,
  and each element is written once (checked on the actual index values); or
* the statement is a reduction ``X[i] = X[i] op e`` (op ``+``, ``min``,
  ``max``) with ``e`` not reading ``X``: numpy's ``ufunc.at`` then applies the
  updates one by one in grid order, in the buffer's dtype, exactly as the
  loops would (float sums keep their order; integer sums wrap identically).

* the innermost block is ``side stores; reduction``: each side store writes its own
  buffer once per element and reads nothing the block writes, and the reduction reads
  side-written buffers only at their own indices (softmax's exp stored and summed):
  the side stores run first over the whole grid, then the reduction as above.

Anything else — loop-carried reads such as prefix sums, extents depending on
the chain's own variables, intrinsic calls — runs iteration by iteration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from core.tir.expr import Bin, Expr, Load
from core.tir.printer import expr_str
from core.tir.stmt import Block, For, Seq, Stmt, Store
from core.tir.visit import free_vars, walk_expr

if TYPE_CHECKING:
    from core.tir.interp import Interpreter

# Elements evaluated at once; bounds the interpreter's temporary memory.
GRID_LIMIT = 1 << 18
_UFUNCS = {"+": np.add, "min": np.minimum, "max": np.maximum}


def _chain(loop: For) -> tuple[list[For | Block], Store | None, Store | None,
                                tuple[Store, ...]]:
    """(levels, the store, its init, side stores before it in the innermost block)."""
    levels: list[For | Block] = []
    s: Stmt = loop
    init: Store | None = None
    side: tuple[Store, ...] = ()
    while True:
        if isinstance(s, For):
            levels.append(s)
            s = s.body
        elif isinstance(s, Block) and isinstance(s.body, Seq) and len(s.body.stmts) > 1 \
                and all(isinstance(x, Store) for x in s.body.stmts) \
                and (s.init is None or isinstance(s.init, Store)):
            levels.append(s)
            init = s.init
            *first, last = s.body.stmts
            side, s = cast(tuple[Store, ...], tuple(first)), last  # all Stores: checked above
            break
        elif isinstance(s, Block) and s.init is None:
            levels.append(s)
            s = s.body
        elif isinstance(s, Block) and isinstance(s.init, Store) and isinstance(s.body, Store):
            levels.append(s)
            init, s = s.init, s.body
        else:
            break
    return levels, (s if isinstance(s, Store) else None), init, side


def _sides_exact(side: tuple[Store, ...], store: Store) -> bool:
    """Side stores can all run before the main store: their values read nothing the block
    writes, and the main store reads what they wrote only at their own indices (the value
    its iteration wrote just before)."""
    names = {x.buffer.name for x in side}
    if len(names) != len(side) or store.buffer.name in names:
        return False
    written = names | {store.buffer.name}
    if any(isinstance(e, Load) and e.buffer.name in written
           for x in side for i in (*x.indices, x.value) for e in walk_expr(i)):
        return False
    at = {x.buffer.name: x.indices for x in side}
    return all(e.indices == at[e.buffer.name] for e in walk_expr(store.value)
               if isinstance(e, Load) and e.buffer.name in at)


def _self_reads(value: Expr, store: Store) -> tuple[bool, bool]:
    """(reads the stored buffer at all, every such read is at the store's indices)."""
    reads = [x for x in walk_expr(value) if isinstance(x, Load)
             and x.buffer.name == store.buffer.name]
    return bool(reads), all(r.indices == store.indices for r in reads)


def _reduction(store: Store) -> tuple[str, Expr] | None:
    v = store.value
    if not isinstance(v, Bin) or v.op not in _UFUNCS:
        return None
    own = Load(store.buffer, store.indices)
    for mine, other in ((v.a, v.b), (v.b, v.a)):
        if mine == own and not _self_reads(other, store)[0]:
            return v.op, other
    return None


def try_vectorized(it: Interpreter, loop: For) -> bool:
    """Run ``loop`` vectorised if that is exact and small enough; False leaves it undone."""
    levels, store, init, side = _chain(loop)
    if store is None or (side and not _sides_exact(side, store)):
        return False
    fors = [lv for lv in levels if isinstance(lv, For)]
    chain_vars = {f.var.name for f in fors} | {
        iv.var.name for lv in levels if isinstance(lv, Block) for iv in lv.iters}
    extents: list[int] = []
    for f in fors:
        if free_vars(f.extent) & chain_vars:
            return False
        extents.append(it.scalar(f.extent))
    total = int(np.prod(extents)) if extents else 1
    if total == 0:
        return True
    if total > GRID_LIMIT and len(fors) > 1:
        return False  # run this loop in order; the nest inside it will vectorise
    reads, own_only = _self_reads(store.value, store)
    reduction = _reduction(store)
    if reads and not own_only and reduction is None:
        return False
    if init is not None and (init.buffer.name != store.buffer.name
                             or init.indices != store.indices
                             or _self_reads(init.value, init)[0]):
        return False
    return _run(it, levels, fors, extents, store, init, reduction, side)


def _run(it: Interpreter, levels: list[For | Block], fors: list[For], extents: list[int],
         store: Store, init: Store | None, reduction: tuple[str, Expr] | None,
         side: tuple[Store, ...] = ()) -> bool:
    grid = tuple(extents)
    env: dict[str, Any] = dict(it.env)
    for axis, f in enumerate(fors):
        shape = [1] * len(grid)
        shape[axis] = grid[axis]
        env[f.var.name] = np.arange(grid[axis], dtype=np.int64).reshape(shape)
    ev = it.evaluator(env)
    mask = np.ones(grid, bool)
    first = np.ones(grid, bool)
    for lv in levels:
        if not isinstance(lv, Block):
            continue
        if lv.predicate is not None:
            mask &= np.broadcast_to(_checked(ev, lv.predicate, lv.name), grid)
        for iv, b in zip(lv.iters, lv.bindings, strict=True):
            v = _checked(ev, b, lv.name)
            ext = it.scalar(iv.extent)
            bad = mask & ((v < 0) | (v >= ext))
            if bad.any():
                raise _error_binding(lv.name, iv.var.name, b, v, bad, ext)
            if iv.kind == "reduce":
                first &= np.broadcast_to(v == 0, grid)
            env[iv.var.name] = v
    sel = mask.reshape(-1)
    for x in side:  # each element written once, so the order of the writes is moot
        dst = it.buffers[x.buffer.name]
        where = _flat_indices(ev, x, dst.shape, mask)[sel]
        if len(np.unique(where)) != where.size:
            return False  # nothing read them yet: the loops redo these stores in order
        _assign(dst, where, _values(ev, x.value, grid, sel, x))
    arr = it.buffers[store.buffer.name]
    flat = _flat_indices(ev, store, arr.shape, mask)[sel]
    unique = len(np.unique(flat)) == flat.size
    reads = _self_reads(store.value, store)[0]
    if reads and not unique and reduction is None:
        return False  # e.g. X[i] = X[i] * 2 repeated: each update sees the previous one
    if init is not None:
        pos = first.reshape(-1)[sel]
        _assign(arr, flat[pos], _values(ev, init.value, grid, sel, init)[pos])
    if reduction is None or unique:
        _assign(arr, flat, _values(ev, store.value, grid, sel, store))
        return True
    op, update = reduction
    vals = _values(ev, update, grid, sel, store).astype(arr.dtype)
    if op != "+" and np.issubdtype(arr.dtype, np.floating) and np.isnan(vals).any():
        # ufunc min/max treat NaN unlike the IR's compare-select. Falling back after the
        # init stores is safe: the loops redo them before any element is read.
        return False
    with np.errstate(all="ignore"):
        _UFUNCS[op].at(arr, np.unravel_index(flat, arr.shape), vals)
    return True


def _checked(ev: Any, e: Expr, where: str) -> np.ndarray:
    v, p = ev(e)
    if p is not None and p.any():
        raise _oob(ev, f"block {where}")
    return v


def _oob(ev: Any, where: str) -> Exception:
    from core.tir.interp import InterpError

    return InterpError(f"{where}: out-of-bounds load {'; '.join(dict.fromkeys(ev.bad_loads))}")


def _error_binding(block: str, var: str, b: Expr, v: np.ndarray, bad: np.ndarray,
                   ext: int) -> Exception:
    from core.tir.interp import InterpError

    value = int(np.broadcast_to(v, bad.shape)[bad].reshape(-1)[0])
    return InterpError(f"block {block}: {var} = {expr_str(b)} = {value} is outside [0, {ext})")


def _flat_indices(ev: Any, store: Store, shape: tuple[int, ...], mask: np.ndarray) -> np.ndarray:
    from core.tir.interp import InterpError

    coords = []
    for ax, ix in enumerate(store.indices):
        v = np.broadcast_to(_checked(ev, ix, f"store to {store.buffer.name}"), mask.shape)
        bad = mask & ((v < 0) | (v >= shape[ax]))
        if bad.any():
            raise InterpError(f"store to {store.buffer.name}: index {ax} "
                              f"'{expr_str(ix)}' = {int(v[bad][0])} is outside "
                              f"[0, {shape[ax]})")
        coords.append(np.where(mask, v, 0).reshape(-1))
    if not coords:
        return np.zeros(mask.size, np.int64)
    return np.ravel_multi_index(tuple(coords), shape)


def _values(ev: Any, e: Expr, grid: tuple[int, ...], sel: np.ndarray, store: Store) -> np.ndarray:
    v, p = ev(e)
    if p is not None and (np.broadcast_to(p, grid).reshape(-1) & sel).any():
        raise _oob(ev, f"store to {store.buffer.name}")
    return np.broadcast_to(v, grid).reshape(-1)[sel]


def _assign(arr: np.ndarray, flat: np.ndarray, vals: np.ndarray) -> None:
    """Sequential assignment semantics: for repeated indices the last write wins."""
    if flat.size == 0:
        return
    _, last = np.unique(flat[::-1], return_index=True)
    keep = flat.size - 1 - last
    # Coordinates, not a flat view: the array may be a strided region (intrinsic operand).
    arr[np.unravel_index(flat[keep], arr.shape)] = vals[keep]
