"""The cases check-intrinsics runs: the declared ones plus two of its own.

`Semantics.cases` gives what the YAML's `test:` asks for (corners at the
smallest extents, seeded random cases). Two more cases per intrinsic make
rounding and operand-order mistakes show up reliably:
- `small0`..: every input within +-4 of zero (clipped to its range) at the
  largest stimulus extents, so products stay small, shifts short and rounding
  ties frequent. Scalars (a shift, clamp bounds) are drawn once per case and
  can make a whole case uninformative (shift 0, or lo > hi clamps everything
  to one value), so each small case is the most varied of several draws:
  the one whose reference result holds the most distinct values;
- `edges_wide`: the declared `edges` values at the largest stimulus extents,
  so many combinations of extremes meet in one call.
"""

from __future__ import annotations

import numpy as np

from vendor_sdk.intrinsics.semantics import STIMULUS_EXTENT_CAP, Case, Semantics
from vendor_sdk.target import Target

SMALL = 4
SMALL_CASES = 3
DRAWS = 16


def largest_extents(sem: Semantics) -> dict[str, int]:
    return {a.name: min(a.max, max(a.min, STIMULUS_EXTENT_CAP)) for a in sem.axes.values()}


def small_case(sem: Semantics, rng: np.random.Generator, name: str = "small") -> Case:
    ext = largest_extents(sem)
    inputs = {}
    for op in sem.inputs:
        lo, hi = op.values
        a, b = max(lo, -SMALL), min(hi, SMALL)
        if a > b:  # a range far from zero: its lowest values instead
            a, b = lo, min(hi, lo + 2 * SMALL)
        shape = tuple(ext[x] for x in op.shape)
        inputs[op.name] = rng.integers(a, b, size=shape, endpoint=True).astype(op.dtype)
    return Case(name, ext, inputs)


def varied_small_case(sem: Semantics, rng: np.random.Generator, name: str) -> Case:
    draws = [small_case(sem, rng, name) for _ in range(DRAWS)]
    return max(draws, key=lambda c: len(np.unique(sem.reference(c.inputs))))


def all_cases(target: Target, sem: Semantics) -> list[Case]:
    """Deterministic: the same target always gives the same cases, in this order."""
    test = target.spec.intrinsics[sem.name].test
    rng = np.random.default_rng([test.seed, 0x5EED])
    ext = largest_extents(sem)
    extra = [*(varied_small_case(sem, rng, f"small{i}") for i in range(SMALL_CASES)),
             Case("edges_wide", ext, sem.stimulus("edges", ext, rng))]
    return [*sem.cases(test.random, tuple(test.corners), test.seed), *extra]
