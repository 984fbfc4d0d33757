"""The shape of a target's tiles, read from its declared intrinsics and memories.

Nothing here knows a vendor's parameter names. The GEMM intrinsic (the one that reduces:
``C[m,n] += sum(k, A[m,k] * B[..])``) gives

- ``k``: input lanes per row of the input memory (its reduction extent),
- ``n``: output lanes per accumulator row (its output-channel extent),
- the weight operand's index order: ``[k, n]`` (a weight row is an input channel, the
  reference NPU's) or ``[n, k]`` (a weight row is an output lane, a dot-product unit's).
  The weights are packed in DRAM in that order, so a tile row is contiguous.

Activations live in DRAM channel-last with channels padded to ``channels``: a common
multiple of every activation memory's row (input, accumulator, output), so a layer's
output written as rows of ``n`` is read by the next layer as rows of ``k`` and by an
element-wise layer as rows of its own lanes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.target import Target

ACTIVATION_ROLES = ("input", "accumulator", "output")


@dataclass(frozen=True, slots=True)
class Tiling:
    k: int              # input lanes (the GEMM's reduction extent per call)
    n: int              # output lanes (output channels per call)
    weight_nk: bool     # the weight operand is declared [n, k]: packed [N, K] in DRAM
    channels: int       # DRAM channel padding of activations (and of weight K / N)


def _fixed(sem: Semantics, axis: str) -> int | None:
    ax = sem.axes.get(axis)
    return ax.max if ax is not None and ax.min == ax.max else None


def gemm_intrinsic(target: Target) -> Semantics | None:
    """The target's reducing intrinsic (semantics), or None when it has none."""
    sems = target.semantics
    return next((s for _, s in sorted(sems.items()) if s.loop_nest("").reduce), None)


def tiling_of(target: Target) -> Tiling:
    """The tile shape of ``target`` (the whole target, not a pattern's restricted view)."""
    key = id(target)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is target:
        return hit[1]
    t = _derive(target)
    if len(_MEMO) >= 64:
        _MEMO.clear()
    _MEMO[key] = (target, t)
    return t


_MEMO: dict[int, tuple[Target, Tiling]] = {}


def _derive(target: Target) -> Tiling:
    mems = target.memories
    rows = [m.row_elems for m in mems.values() if m.role in ACTIVATION_ROLES]
    if not rows:
        raise CodegenError(f"target {target.name} has no memory with role "
                           f"{' / '.join(ACTIVATION_ROLES)}: activations have no row width")
    k = n = rows[0]
    weight_nk = False
    sem = gemm_intrinsic(target)
    if sem is not None:
        nest = sem.loop_nest("")
        kname = str(nest.reduce[0])
        out = next(iter(sem.outputs))
        nname = out.shape[-1] if out.shape else ""
        k = _fixed(sem, kname) or k
        n = _fixed(sem, nname) or n
        # the weight: the input indexed by both the reduction and the output lanes
        weight = next((o for o in sem.inputs
                       if o.kind == "input" and kname in o.shape and nname in o.shape), None)
        if weight is not None and len(weight.shape) == 2:
            weight_nk = weight.shape[0] == nname
    return Tiling(k, n, weight_nk, math.lcm(k, n, *rows))
