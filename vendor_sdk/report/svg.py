"""The folded graph as inline SVG: regions as bands, per-layer figures on the nodes.

Regions are drawn as one band per layer of the layout, spanning the region's nodes in that
layer and joined to the next layer's band, so a region reads as one coloured shape
(the layout keeps a region's nodes adjacent). Every node carries ``data-*`` attributes
(kind, region, cycles, utilization, share) that the page's script recolours for its
overlays; the hottest layers also get a red bar in proportion to their share of cycles.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Mapping, Sequence

from vendor_sdk.report.graph import Graph, Node
from vendor_sdk.report.layers import LayerRow
from vendor_sdk.report.layout import Box, Layout, layered

PALETTE = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5")
HOST_FILL = "#d9d9d9"
NODE_W, NODE_H, IO_W, IO_H = 164, 38, 150, 24
HOST_H = 50      # a host op's reason takes two lines
REASON_CHARS = 32  # what fits on a line of a node at 9.5 px
PAD = 8
HALO = 'stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'


def colours(targets: Iterable[str]) -> dict[str, str]:
    return {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(sorted(set(targets)))}


def place(graph: Graph) -> Layout:
    def size(nid: str) -> tuple[float, float]:
        kind = kinds[nid]
        return (IO_W, IO_H) if kind in ("input", "output") else \
            (NODE_W, HOST_H) if kind == "host" else (NODE_W, NODE_H)

    kinds = {n.id: n.kind for n in graph.nodes}
    group = {n.id: n.region for n in graph.nodes}
    return layered([n.id for n in graph.nodes], [(e.src, e.dst) for e in graph.edges], size,
                   group, gap_y=40)


def si(v: float) -> str:
    """A count in three significant digits with a k/M/G suffix (node labels, axis ticks)."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def _path(pts: Sequence[tuple[float, float]]) -> str:
    """Through every point, vertical tangents at each: smooth S-curves between layers."""
    d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        my = (y0 + y1) / 2
        d += f" C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}"
    return d


def short_reason(reason: str) -> list[str]:
    """A host op's reason in at most two node lines. A reason is "who: why", sometimes
    nested ("the code generator cannot lower composite X (r1, r2): the result is not
    quantized"); the last "why" is what a reader needs at a glance, the tooltip and the
    table have all of it."""
    words = ("host: " + reason.rsplit(": ", 1)[-1]).split()
    lines = [""]
    for w in words:
        if lines[-1] and len(lines[-1]) + 1 + len(w) > REASON_CHARS:
            lines.append("")
        lines[-1] = f"{lines[-1]} {w}".strip()
    if len(lines) > 2:
        lines = [lines[0], lines[1][:REASON_CHARS - 1] + "\u2026"]
    return [ln if len(ln) <= REASON_CHARS else ln[:REASON_CHARS - 1] + "\u2026"
            for ln in lines]


def _bands(graph: Graph, lay: Layout, colour: Mapping[str, str]) -> tuple[list[str],
                                                                           list[str]]:
    """The bands, and their labels (drawn above the edges, which may cross them)."""
    out: list[str] = []
    labels: list[str] = []
    regions: dict[str, dict[int, list[Box]]] = {}
    for n in graph.nodes:
        if n.region:
            regions.setdefault(n.region, {}).setdefault(lay.layer[n.id], []).append(
                lay.boxes[n.id])
    target = {n.region: n.target for n in graph.nodes if n.region}
    for name, by_layer in regions.items():
        fill = colour.get(target[name], "#ccc")
        out.append(f'<g class="region" data-region="{html.escape(name)}" fill="{fill}" '
                   f'fill-opacity="0.28" stroke="none">')
        layers = sorted(by_layer)
        for k, li in enumerate(layers):
            boxes = by_layer[li]
            x0 = min(b.x for b in boxes) - PAD
            x1 = max(b.x + b.w for b in boxes) + PAD
            y0 = min(b.y for b in boxes) - PAD
            y1 = max(b.y + b.h for b in boxes) + PAD
            if k + 1 < len(layers) and layers[k + 1] == li + 1:  # join to the next band
                nxt = by_layer[li + 1]
                y1 = min(b.y for b in nxt) - PAD
            out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                       f'height="{y1 - y0:.1f}" rx="6"/>')
        out.append("</g>")
        first = by_layer[layers[0]]
        labels.append(f'<text x="{min(b.x for b in first) - PAD + 4:.1f}" '
                      f'y="{min(b.y for b in first) - PAD - 3:.1f}" fill="#333" {HALO} '
                      f'font-size="10" font-weight="bold">{html.escape(name)}</text>')
    return out, labels


def _node(n: Node, b: Box, row: LayerRow | None, fill: str, hottest: int) -> str:
    tip = [f"{n.label}  ({', '.join(n.sources) or n.id})", f"output {n.shape}"]
    line2, reason = "", []
    attrs = f'data-node="{html.escape(n.id)}" data-kind="{n.kind}"'
    if n.region:
        attrs += f' data-region="{html.escape(n.region)}"'
        tip.append(f"{n.region}, pattern {n.pattern}, target {n.target}")
    if n.reason:
        tip.append(f"host: {n.reason}")
        reason = short_reason(n.reason)
    if row is not None:
        if row.macs:
            tip.append(f"MACs {row.macs:,}")
            line2 = line2 or f"{si(row.macs)} MACs"
        if row.cycles is not None:
            util = f"{100 * row.utilization:.0f}%" if row.utilization is not None else "-"
            line2 = " \u00b7 ".join([f"{si(row.cycles)} cyc",
                                      *([util] if row.utilization is not None else []),
                                      *([row.bound_by] if row.bound_by else [])])
            tip.append(f"cycles {row.cycles:,}, utilization {util}, bound by "
                       f"{row.bound_by or '-'}" + _busy_tip(row))
            attrs += f' data-cycles="{row.cycles}"'
            if row.utilization is not None:
                attrs += f' data-util="{row.utilization:.4f}"'
    if len(line2) > 30:
        line2 = line2[:29] + "\u2026"
    rx = 12 if n.kind in ("input", "output") else 4
    parts = [f'<g class="node" {attrs}><title>{html.escape(chr(10).join(tip))}</title>',
             f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.0f}" height="{b.h:.0f}" '
             f'rx="{rx}" fill="{fill}" stroke="#555"/>']
    label = n.label if len(n.label) <= 26 else n.label[:25] + "\u2026"
    if reason:
        parts.append(f'<text x="{b.cx:.1f}" y="{b.y + 15:.1f}" text-anchor="middle" '
                     f'font-weight="bold">{html.escape(label)}</text>')
        parts += [f'<text x="{b.cx:.1f}" y="{b.y + 29 + 11 * k:.1f}" text-anchor="middle" '
                  f'font-size="9.5" fill="#333">{html.escape(t)}</text>'
                  for k, t in enumerate(reason)]
    elif line2:
        parts.append(f'<text x="{b.cx:.1f}" y="{b.y + 15:.1f}" text-anchor="middle" '
                     f'font-weight="bold">{html.escape(label)}</text>'
                     f'<text x="{b.cx:.1f}" y="{b.y + 29:.1f}" text-anchor="middle" '
                     f'font-size="9.5" fill="#333">{html.escape(line2)}</text>')
    else:
        parts.append(f'<text x="{b.cx:.1f}" y="{b.y + b.h / 2 + 4:.1f}" '
                     f'text-anchor="middle">{html.escape(label)}</text>')
    if row is not None and row.cycles and hottest:
        w = max(1.0, (b.w - 4) * row.cycles / hottest)
        parts.append(f'<rect class="heat" x="{b.x + 2:.1f}" y="{b.y + b.h - 4:.1f}" '
                     f'width="{w:.1f}" height="3" fill="#d62728"/>')
    parts.append("</g>")
    return "".join(parts)


def _busy_tip(row: LayerRow) -> str:
    busy = row.bound_busy
    if busy is None or not row.cycles:
        return ""
    if row.overlap:
        return (f" (busy {busy:,} cycles: {row.overlap:,} more than the layer's, work that "
                "overlaps the next layer; the backend charges an instruction when it starts)")
    return f" (busy {busy:,} of {row.cycles:,} cycles)"


def to_svg(graph: Graph, layer_rows: Sequence[LayerRow] = ()) -> str:
    lay = place(graph)
    colour = colours([n.target for n in graph.nodes if n.target])
    bands, band_labels = _bands(graph, lay, colour)
    by_node = {r.node: r for r in layer_rows}
    hottest = max((r.cycles or 0 for r in layer_rows), default=0)
    w, h = lay.width, lay.height
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{w:.0f}" '
           f'height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#777"/></marker>'
           '</defs>', *bands,
           '<g class="edges" stroke="#777" stroke-width="1.1" fill="none">']
    labelled: set[str] = set()
    labels: list[str] = []
    for e in graph.edges:
        out.append(f'<path d="{_path(lay.routes[(e.src, e.dst)])}" '
                   'marker-end="url(#arrow)"/>')
        if e.src not in labelled and e.shape:  # every edge out of a node has its shape
            labelled.add(e.src)
            x, y = lay.routes[(e.src, e.dst)][0]
            labels.append(f'<text x="{x + 4:.1f}" y="{y + 11:.1f}">'
                          f"{html.escape(e.shape)}</text>")
    out.append("</g>")
    # labels over the edges, on a white halo: an edge that crosses one does not hide it
    out.append(f'<g class="shapes" font-size="9" fill="#555" {HALO}>' + "".join(labels)
               + "</g>")
    out.append('<g class="region-labels">' + "".join(band_labels) + "</g>")
    for n in graph.nodes:
        fill = "#ffffff" if n.kind in ("input", "output") else \
            colour[n.target] if n.target else HOST_FILL
        out.append(_node(n, lay.boxes[n.id], by_node.get(n.id), fill, hottest))
    out.append("</svg>")
    return "\n".join(out)
