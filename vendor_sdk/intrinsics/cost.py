"""Analytic cycle model of a tensorized program (a Match under a Plan).

The machine model is the decoupled load / execute / store NPU every target
in this SDK drives: a DMA unit moves staged tiles (a fixed cost per
transfer plus, per row, the slower of bytes over the bus width and the
memory-request rate), the execute unit runs intrinsic calls (a fixed cost
per call plus one cycle per streamed row), accumulator fills and the
epilogue that takes each output tile out of the accumulator (requantization),
a store unit writes output tiles back. Without double-buffered inputs the
units wait for each other (the sum); with them they overlap (the busiest
unit, plus the first tile's load that nothing can hide).

A staged tile is as many transfers as it has runs of rows the runtime can
merge into one DMA instruction: one per lane block and per run of the
innermost program variable of a fused axis (a conv's output row: the
rows of the next one are not at the same stride).

Coefficients are fitted, not guessed: tests/tensorize/test_calibration.py
measures single instructions on the reference NPU's fsim, fits them with
:func:`fit_linear`, checks the defaults below against the fit, and checks
whole compiled layers against fsim and RTL runs (the model is within a
stated tolerance of both). ``dma_cycles_per_row`` is the RTL's: its DMA
issues one memory request per SRAM row with 8 in flight against a 16-cycle
memory latency, which fsim's bytes-over-bus-width timing does not see.
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
    """Cycle costs; the defaults are the reference NPU's at DIM 8, fitted on its fsim
    (``dma_cycles_per_row`` on its RTL)."""

    dma_fixed: float = 32.0  # per transfer (descriptor, dispatch)
    dma_bytes_per_cycle: float = 8.0
    dma_cycles_per_row: float = 2.25  # RTL request rate: 8 in flight, 18-cycle round trip
    call_fixed: float = 25.0  # per intrinsic call: issue, weight load, pipeline fill
    call_per_row: float = 1.0  # per streamed row of the variable axis
    row_elems: int = 8  # elements per on-chip row (the exec unit's width)
    row_op_fixed: float = 3.0  # per row-streaming ALU / requantization instruction

    @classmethod
    def for_dim(cls, dim: int) -> CostModel:
        """The reference NPU's costs at array size ``dim``: a GEMM call loads DIM weight
        rows and drains a 2*DIM-deep pipeline (fsim: 1 + DIM + rows + 2 DIM)."""
        return cls(call_fixed=1.0 + 3.0 * dim, row_elems=dim)


DEFAULT_MODEL = CostModel()


def model_for(target: object) -> CostModel:
    """The cost model of a target: its array size, the reference NPU's unit costs."""
    params = getattr(target, "params", {}) or {}
    dim = params.get("DIM") if isinstance(params, Mapping) else None
    return CostModel.for_dim(int(dim)) if dim is not None else DEFAULT_MODEL


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

    def rows(op: str) -> int:
        return math.prod(plan.tile(a) for a in op_axes[op]) // model.row_elems

    def row_cycles(op: str) -> float:
        row_bytes = model.row_elems * dtype_bits(dtypes[op]) // 8
        return max(row_bytes / model.dma_bytes_per_cycle, model.dma_cycles_per_row)

    def transfers(op: str) -> int:
        """DMA instructions staging one tile: lane blocks x runs of the row axes."""
        *row_axes, lane = op_axes[op]
        runs = -(-plan.tile(lane) // model.row_elems)
        for a in row_axes:
            inner = m.roles[a][-1].extent if len(m.roles[a]) > 1 else None
            run = _value(inner, sizes) if inner is not None else plan.tile(a)
            runs *= -(-plan.tile(a) // max(1, min(run, plan.tile(a))))
        return runs

    def transfer(op: str) -> float:
        return transfers(op) * model.dma_fixed + rows(op) * row_cycles(op)

    load = 0.0
    for op in op_axes:
        if op == out_op:
            continue
        home = max((present.index(a) for a in op_axes[op] if a in present), default=-1)
        count = batch * math.prod(trips[a] for a in present[:home + 1])
        load += count * transfer(op)
    out_tiles = batch * math.prod(trips[a] for a in plan.order)
    calls_per_step = 1
    rows_per_call = 1
    for a, (_, fixed, _) in info.items():
        if fixed is not None:
            calls_per_step *= plan.tile(a) // fixed
        else:
            rows_per_call *= plan.tile(a)
    steps = out_tiles * math.prod(trips[a] for a in info if info[a][0] == "reduce")
    calls = steps * calls_per_step
    out_rows = rows(out_op)
    blocks = -(-plan.tile(op_axes[out_op][-1]) // model.row_elems)
    # The accumulator tile is filled (init) and emptied (requantization) by the exec
    # unit, a row per cycle per instruction of one lane block.
    fill = out_rows + model.row_op_fixed * blocks
    exec_ = calls * (model.call_fixed + model.call_per_row * rows_per_call) \
        + out_tiles * 2 * fill
    # the store moves the int8 result rows (requantized): a quarter of the int32 bytes
    store = out_tiles * (transfers(out_op) * model.dma_fixed + out_rows * max(
        model.row_elems / model.dma_bytes_per_cycle, model.dma_cycles_per_row))
    if any(op != out_op for op in plan.double_buffer):
        first = sum(transfer(op) for op in op_axes if op != out_op)
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
