"""The `--html` page: the partitioned graph drawn as inline SVG, plus the text report.

Self-contained (no script, no CDN): a small layered layout of our own. Layers are
longest paths from the inputs; within a layer nodes are ordered by the mean
position of their predecessors (one barycenter sweep, which untangles the
branch-and-join shapes of CNNs well enough). Nodes are filled per target, host
ops grey; hovering a node shows its SVG ``<title>``: the region and pattern that
took it, or the reason it stayed on the host.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from vendor_sdk.patterns.partition import Partition
from vendor_sdk.patterns.report import PALETTE, QDQ, Report

HOST_FILL = "#d9d9d9"
_W, _H, _QW = 132, 30, 40  # node width, height; width of a Q/DQ node
_GAP_X, _GAP_Y = 14, 34


@dataclass(frozen=True, slots=True)
class Placed:
    """A node of the drawing: binding index, layer, slot within the layer, box."""

    index: int
    layer: int
    x: float
    y: float
    w: float


def layout(p: Partition) -> tuple[list[Placed], list[tuple[int, int]]]:
    """Boxes for every binding that is still in the program, and the edges between them.

    A DequantizeLinear copied into every composite reading it is gone from main; an edge
    through it is drawn from its input instead.
    """
    view = p.view
    shown = [i for i, place in enumerate(p.place) if place != "-"]
    is_shown = [place != "-" for place in p.place]
    edges: list[tuple[int, int]] = []
    for i in shown:
        for q in view.preds[i]:
            for s in ((q,) if is_shown[q] else tuple(view.preds[q])):
                if is_shown[s]:
                    edges.append((s, i))
    preds: dict[int, list[int]] = {i: [] for i in shown}
    for s, d in edges:
        preds[d].append(s)
    layer: dict[int, int] = {}
    for i in shown:  # bindings are in topological order
        layer[i] = 1 + max((layer[s] for s in preds[i]), default=-1)
    rows: dict[int, list[int]] = {}
    for i in shown:
        rows.setdefault(layer[i], []).append(i)
    slot: dict[int, float] = {}
    for depth in sorted(rows):
        row = rows[depth]
        for k, i in enumerate(row):
            ps = preds[i]
            slot[i] = sum(slot[s] for s in ps) / len(ps) if ps else float(k)
        row.sort(key=lambda i: slot[i])
        for k, i in enumerate(row):
            slot[i] = float(k)
    width = {d: sum(_box_width(view.op(i)) + _GAP_X for i in row) for d, row in rows.items()}
    widest = max(width.values(), default=0)
    placed: list[Placed] = []
    for depth, row in rows.items():
        x = (widest - width[depth]) / 2 + _GAP_X
        for i in row:
            w = _box_width(view.op(i))
            placed.append(Placed(i, depth, x, _GAP_Y + depth * (_H + _GAP_Y), w))
            x += w + _GAP_X
    return placed, edges


def _box_width(op: str) -> int:
    return _QW if op in QDQ else _W


def to_svg(p: Partition, report: Report) -> str:
    view = p.view
    placed, edges = layout(p)
    targets = sorted({r.target for r in p.regions})
    colour = {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(targets)}
    target_of = {r.name: r.target for r in p.regions}
    pattern_of = {i: m.pattern.name for r in p.regions for m in r.composites for i in m.owned}
    reason = {h.name: h.reason for h in report.host}
    at = {n.index: n for n in placed}
    width = max((n.x + n.w for n in placed), default=0) + _GAP_X
    height = max((n.y + _H for n in placed), default=0) + _GAP_Y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, sans-serif" '
           'font-size="10">',
           '<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#888"/></marker>'
           '</defs>', '<g stroke="#888" stroke-width="1" fill="none">']
    for s, d in edges:
        a, b = at[s], at[d]
        out.append(f'<line x1="{a.x + a.w / 2:.1f}" y1="{a.y + _H:.1f}" '
                   f'x2="{b.x + b.w / 2:.1f}" y2="{b.y:.1f}" marker-end="url(#arrow)"/>')
    out.append("</g>")
    for n in placed:
        bd = view.bindings[n.index]
        op = view.op(n.index) or type(bd.value).__name__
        place = p.place[n.index]
        if place:
            fill = colour[target_of[place]]
            tip = f"{op} {bd.var.name}: {place}, pattern {pattern_of.get(n.index, '(copy)')}"
        else:
            fill = HOST_FILL
            tip = f"{op} {bd.var.name}: host: {reason.get(bd.var.name, 'not an op call')}"
        label = ("Q" if op == "QuantizeLinear" else "DQ") if op in QDQ else op[:20]
        out.append(f'<g class="node"><title>{html.escape(tip)}</title>'
                   f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w}" height="{_H}" rx="4" '
                   f'fill="{fill}" stroke="#555"/>'
                   f'<text x="{n.x + n.w / 2:.1f}" y="{n.y + _H / 2 + 3.5:.1f}" '
                   f'text-anchor="middle">{html.escape(label)}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def to_html(p: Partition, report: Report) -> str:
    """A self-contained page: legend, the graph, then the text report."""
    targets = sorted({r.target for r in p.regions})
    legend = " ".join(
        f'<span style="background:{PALETTE[k % len(PALETTE)]};padding:2px 6px">'
        f"{html.escape(t)}</span>" for k, t in enumerate(targets))
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(report.model or 'partition')}</title>"
            "<style>body{font-family:Helvetica,sans-serif} .node:hover rect{stroke:#000;"
            "stroke-width:2} .graph{overflow:auto;border:1px solid #ccc}</style></head><body>"
            f"<h1>{html.escape(report.model)}</h1><p>{legend} "
            f'<span style="background:{HOST_FILL};padding:2px 6px">host</span> '
            "(hover a node for its region and pattern, or why it stayed on the host)</p>"
            f'<div class="graph">{to_svg(p, report)}</div>'
            f"<pre>{html.escape(report.to_text())}</pre></body></html>\n")
