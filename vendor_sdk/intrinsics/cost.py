"""Analytic cycle model of a tensorized program (a Match under a Plan).

The machine model is the decoupled load / execute / store NPU every target
in this SDK drives: a DMA unit moves staged tiles (per transfer, the memory
round trip for the first beats, then a beat per request-rate interval: a
read keeps a limited number of bus beats in flight), the execute unit runs
intrinsic calls (one cycle per streamed row; the weight load and pipeline
fill of a call overlap the previous call's rows, two weight banks deep),
accumulator fills and the epilogue that takes each output tile out of the
accumulator (requantization), a store unit writes output tiles back (a write
latency, then a beat per cycle). Without double-buffered inputs the units
wait for each other (the sum); with them they overlap (the busiest unit,
plus the first tile's load that nothing can hide).

A staged tile is as many transfers as it has runs of rows the runtime can
merge into one DMA instruction: one per lane block and per run of the
innermost program variable of a fused axis (a conv's output row: the
rows of the next one are not at the same stride).

Coefficients are fitted, not guessed: tests/tensorize/test_calibration.py
measures single instructions and back-to-back GEMMs on the reference NPU
(fsim, whose timing reproduces the RTL's counters, see
tests/reference_npu/test_fsim_timing.py), fits them with :func:`fit_linear`
and checks the defaults below against the fit; tests/e2e checks whole
compiled layers against fsim and RTL runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.tir.expr import Const, Expr, dtype_bits
from core.tir.visit import substitute
from vendor_sdk.intrinsics.tensorize_build import (
    Plan,
    axis_info,
    fused_extent,
    operand_axes,
)
from vendor_sdk.intrinsics.tensorize_match import Match, desc_parts

if TYPE_CHECKING:  # vendor_sdk.target imports this package: no cycle at run time
    from vendor_sdk.target import Target


@dataclass(frozen=True)
class CostModel:
    """Cycle costs; the defaults are the reference NPU's 8 x 8 array (16-byte bus,
    16-cycle memory latency), fitted on single instructions."""

    dma_fixed: float = 8.0  # a long read: 8 + 2.25 cycles per beat (fitted)
    dma_min: float = 18.0  # a short read: the round trip, then a beat per cycle
    dma_cycles_per_beat: float = 2.25  # request rate: 8 beats in flight, 18-cycle round trip
    bus_bytes: int = 16  # bytes per beat
    store_fixed: float = 17.0  # a write: its latency, then a beat per cycle
    call_fixed: float = 25.0  # an isolated call: issue, weight load, pipeline drain
    call_per_row: float = 1.0  # per streamed row of the variable axis
    row_elems: int = 8  # elements per on-chip row (the exec unit's width)
    row_op_fixed: float = 3.0  # per row-streaming ALU / requantization instruction
    queue_depth: int = 16  # instructions a unit's queue holds (fetch is in program order)

    @classmethod
    def for_dim(cls, dim: int) -> CostModel:
        """The reference NPU's costs at array size ``dim``: a GEMM call loads ``dim`` weight
        rows and drains a 2 dim-deep pipeline (alone: 1 + dim + rows + 2 dim)."""
        return cls(call_fixed=1.0 + 3.0 * dim, row_elems=dim)

    def beats(self, row_bytes: int) -> int:
        return -(-row_bytes // self.bus_bytes)

    def read(self, rows: float, row_bytes: int) -> float:
        """One DMA read of ``rows`` rows."""
        b = rows * self.beats(row_bytes)
        return max(self.dma_min + b, self.dma_fixed + self.dma_cycles_per_beat * b)

    def write(self, rows: float, row_bytes: int) -> float:
        return self.store_fixed + rows * self.beats(row_bytes)

    def calls(self, n: float, rows: float) -> float:
        """``n`` back-to-back calls of ``rows`` rows, each loading its weights. A call
        loads them into the bank its predecessor's predecessor streamed from, once
        that one drained, so in steady state a call takes max(rows, (rows + fixed) / 2);
        the first pays the whole fixed cost (its weight load and, at the end, the drain),
        the second finds the other bank free."""
        if n <= 0:
            return 0.0
        rows = self.call_per_row * rows
        return self.call_fixed + rows + min(n - 1, 1) * rows \
            + max(n - 2, 0) * max(rows, (rows + self.call_fixed) / 2)


DEFAULT_MODEL = CostModel()


def model_for(target: Target) -> CostModel:
    """The cost model of a target: its array size (the widest fixed axis of its reducing
    intrinsic: the GEMM's tile), the reference NPU's unit costs."""
    gemm = next((s for _, s in sorted(target.semantics.items()) if s.loop_nest("").reduce),
                None)
    fixed = [a.max for a in gemm.axes.values() if a.min == a.max] if gemm else []
    return CostModel.for_dim(max(fixed)) if fixed else DEFAULT_MODEL


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


@dataclass(frozen=True)
class _Static:
    """What an estimate needs that does not depend on the plan (computed once per match:
    the search prices thousands of plans of one match)."""

    info: Mapping[str, tuple[str, int | None, object]]
    op_axes: Mapping[str, tuple[str, ...]]
    out_op: str
    lengths: Mapping[str, int]
    batch: int
    dtypes: Mapping[str, str]
    runs: Mapping[str, int | None]  # a fused axis' innermost variable extent (DMA runs)
    work: int


_STATIC: dict[tuple[int, tuple[tuple[str, int], ...]], tuple[Match, _Static]] = {}


def _static(m: Match, sizes: Mapping[str, int]) -> _Static:
    key = (id(m), tuple(sorted(sizes.items())))
    hit = _STATIC.get(key)
    if hit is not None and hit[0] is m:  # the match itself is kept, so its id stays its own
        return hit[1]
    info, op_axes = axis_info(m), operand_axes(m)
    row_axes = {a for axes in op_axes.values() for a in axes[:-1]}
    st = _Static(
        info, op_axes, desc_parts(m.intrin)[1].buffer.name,
        {a: _value(fused_extent(m, a), sizes) for a in info},
        math.prod(_value(iv.extent, sizes) for iv in m.batch),
        {p.name: p.dtype for p in m.intrin.desc.params},
        {a: _value(m.roles[a][-1].extent, sizes) if len(m.roles[a]) > 1 else None
         for a in row_axes},
        math.prod(_value(iv.extent, sizes) for a in info for iv in m.roles[a]))
    if len(_STATIC) > 256:
        _STATIC.clear()
    _STATIC[key] = (m, st)
    return st


def estimate(m: Match, plan: Plan, model: CostModel = DEFAULT_MODEL,
             sizes: Mapping[str, int] | None = None) -> Estimate:
    """Cycles of ``build(f, m, plan)`` under ``model``; ``sizes`` binds symbolic extents."""
    st = _static(m, dict(sizes or {}))
    info, op_axes, out_op, lengths = st.info, st.op_axes, st.out_op, st.lengths
    trips = {a: -(-lengths[a] // plan.tile(a)) for a in info}
    batch = st.batch
    present = list(plan.order) + [a for a in info if info[a][0] == "reduce" and trips[a] != 1]
    dtypes = st.dtypes

    def rows(op: str) -> int:
        return math.prod(plan.tile(a) for a in op_axes[op]) // model.row_elems

    def row_bytes(op: str) -> int:
        return model.row_elems * dtype_bits(dtypes[op]) // 8

    def transfers(op: str) -> int:
        """DMA instructions staging one tile: lane blocks x runs of the row axes."""
        *row_axes, lane = op_axes[op]
        runs = -(-plan.tile(lane) // model.row_elems)
        for a in row_axes:
            inner = st.runs[a]
            run = inner if inner is not None else plan.tile(a)
            runs *= -(-plan.tile(a) // max(1, min(run, plan.tile(a))))
        return runs

    def transfer(op: str) -> float:
        n = transfers(op)
        return n * model.read(rows(op) / n, row_bytes(op))

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
    # The first call of each reduction step waits for that step's staged inputs (a
    # token from the load unit); the engine has run dry by then, so it pays its whole
    # fixed cost again (fitted on whole layers: 25 cycles per step at dim 8, dense and
    # conv alike, where the calls themselves stream back to back).
    exec_ = model.calls(calls, rows_per_call) + steps * model.call_fixed \
        + out_tiles * 2 * fill
    # the store moves the int8 result rows (requantized): a quarter of the int32 bytes
    n_out = transfers(out_op)
    store = out_tiles * n_out * model.write(out_rows / n_out, model.row_elems)
    if any(op != out_op for op in plan.double_buffer):
        first = sum(transfer(op) for op in op_axes if op != out_op)
        # Fetch is in program order and a step's loads follow the previous step's calls:
        # they reach the load unit only once the exec queue has room, i.e. while the
        # last queue_depth calls of the step run. A step's loads longer than that
        # window stall the next step (found on fsim/RTL timelines; the code generator
        # does not yet hoist the next step's loads above the calls).
        per_call = model.calls(2, rows_per_call) - model.calls(1, rows_per_call)
        window = min(calls / max(steps, 1), model.queue_depth) * per_call
        stall = steps * max(0.0, load / max(steps, 1) - window)
        cycles = max(load, exec_ + stall, store) + first
    else:
        cycles = load + exec_ + store
    work = batch * st.work
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
