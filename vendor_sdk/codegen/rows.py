"""The row loops of a staging copy, written to be read.

A copy's lane loop steps over the elements of a row, ``L`` at a time; written over the
row's blocks instead (``e_n = L * e_n_blk``), the SRAM row ``(e_n // L) * R`` reads
``R * e_n_blk`` and the DRAM address keeps no division. A source index that is also
bounds-checked (a conv's input row and column, padded) is named once per row, so the
guard and the address read ``iy``, ``ix`` instead of repeating its formula.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.tir.expr import Bin, Const, Expr, Load, Var, binop
from core.tir.visit import map_expr, substitute
from vendor_sdk.codegen.copies import Loops

if TYPE_CHECKING:  # the emitter calls into this module
    from vendor_sdk.codegen.cwriter import CWriter

# Axis names of a rank-4 DRAM tensor: the code generator lays activations out
# channel-last (codegen.layers.nhwc_shape); a rank-2 one is rows of lanes.
NHWC = ("n", "y", "x", "c")


def by_blocks(loops: Loops, lane: int, lanes: int) -> tuple[Loops, dict[str, Expr]]:
    """``loops`` with the lane loop (extent a multiple of ``lanes``, checked by the
    emitter) over row blocks, and the substitution of its variable that goes with it."""
    var, extent = loops[lane]
    assert isinstance(extent, Const) and int(extent.value) % lanes == 0
    blk = Var(f"{var.name}_blk")
    out = list(loops)
    out[lane] = (blk, Const(int(extent.value) // lanes))
    return out, {var.name: binop("*", blk, Const(lanes))}


def sub_all(idx: tuple[Expr, ...], env: dict[str, Expr]) -> tuple[Expr, ...]:
    return tuple(substitute(i, env) for i in idx)


def name_indices(w: CWriter, src: Load, guards: list[tuple[Expr, int]]
                 ) -> tuple[Load, list[tuple[Expr, int]], list[str]]:
    """Name the source indices a guard checks: (the load and guards reading the names,
    the C declarations). Only compound indices are named (a loop variable reads as
    itself)."""
    axes = {4: NHWC, 2: ("row", "lane")}.get(src.buffer.rank,
                                             tuple(f"{k}" for k in range(src.buffer.rank)))
    names: dict[Expr, Var] = {}
    for d, i in enumerate(src.indices):
        if isinstance(i, Var | Const) or i in names:
            continue
        if any(_contains(cond, i) for cond, _ in guards):
            names[i] = Var(f"i{axes[d]}")
    if not names:
        return src, guards, []
    decl = [f"const int64_t {v.name} = {w.ct(i)};" for i, v in names.items()]

    def rename(x: Expr) -> Expr | None:
        return names.get(x)

    idx = tuple(names.get(i, i) for i in src.indices)
    return (Load(src.buffer, idx), [(map_expr(c, rename), v) for c, v in guards], decl)


def _contains(e: Expr, part: Expr) -> bool:
    if e == part:
        return True
    if isinstance(e, Bin):
        return _contains(e.a, part) or _contains(e.b, part)
    return False

