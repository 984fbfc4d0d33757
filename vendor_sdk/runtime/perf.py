"""Counters of region calls and their layers, by the target's counter names.

A target declares its counter record in target.yaml `counters:` (names in record order,
each with a role: cycles, busy with a unit, instructions, DRAM bytes, ...). Runs return
the record (vendor_sdk.runtime.device), and a region whose target takes snapshots writes
one record after each layer but the last (vendor_sdk/codegen/perf.py). Layer k's share is
the difference between consecutive points: the region start (every run starts from
reset, counters zero), the N - 1 records, the region's final counters. So the layers'
counters add up to the region's by construction; a negative difference means a record
was not written or a snapshot was misplaced, and is an error.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vendor_sdk.codegen.code import LayerCode, RegionCode
from vendor_sdk.intrinsics.check import eval_const
from vendor_sdk.intrinsics.lang import ExprError
from vendor_sdk.target.load import Target

Counters = dict[str, int]  # counter name -> value, in target.yaml `counters:` order


def add(a: Mapping[str, int], b: Mapping[str, int]) -> Counters:
    """Sum of two records; a name missing on one side counts as 0."""
    return {n: a.get(n, 0) + b.get(n, 0) for n in dict.fromkeys([*a, *b])}


def sub(a: Mapping[str, int], b: Mapping[str, int]) -> Counters:
    return {n: a.get(n, 0) - b.get(n, 0) for n in dict.fromkeys([*a, *b])}


@dataclass(frozen=True, slots=True)
class CounterRoles:
    """Which of a target's counters mean what (target.yaml `counters:` roles)."""

    names: tuple[str, ...]
    cycles: str | None = None
    busy: tuple[tuple[str, str], ...] = ()  # (unit, counter name), in record order
    instructions: str | None = None
    rows: str | None = None
    dram_read: str | None = None
    dram_write: str | None = None

    @classmethod
    def of(cls, target: Target) -> CounterRoles:
        spec = target.spec.counters

        def first(role: str) -> str | None:
            return next((n for n, c in spec.items() if c.role == role), None)

        return cls(tuple(spec), first("cycles"),
                   tuple((c.unit or n, n) for n, c in spec.items() if c.role == "busy"),
                   first("instructions"), first("rows"), first("dram_read_bytes"),
                   first("dram_write_bytes"))

    def get(self, counters: Mapping[str, int], name: str | None) -> int:
        return counters.get(name, 0) if name is not None else 0

    def busy_of(self, counters: Mapping[str, int]) -> dict[str, int]:
        """Busy cycles per unit."""
        return {unit: counters.get(n, 0) for unit, n in self.busy}


def peak_macs_per_cycle(target: Target) -> int | None:
    """The target's MAC-bound rate (target.yaml peak_macs_per_cycle), or None: the
    denominator of every utilization figure."""
    value = target.spec.peak_macs_per_cycle
    if value is None:
        return None
    try:
        peak = eval_const(value, target.params)
    except ExprError as e:
        raise ValueError(f"{target.path}: peak_macs_per_cycle: {e.message}") from None
    return peak if peak > 0 else None


@dataclass
class LayerStats:
    """One layer's share of its region's calls (summed over calls)."""

    function: str          # generated C function (the composite's name)
    onnx_nodes: tuple[str, ...]  # the ONNX node(s) it came from
    op: str                # Conv | MatMul | Add | MaxPool
    pattern: str
    roles: CounterRoles
    calls: int = 0
    macs: int = 0
    counters: Counters = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        return self.roles.get(self.counters, self.roles.cycles)

    @classmethod
    def of(cls, lc: LayerCode, roles: CounterRoles) -> LayerStats:
        return cls(lc.function, lc.onnx_nodes or (lc.layer.source,), lc.layer.op,
                   lc.layer.pattern, roles)


@dataclass
class RegionStats:
    """A region's calls: counters summed over them, by the target's names."""

    name: str
    roles: CounterRoles
    calls: int = 0
    counters: Counters = field(default_factory=dict)
    macs: int = 0          # useful multiply-accumulates of the layers (padded channels in)
    estimate: bool = False  # cycle counters are the backend's estimate (fsim)
    # Per layer, in execution order; None when the target takes no counter snapshots.
    layers: list[LayerStats] | None = None

    @property
    def cycles(self) -> int:
        return self.roles.get(self.counters, self.roles.cycles)


def layer_deltas(region: RegionCode, records: np.ndarray, final: Mapping[str, int],
                 names: Sequence[str]) -> list[Counters]:
    """Each layer's counters in one call: differences of consecutive points.

    ``records`` is the [N - 1, len(names)] uint64 array the region wrote, ``final`` the
    run's counters."""
    if len(records) != len(region.layers) - 1:
        raise ValueError(f"{region.name}: {len(records)} counter records for "
                         f"{len(region.layers)} layers (expected one per layer but the last)")
    points = [dict.fromkeys(names, 0), *({n: int(v) for n, v in zip(names, r, strict=True)}
                                         for r in records), dict(final)]
    out = []
    for lc, (a, b) in zip(region.layers, itertools.pairwise(points), strict=True):
        d = sub(b, a)
        if min(d.values(), default=0) < 0:
            raise ValueError(f"{region.name}: counters went backwards over layer "
                             f"{lc.function} ({a} -> {b}): a snapshot did not run in order")
        out.append(d)
    return out
