"""Pareto fronts of the sweep: configurations no other beats on both cycles and memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated when both coordinates are minimised (another
    point at most as large in both and smaller in one dominates); equal points are all
    kept. Sorted by x, then y: one pass keeps each point below every y seen so far."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    front: list[int] = []
    best_y = float("inf")
    for i in order:
        x, y = points[i]
        if y < best_y or (front and points[front[-1]] == (x, y)):
            front.append(i)
            best_y = min(best_y, y)
    return sorted(front)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One configuration's standing: on-chip bytes and cycles (one model's, or summed)."""

    config: str
    onchip_bytes: int
    cycles: int
    on_front: bool


def candidates(records: Sequence[Mapping[str, Any]], model: str | None) -> list[Candidate]:
    """Per configuration with a result: ``model``'s cycles, or (None) the sum over the
    models of configurations where every model ran ok (a total over fewer models would
    look cheaper than it is)."""
    models = {r["model"] for r in records if r.get("model") is not None}
    per_config: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        if model is None or r.get("model") == model:
            per_config.setdefault(r["config"], []).append(r)
    rows: list[tuple[str, int, int]] = []
    for config, rs in per_config.items():
        if any(r["status"] != "ok" or r.get("cycles") is None for r in rs):
            continue
        if model is None and {r.get("model") for r in rs} != models:
            continue
        rows.append((config, int(rs[0]["onchip_bytes"]), sum(int(r["cycles"]) for r in rs)))
    front = set(pareto_front([(b, c) for _, b, c in rows]))
    return [Candidate(cfg, b, c, i in front) for i, (cfg, b, c) in enumerate(rows)]
