"""A top-down layered (Sugiyama-style) layout, computed here: no graphviz on the machines.

1. Layers: longest path from the sources, so every edge points down.
2. Edges spanning several layers get a dummy point per layer crossed; the edge is drawn
   through them, and they take part in ordering like nodes (this is what keeps the long
   skip connections of a ResNet beside the blocks instead of across them).
3. Order within layers: barycenter sweeps, down then up, a few rounds; ties keep the
   previous order, and nodes of one group (NPU region) are kept next to each other, so a
   region can be drawn as one band per layer.
4. x: each node moves toward the mean x of its neighbours, then overlaps are pushed apart
   in order; a few rounds of that settle chains into straight vertical lines.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

SWEEPS = 6
SETTLE = 8


@dataclass(frozen=True, slots=True)
class Box:
    x: float  # left
    y: float  # top
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


@dataclass(frozen=True, slots=True)
class Layout:
    boxes: Mapping[str, Box]
    routes: Mapping[tuple[str, str], tuple[tuple[float, float], ...]]  # edge -> points
    layer: Mapping[str, int]
    width: float
    height: float


def layered(nodes: Sequence[str], edges: Sequence[tuple[str, str]],
            size: Callable[[str], tuple[float, float]], group: Mapping[str, str],
            gap_x: float = 24, gap_y: float = 44, dummy_w: float = 8) -> Layout:
    """Place ``nodes`` (topological order) of ``size`` (w, h); ``group`` clusters a layer."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for s, d in edges:
        preds[d].append(s)
    layer: dict[str, int] = {}
    for n in nodes:
        layer[n] = 1 + max((layer[s] for s in preds[n]), default=-1)
    # dummies: edge (s, d) over layers l(s)+1 .. l(d)-1
    chain: dict[tuple[str, str], list[str]] = {}
    width: dict[str, float] = {n: size(n)[0] for n in nodes}
    lay = dict(layer)
    up: dict[str, list[str]] = {n: [] for n in nodes}
    down: dict[str, list[str]] = {n: [] for n in nodes}
    for s, d in edges:
        path = [s]
        for k in range(layer[s] + 1, layer[d]):
            v = f"\0{s}\0{d}\0{k}"
            lay[v], width[v], up[v], down[v] = k, dummy_w, [], []
            path.append(v)
        path.append(d)
        chain[(s, d)] = path[1:-1]
        for u, v in itertools.pairwise(path):
            down[u].append(v)
            up[v].append(u)
    rows: list[list[str]] = [[] for _ in range(max(lay.values(), default=-1) + 1)]
    for v in lay:  # nodes in topological order, then dummies: a sensible first order
        rows[lay[v]].append(v)
    grp = {v: group.get(v, "") if not v.startswith("\0") else
           group.get(v.split("\0")[1], "") for v in lay}
    _order(rows, up, down, grp)
    x = _settle(rows, up, down, width, gap_x)
    heights = [max((size(v)[1] for v in row if not v.startswith("\0")), default=0.0)
               for row in rows]
    ys, y = [], gap_y / 2
    for h in heights:
        ys.append(y)
        y += h + gap_y
    left = min((x[v] - width[v] / 2 for v in lay), default=0.0) - gap_x
    boxes = {n: Box(x[n] - width[n] / 2 - left, ys[layer[n]] + (heights[layer[n]]
                                                               - size(n)[1]) / 2, *size(n))
             for n in nodes}
    routes = {}
    for (s, d), mid in chain.items():
        a, b = boxes[s], boxes[d]
        pts = [(a.cx, a.y + a.h)]
        pts += [(x[v] - left, ys[lay[v]] + heights[lay[v]] / 2) for v in mid]
        pts.append((b.cx, b.y))
        routes[(s, d)] = tuple(pts)
    right = max((b.x + b.w for b in boxes.values()), default=0.0)
    right = max([right, *(x[v] - left for v in lay)])
    return Layout(boxes, routes, layer, right + gap_x, y)


def _order(rows: list[list[str]], up: Mapping[str, list[str]],
           down: Mapping[str, list[str]], grp: Mapping[str, str]) -> None:
    pos = {v: float(k) for row in rows for k, v in enumerate(row)}

    def sweep(row: list[str], nbrs: Mapping[str, list[str]]) -> None:
        bary = {v: sum(pos[u] for u in nbrs[v]) / len(nbrs[v]) if nbrs[v] else pos[v]
                for v in row}
        # a group sits at the mean of its members: members stay together
        members: dict[str, list[str]] = {}
        for v in row:
            members.setdefault(grp[v], []).append(v)
        centre = {g: sum(bary[v] for v in vs) / len(vs) for g, vs in members.items()}
        row.sort(key=lambda v: (centre[grp[v]], grp[v], bary[v], pos[v]))
        for k, v in enumerate(row):
            pos[v] = float(k)

    for _ in range(SWEEPS):
        for row in rows[1:]:
            sweep(row, up)
        for row in reversed(rows[:-1]):
            sweep(row, down)


def _settle(rows: list[list[str]], up: Mapping[str, list[str]],
            down: Mapping[str, list[str]], width: Mapping[str, float],
            gap: float) -> dict[str, float]:
    """Centre x per node: start packed, then pull toward neighbours and push apart."""
    x: dict[str, float] = {}
    for row in rows:
        cur = 0.0
        for v in row:
            x[v] = cur + width[v] / 2
            cur += width[v] + gap

    def pack(row: list[str], want: Mapping[str, float]) -> None:
        # left to right keeps order and gaps; then shift the row so its mean error is 0
        placed: list[float] = []
        for k, v in enumerate(row):
            lo = placed[-1] + (width[row[k - 1]] + width[v]) / 2 + gap if placed else -1e18
            placed.append(max(want[v], lo))
        for k in range(len(row) - 2, -1, -1):  # right to left: pull back what was pushed
            hi = placed[k + 1] - (width[row[k]] + width[row[k + 1]]) / 2 - gap
            placed[k] = min(placed[k], max(want[row[k]], hi)) if placed[k] > want[row[k]] \
                else min(placed[k], hi)
        shift = sum(want[v] - p for v, p in zip(row, placed, strict=True)) / len(row)
        for v, p in zip(row, placed, strict=True):
            x[v] = p + shift
        for k in range(1, len(row)):  # the shift is uniform: gaps still hold
            lo = x[row[k - 1]] + (width[row[k - 1]] + width[row[k]]) / 2 + gap
            x[row[k]] = max(x[row[k]], lo)

    for _ in range(SETTLE):
        for nbrs, order in ((up, rows[1:]), (down, list(reversed(rows[:-1])))):
            for row in order:
                want = {v: sum(x[u] for u in nbrs[v]) / len(nbrs[v]) if nbrs[v] else x[v]
                        for v in row}
                pack(row, want)
    return x
