"""Analytic cycle model of a tensorized program (a Match under a Plan).

The machine model is the decoupled load / execute / store NPU every target
in this SDK drives: a DMA unit moves staged tiles (a fixed cost per
transfer plus bytes over the bus width), the execute unit runs intrinsic
calls (a fixed cost per call plus one cycle per streamed row) and
accumulator fills, a store unit writes output tiles back. Without double
buffering the units wait for each other (the sum); with it they overlap
(the busiest unit, plus the first tile's load that nothing can hide).

Coefficients are fitted, not guessed: tests/tensorize/test_calibration.py
measures single instructions on the reference NPU's fsim, fits them with
:func:`fit_linear`, checks the defaults below against the fit and prints
model-versus-measured error for whole tensorized programs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.tir.expr import Const, Expr, dtype_bits
from core.tir.visit import substitute
from vendor_sdk.intrinsics.tensorize_build import (
    Plan,
    axis_info,
    fused_extent,
    operand_axes,
)
from vendor_sdk.intrinsics.tensorize_match import Match, desc_parts


@dataclass(frozen=True)
class CostModel:
    """Cycle costs; the defaults are the reference NPU's, fitted on its fsim."""

    dma_fixed: float = 32.0  # per transfer (descriptor, dispatch)
    dma_bytes_per_cycle: float = 8.0
    call_fixed: float = 25.0  # per intrinsic call: issue, weight load, pipeline fill
    call_per_row: float = 1.0  # per streamed row of the variable axis
    row_elems: int = 8  # elements per on-chip row (the exec unit's width)


DEFAULT_MODEL = CostModel()


@dataclass(frozen=True)
class Estimate:
    cycles: float
    load: float
    exec: float
    store: float
    calls: int
    ideal: float  # MAC-bound cycles: useful work / elements the intrinsic does per row

    @property
    def ratio(self) -> float:
        return self.cycles / self.ideal if self.ideal else math.inf


def _value(e: Expr, sizes: Mapping[str, int]) -> int:
    from core.schedule.common import to_dim

    v = to_dim(substitute(e, {k: Const(x) for k, x in sizes.items()}))
    if not isinstance(v, int):
        raise ValueError(f"extent {e} needs a size hint")
    return v


def estimate(m: Match, plan: Plan, model: CostModel = DEFAULT_MODEL,
             sizes: Mapping[str, int] | None = None) -> Estimate:
    """Cycles of ``build(f, m, plan)`` under ``model``; ``sizes`` binds symbolic extents."""
    sizes = dict(sizes or {})
    info, op_axes = axis_info(m), operand_axes(m)
    out_op = desc_parts(m.intrin)[1].buffer.name
    lengths = {a: _value(fused_extent(m, a), sizes) for a in info}
    trips = {a: -(-lengths[a] // plan.tile(a)) for a in info}
    batch = math.prod(_value(iv.extent, sizes) for iv in m.batch)
    present = list(plan.order) + [a for a in info if info[a][0] == "reduce" and trips[a] != 1]
    dtypes = {p.name: p.dtype for p in m.intrin.desc.params}

    def tile_bytes(op: str) -> int:
        return math.prod(plan.tile(a) for a in op_axes[op]) * dtype_bits(dtypes[op]) // 8

    def transfer(nbytes: int) -> float:
        return model.dma_fixed + nbytes / model.dma_bytes_per_cycle

    load = 0.0
    for op in op_axes:
        if op == out_op:
            continue
        home = max((present.index(a) for a in op_axes[op] if a in present), default=-1)
        count = batch * math.prod(trips[a] for a in present[:home + 1])
        load += count * transfer(tile_bytes(op))
    out_tiles = batch * math.prod(trips[a] for a in plan.order)
    calls_per_step = 1
    rows = 1
    for a, (_, fixed, _) in info.items():
        if fixed is not None:
            calls_per_step *= plan.tile(a) // fixed
        else:
            rows *= plan.tile(a)
    steps = out_tiles * math.prod(trips[a] for a in info if info[a][0] == "reduce")
    calls = steps * calls_per_step
    out_elems = math.prod(plan.tile(a) for a in op_axes[out_op])
    fill = out_elems / model.row_elems + 3  # the accumulator tile, one row per cycle
    exec_ = calls * (model.call_fixed + model.call_per_row * rows) + out_tiles * fill
    store = out_tiles * transfer(tile_bytes(out_op))
    if plan.double_buffer:
        first = sum(transfer(tile_bytes(op)) for op in op_axes if op != out_op)
        cycles = max(load, exec_, store) + first
    else:
        cycles = load + exec_ + store
    work = batch * math.prod(_value(iv.extent, sizes) for a in info for iv in m.roles[a])
    per_row = math.prod(f for _, f, _ in info.values() if f is not None)
    return Estimate(cycles, load, exec_, store, calls, work / per_row)


def fit_linear(samples: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``y = a + b x`` over (x, y) samples: a calibration fit."""
    n = len(samples)
    sx = sum(x for x, _ in samples)
    sy = sum(y for _, y in samples)
    sxx = sum(x * x for x, _ in samples)
    sxy = sum(x * y for x, y in samples)
    b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    return (sy - b * sx) / n, b
