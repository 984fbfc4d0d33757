"""What was offloaded, and why everything else was not.

Per op type: offloaded / host counts. Per region: size and patterns. Per op
left on the host: the closest pattern and the constraint that failed
("Conv: pattern conv2d_bias_relu: conv requires group == 1 (got group=32)").
Q/DQ nodes are counted apart: they are quantization plumbing, not compute.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from vendor_sdk.patterns.lang import Pattern
from vendor_sdk.patterns.match import check_node
from vendor_sdk.patterns.partition import Partition

QDQ = frozenset({"QuantizeLinear", "DequantizeLinear"})


@dataclass(frozen=True)
class HostOp:
    name: str  # the binding
    source: str  # the ONNX node
    op: str
    reason: str


@dataclass(frozen=True)
class RegionSummary:
    name: str
    target: str
    ops: int
    composites: int
    patterns: dict[str, int]
    inputs: int
    outputs: int


@dataclass(frozen=True)
class Report:
    model: str
    targets: tuple[str, ...]
    ops: dict[str, tuple[int, int]]  # op -> (offloaded, host)
    regions: tuple[RegionSummary, ...]
    host: tuple[HostOp, ...]

    @property
    def coverage(self) -> tuple[int, int]:
        """(offloaded, total) compute ops, Q/DQ excluded."""
        off = sum(o for op, (o, _) in self.ops.items() if op not in QDQ)
        return off, off + sum(h for op, (_, h) in self.ops.items() if op not in QDQ)

    def to_json(self) -> str:
        data = asdict(self)
        data["ops"] = {k: {"offloaded": o, "host": h} for k, (o, h) in self.ops.items()}
        data["coverage"] = dict(zip(("offloaded", "total"), self.coverage, strict=True))
        return json.dumps(data, indent=2, sort_keys=True)

    def to_text(self) -> str:
        off, total = self.coverage
        pct = 100.0 * off / total if total else 0.0
        lines = [f"{self.model}: {off}/{total} compute ops offloaded ({pct:.1f}%) to "
                 f"{', '.join(self.targets) or 'no target'}, {len(self.regions)} region(s)", "",
                 f"{'op':<24}{'offloaded':>10}{'host':>8}"]
        lines += [f"{op:<24}{o:>10}{h:>8}" for op, (o, h) in self.ops.items()]
        lines += ["", "regions:"] if self.regions else []
        for r in self.regions:
            pats = ", ".join(f"{p} x{n}" for p, n in sorted(r.patterns.items()))
            lines.append(f"  {r.name} ({r.target}): {r.ops} ops in {r.composites} composites, "
                         f"{r.inputs} in / {r.outputs} out: {pats}")
        compute = [h for h in self.host if h.op not in QDQ]
        if compute:
            lines += ["", "on the host:"]
            lines += [f"  {h.op} {h.source or h.name}: {h.reason}" for h in compute]
        return "\n".join(lines) + "\n"


def _reason(p: Partition, patterns: Sequence[Pattern], i: int,
            forced: Mapping[str, str]) -> str:
    view = p.view
    if i in p.forced:
        b = view.bindings[i]
        why = forced.get(b.var.name) or forced.get(b.source)
        return why or "forced to the host by the partition options"
    if i in p.demoted:
        return p.demoted[i]
    if i in p.selection.beaten:
        lost, winner = p.selection.beaten[i]
        return f"pattern {lost} matched, but {winner} (higher priority or larger) took the node"
    op = view.op(i)
    best: tuple[int, int, str] | None = None  # (score, priority, text)
    for miss in p.selection.misses.get(i, []):
        cand = (2 + miss.progress, miss.priority, f"pattern {miss.pattern}: {miss.reason}")
        best = cand if best is None or cand[:2] > best[:2] else best
    for pat in patterns:
        for node in pat.nodes.values():
            if op not in node.ops or node.name == pat.root:
                continue
            why = check_node(view, i, node)
            text = (f"pattern {pat.name}: {node.name} {why}" if why else
                    f"pattern {pat.name}: {node.name} fits, but the pattern around it does not "
                    "match (see its root)")
            cand = (0 if why else 1, pat.priority, text)
            best = cand if best is None or cand[:2] > best[:2] else best
    if best is not None:
        return best[2]
    if not op:
        return "not an op call"
    return f"no pattern offloads {op}"


def build_report(p: Partition, patterns: Sequence[Pattern], model: str = "",
                 forced: Mapping[str, str] | None = None) -> Report:
    """``forced``: why a node the partition options pinned to the host is there, by binding
    or ONNX node name (the compiler's host fallbacks); others say "the partition options"."""
    view = p.view
    counts: dict[str, Counter[str]] = {}
    host: list[HostOp] = []
    for i, b in enumerate(view.bindings):
        op = view.op(i)
        if not op:
            continue
        # A dropped ("-") DequantizeLinear was copied into the composites that read it.
        where = "offloaded" if p.place[i] else "host"
        counts.setdefault(op, Counter())[where] += 1
        if not p.place[i]:
            host.append(HostOp(b.var.name, b.source, op, _reason(p, patterns, i, forced or {})))
    ops = {op: (c["offloaded"], c["host"]) for op, c in
           sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))}
    regions = tuple(RegionSummary(r.name, r.target, r.ops, len(r.composites),
                                  dict(Counter(m.pattern.name for m in r.composites)),
                                  len(r.inputs), len(r.outputs)) for r in p.regions)
    targets = tuple(sorted({pat.target for pat in patterns}))
    return Report(model, targets, ops, regions, tuple(host))


PALETTE = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5")


def to_dot(p: Partition) -> str:
    """The original graph with each node filled by the colour of its target (host: white),
    and each region drawn as a cluster."""
    view = p.view
    targets = sorted({r.target for r in p.regions})
    colour = {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(targets)}
    target_of = {r.name: r.target for r in p.regions}
    lines = ["digraph partition {", "  rankdir=TB; node [shape=box, style=filled, "
             "fontname=Helvetica, fontsize=10];"]
    by_region: dict[str, list[int]] = {}
    for i, place in enumerate(p.place):
        if place != "-":
            by_region.setdefault(place, []).append(i)

    def node(i: int) -> str:
        b = view.bindings[i]
        fill = colour[target_of[p.place[i]]] if p.place[i] else "white"
        label = f"{view.op(i) or type(b.value).__name__}\\n{b.var.name}"
        return f'    n{i} [label="{label}", fillcolor="{fill}"];'

    for place, idx in by_region.items():
        if place:
            lines.append(f'  subgraph "cluster_{place}" {{ label="{place}"; style=dashed;')
            lines += [node(i) for i in idx]
            lines.append("  }")
        else:
            lines += [node(i)[2:] for i in idx]
    for i, place in enumerate(p.place):
        if place == "-":
            continue
        for j in view.preds[i]:
            if p.place[j] != "-":
                lines.append(f"  n{j} -> n{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"
