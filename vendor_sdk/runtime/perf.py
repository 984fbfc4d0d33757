"""Per-layer counters of a region call, from the counter records its code wrote.

A region with N layers writes N - 1 records (vendor_sdk/codegen/perf.py): after each
layer but the last, the counters at the moment the store unit finished that layer. Layer
k's share is the difference between consecutive points: the region start (every run
starts from reset, counters zero), the N - 1 records, the region's final counters. So
the layers' cycles add up to the region's by construction; a negative difference means a
record was not written or a snapshot was misplaced, and is an error.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from vendor_sdk.codegen.perf import RECORD_COUNTERS
from vendor_sdk.codegen.region import LayerCode, RegionCode


@dataclass(frozen=True, slots=True)
class Counters:
    """The NPU's counters (record order); a point in a run or the difference of two."""

    cycles: int = 0
    gemm_rows: int = 0
    gemm_busy: int = 0
    ld_busy: int = 0
    st_busy: int = 0
    ex_busy: int = 0
    dma_rd_bytes: int = 0
    dma_wr_bytes: int = 0
    insns: int = 0

    @classmethod
    def of(cls, values: Sequence[int] | object) -> Counters:
        """From a record's words (in order), or from any object with the counter fields
        (the driver's Stats)."""
        if isinstance(values, Sequence | np.ndarray):
            return cls(*(int(v) for v in values))
        return cls(*(int(getattr(values, n)) for n in RECORD_COUNTERS))

    def __add__(self, o: Counters) -> Counters:
        return Counters(*(getattr(self, f.name) + getattr(o, f.name) for f in fields(self)))

    def __sub__(self, o: Counters) -> Counters:
        return Counters(*(getattr(self, f.name) - getattr(o, f.name) for f in fields(self)))


assert tuple(f.name for f in fields(Counters)) == RECORD_COUNTERS  # one record layout


@dataclass
class LayerStats:
    """One layer's share of its region's calls (summed over calls)."""

    function: str          # generated C function (the composite's name)
    onnx_nodes: tuple[str, ...]  # the ONNX node(s) it came from
    op: str                # Conv | MatMul | Add | MaxPool
    pattern: str
    calls: int = 0
    macs: int = 0
    counters: Counters = Counters()

    @property
    def cycles(self) -> int:
        return self.counters.cycles

    @classmethod
    def of(cls, lc: LayerCode) -> LayerStats:
        return cls(lc.function, lc.onnx_nodes or (lc.layer.source,), lc.layer.op,
                   lc.layer.pattern)


def layer_deltas(region: RegionCode, records: np.ndarray, final: Counters) -> list[Counters]:
    """Each layer's counters in one call: differences of consecutive points.

    ``records`` is the [N - 1, 9] uint64 array the region wrote, ``final`` the run's
    counters."""
    if len(records) != len(region.layers) - 1:
        raise ValueError(f"{region.name}: {len(records)} counter records for "
                         f"{len(region.layers)} layers (expected one per layer but the last)")
    points = [Counters(), *(Counters.of(r) for r in records), final]
    out = []
    for lc, (a, b) in zip(region.layers, itertools.pairwise(points), strict=True):
        d = b - a
        if min(getattr(d, n) for n in RECORD_COUNTERS) < 0:
            raise ValueError(f"{region.name}: counters went backwards over layer "
                             f"{lc.function} ({a} -> {b}): a snapshot did not run in order")
        out.append(d)
    return out
