"""Tile-size and loop-order search against the cycle model.

Candidates: per intrinsic axis, tiles that are multiples of its fixed
extent (powers of two and the whole padded axis) or, for a variable-extent
axis, powers of two and even splits of the axis within its declared range;
every order of the spatial tile loops; no double buffering, double-buffered
inputs, or every operand double-buffered (the output's second half only
lets a tile's store overlap the next tile, which on a machine whose store
reads a separate memory it does anyway, so a single output tile twice the
size is often the better use of the accumulator). A candidate must fit:
each scratch buffer (twice when double-buffered) in its memory scope's
capacity (the target's memories less the rows the code generator keeps for
layer constants: tensorize._capacity). The
cheapest estimate wins; ties break on the plan's text, and when there are
more candidates than the budget a seeded sample is scored, so the result
is deterministic for a given seed. The budget samples among the candidates
that fit, never the whole space.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from vendor_sdk.intrinsics.cost import DEFAULT_MODEL, CostModel, Estimate, _value, estimate
from vendor_sdk.intrinsics.tensorize_build import Plan, axis_info, fused_extent, operand_axes
from vendor_sdk.intrinsics.tensorize_match import Match, desc_parts

BUDGET = 3000


@dataclass(frozen=True)
class Searched:
    plan: Plan | None
    estimate: Estimate | None
    considered: int
    reason: str  # why nothing fits, when plan is None


def _tiles(length: int, fixed: int | None, lo: int, hi: int) -> list[int]:
    if fixed is not None:
        whole = -(-length // fixed)
        mults = {1 << p for p in range(whole.bit_length() + 1) if (1 << p) <= whole} | {whole}
        return sorted(fixed * r for r in mults)
    hi = min(hi, max(lo, length))
    cands = {1 << p for p in range(hi.bit_length()) if lo <= (1 << p) <= hi}
    cands |= {-(-length // d) for d in range(1, 65) if lo <= -(-length // d) <= hi}
    return sorted(cands)


def search(m: Match, capacity: Mapping[str, int], model: CostModel = DEFAULT_MODEL,
           sizes: Mapping[str, int] | None = None, seed: int = 0,
           ranges: Mapping[str, tuple[int, int]] | None = None) -> Searched:
    """The cheapest plan that fits ``capacity`` (elements per memory scope).

    ``ranges`` gives the declared [min, max] of variable-extent axes.
    """
    out_op = desc_parts(m.intrin)[1].buffer.name
    sizes = dict(sizes or {})
    info, op_axes = axis_info(m), operand_axes(m)
    scopes = {p.name: p.scope for p in m.intrin.desc.params}
    per_axis = {}
    for a, (_, fixed, _) in info.items():
        lo, hi = (ranges or {}).get(a, (1, 1 << 16))
        per_axis[a] = _tiles(_value(fused_extent(m, a), sizes), fixed, lo, hi)
    spatial = [a for a in info if info[a][0] == "spatial"]
    names = list(per_axis)
    combos = list(itertools.product(*(per_axis[a] for a in names)))
    orders = list(itertools.permutations(spatial))
    inputs = tuple(op for op in op_axes if op != out_op)
    modes = ((), inputs, tuple(op_axes))
    # Capacity is cheap arithmetic, the estimate is not: filter every candidate first and
    # sample only among those that fit (a sample of the whole space missed the best
    # tiles of large layers, most of whose candidates do not fit).
    fitting: list[tuple[tuple[int, ...], tuple[str, ...], tuple[str, ...]]] = []
    too_big = None
    for combo in combos:
        tiles = dict(zip(names, combo, strict=True))
        for db in modes:
            need: dict[str, int] = {}
            for op, axes in op_axes.items():
                need[scopes[op]] = need.get(scopes[op], 0) + \
                    math.prod(tiles[a] for a in axes) * (2 if op in db else 1)
            over = [s for s, n in need.items() if n > capacity.get(s, 0)]
            if over:
                too_big = too_big or (over[0], need[over[0]], capacity.get(over[0], 0), tiles)
                continue
            fitting += [(combo, o, db) for o in orders]
    space = fitting
    if len(space) > BUDGET:
        space = random.Random(seed).sample(space, BUDGET)
    best: tuple[float, str, Plan, Estimate] | None = None
    for combo, order, db in space:
        plan = Plan(tuple(zip(names, combo, strict=True)), order, db)
        est = estimate(m, plan, model, sizes)
        key = (est.cycles, repr(plan))
        if best is None or key < best[:2]:
            best = (est.cycles, repr(plan), plan, est)
    if best is None:
        assert too_big is not None
        scope, n, cap, tiles = too_big
        return Searched(None, None, len(space), f"no tiling fits: e.g. tiles {tiles} need {n} "
                        f"elements of '{scope}', which holds {cap}")
    return Searched(best[2], best[3], len(space), "")
