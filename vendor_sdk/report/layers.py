"""Per-layer rows of a compile or run: the report's table, CSV and JSON.

Schema ``vendor-sdk.layers/1`` (docs/report.md): one row per drawn compute node, in the
graph's topological order, NPU layers and host ops alike. A compile-only report has no
cycles (``None``); MACs are there either way (an NPU layer's from its integer layer,
what a run counts; a host op's from the graph's types).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vendor_sdk.report.graph import Graph, Node

if TYPE_CHECKING:
    from vendor_sdk.compile import Compiled
    from vendor_sdk.patterns.report import Report
    from vendor_sdk.runtime.compare import RunResult
    from vendor_sdk.runtime.perf import LayerStats

SCHEMA = "vendor-sdk.layers/1"


@dataclass(frozen=True, slots=True)
class LayerRow:
    index: int                   # position in the graph's topological order, from 1
    node: str                    # the graph node's id (the HTML report's data-node)
    name: str                    # NPU: the layer's C function; host: its binding
    op: str                      # "Conv + Relu", "GlobalAveragePool"
    onnx_nodes: tuple[str, ...]
    where: str                   # "npu" | "host"
    region: str                  # "" on the host
    target: str                  # "" on the host
    pattern: str
    macs: int
    cycles: int | None           # None: not run, or a host op (no cycle model)
    ideal: float | None          # MACs / peak MACs per cycle
    utilization: float | None    # ideal / cycles, 0..1; None without MACs (a pool, an add)
    bound_by: str                # the unit busy longest in the layer ("" unknown)
    bound_share: float | None    # its busy cycles / the layer's cycles
    busy: tuple[tuple[str, int], ...]  # (unit, busy cycles)
    dram_read_bytes: int | None
    dram_write_bytes: int | None
    sram_read_bytes: int | None  # no target counts these yet: None
    sram_write_bytes: int | None
    instructions: int | None
    counters: tuple[tuple[str, int], ...]  # every counter by its target.yaml name
    host_reason: str

    @property
    def bound_busy(self) -> int | None:
        """The bound unit's busy cycles, None when unknown."""
        return dict(self.busy).get(self.bound_by) if self.bound_by else None

    @property
    def overlap(self) -> int:
        """Busy cycles of the bound unit beyond the layer's span (0 when within it).

        Layers overlap, and an estimating backend (fsim) charges an instruction's whole
        cost when it starts: an instruction that runs on past the snapshot closing this
        layer's span counts here, though part of it ran in the next layer's span. The RTL
        counts per cycle, so its busy cycles never exceed the span."""
        busy = self.bound_busy
        return max(0, busy - self.cycles) if busy is not None and self.cycles else 0


@dataclass(frozen=True, slots=True)
class Summary:
    model: str
    targets: tuple[str, ...]
    backend: str                 # "" for a compile-only report
    estimated: bool              # cycles are the backend's estimate
    ops_offloaded: int
    ops_total: int
    macs_npu: int
    macs_total: int
    cycles: int | None
    ideal: float | None
    utilization: float | None
    peak: int | None

    @property
    def mac_share(self) -> float:
        return self.macs_npu / self.macs_total if self.macs_total else 0.0


def rows(graph: Graph, compiled: Compiled | None = None, result: RunResult | None = None,
         batch: int = 1) -> list[LayerRow]:
    """A row per compute node of ``graph`` (inputs and outputs left out); without
    ``compiled`` (a partition only) an NPU node's MACs are the graph's."""
    layer_of: dict[str, tuple[str, object]] = {}  # binding -> (function, LayerCode)
    for r in compiled.cmodel.regions if compiled is not None else ():
        for lc in r.layers:
            for b in lc.nodes:
                layer_of[b] = (lc.function, lc)
    stats: dict[str, LayerStats] = {ls.function: ls for _, ls in (result.layers or [])} \
        if result is not None else {}
    peak = result.peak if result is not None else \
        target_peak(compiled) if compiled is not None else None
    out: list[LayerRow] = []
    for n in graph.nodes:
        if n.kind not in ("npu", "host"):
            continue
        hit = next((layer_of[b] for b in n.bindings if b in layer_of), None)
        out.append(_row(len(out) + 1, n, hit, stats, peak, batch))
    return out


def _row(index: int, n: Node, hit: tuple[str, object] | None,
         stats: Mapping[str, LayerStats], peak: int | None, batch: int) -> LayerRow:
    if hit is None:  # a host op, or an NPU node the code generator folded into another
        return LayerRow(index, n.id, n.bindings[0] if n.kind == "host" else n.id, n.label,
                        n.sources, n.kind, n.region, n.target, n.pattern, n.macs, None, None,
                        None, "", None, (), None, None, None, None, None, (), n.reason)
    function, lc = hit
    ls = stats.get(function)
    if ls is None:
        macs = lc.layer.macs(batch)  # type: ignore[attr-defined]
        return LayerRow(index, n.id, function, n.label, n.sources, n.kind, n.region,
                        n.target, n.pattern, macs, None, macs / peak if peak else None, None,
                        "", None, (), None, None, None, None, None, (), "")
    roles, cycles = ls.roles, ls.cycles
    ideal = ls.macs / peak if peak else None
    busy = roles.busy_of(ls.counters)
    unit = max(busy, key=lambda u: busy[u]) if busy and max(busy.values()) > 0 else ""
    return LayerRow(
        index, n.id, function, n.label, n.sources, n.kind, n.region, n.target, n.pattern,
        ls.macs, cycles, ideal,
        ideal / cycles if ideal is not None and cycles and ls.macs else None,
        unit, busy[unit] / cycles if unit and cycles else None, tuple(busy.items()),
        ls.counters.get(roles.dram_read, 0) if roles.dram_read else None,
        ls.counters.get(roles.dram_write, 0) if roles.dram_write else None, None, None,
        ls.counters.get(roles.instructions, 0) if roles.instructions else None,
        tuple(ls.counters.items()), "")


def target_peak(compiled: Compiled) -> int | None:
    """The target's peak MACs per cycle, None when it declares none (or a bad one, which
    a run reports; a compile report just leaves ideal cycles out)."""
    from vendor_sdk.runtime.perf import peak_macs_per_cycle

    try:
        return peak_macs_per_cycle(compiled.target)
    except ValueError:
        return None


def summarize(layer_rows: Sequence[LayerRow], report: Report, name: str,
              result: RunResult | None = None, peak: int | None = None) -> Summary:
    """Totals: ops from the partition report, MACs from the rows, cycles from the run;
    ``peak`` gives a compile-only report its ideal cycles."""
    off, total = report.coverage
    npu = sum(r.macs for r in layer_rows if r.where == "npu")
    host = sum(r.macs for r in layer_rows if r.where == "host")
    if result is None:
        return Summary(name, report.targets, "", False, off, total, npu, npu + host, None,
                       npu / peak if peak else None, None, peak)
    ideal = result.ideal if result.peak else None
    return Summary(name, report.targets, result.backend, any(s.estimate for s in result.stats),
                   off, total, npu, npu + host, result.cycles, ideal,
                   ideal / result.cycles if ideal is not None and result.cycles else None,
                   result.peak)


CSV_COLUMNS = ("index", "name", "op", "onnx_nodes", "where", "region", "target", "pattern",
               "macs", "cycles", "ideal", "utilization", "bound_by", "bound_share",
               "dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes",
               "instructions", "host_reason")


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, tuple):
        return ";".join(map(str, v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def to_csv(layer_rows: Sequence[LayerRow]) -> str:
    """Fixed columns, then ``busy_<unit>`` for each unit any row has (empty: not run)."""
    units = list(dict.fromkeys(u for r in layer_rows for u, _ in r.busy))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_COLUMNS, *(f"busy_{u}" for u in units)])
    for r in layer_rows:
        busy = dict(r.busy)
        w.writerow([*(_cell(getattr(r, c)) for c in CSV_COLUMNS),
                    *(_cell(busy.get(u)) for u in units)])
    return buf.getvalue()


def to_json(summary: Summary, layer_rows: Sequence[LayerRow]) -> str:
    def row(r: LayerRow) -> dict[str, object]:
        return {"index": r.index, "node": r.node, "name": r.name, "op": r.op,
                "onnx_nodes": list(r.onnx_nodes), "where": r.where, "region": r.region,
                "target": r.target, "pattern": r.pattern, "macs": r.macs, "cycles": r.cycles,
                "ideal": r.ideal, "utilization": r.utilization, "bound_by": r.bound_by,
                "bound_share": r.bound_share, "busy": dict(r.busy),
                "memory": {"dram": {"read_bytes": r.dram_read_bytes,
                                    "write_bytes": r.dram_write_bytes},
                           "sram": {"read_bytes": r.sram_read_bytes,
                                    "write_bytes": r.sram_write_bytes}},
                "instructions": r.instructions, "counters": dict(r.counters),
                "host_reason": r.host_reason}

    s = summary
    doc = {"schema": SCHEMA, "model": s.model, "targets": list(s.targets),
           "backend": s.backend or None, "cycles_estimated": s.estimated if s.backend else None,
           "summary": {"ops_offloaded": s.ops_offloaded, "ops_total": s.ops_total,
                       "macs_npu": s.macs_npu, "macs_total": s.macs_total,
                       "mac_share_npu": s.mac_share, "cycles": s.cycles, "ideal": s.ideal,
                       "utilization": s.utilization, "peak_macs_per_cycle": s.peak},
           "layers": [row(r) for r in layer_rows]}
    return json.dumps(doc, indent=2) + "\n"
