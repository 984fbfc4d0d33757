"""Find every pattern match in one pass and keep a non-overlapping set.

Patterns are indexed by the op of their root, so each binding is tried only
against the variants that can be rooted at it: the pass is linear in the
graph size (times the bounded pattern size). Overlaps are resolved by
priority, then by size, then by position — never by list order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vendor_sdk.patterns.lang import Pattern, Variant
from vendor_sdk.patterns.match import GraphView, Match, _Fail, match_at


@dataclass(frozen=True, slots=True)
class Miss:
    """Why a pattern did not match (at a root, or at one of its nodes)."""

    pattern: str
    priority: int
    reason: str
    progress: int


@dataclass
class Selection:
    matches: list[Match]
    misses: dict[int, list[Miss]] = field(default_factory=dict)  # binding -> failed attempts
    beaten: dict[int, tuple[str, str]] = field(default_factory=dict)  # binding -> (lost, winner)


def _by_root_op(patterns: Sequence[Pattern]) -> dict[str, list[tuple[Pattern, Variant]]]:
    table: dict[str, list[tuple[Pattern, Variant]]] = {}
    for p in patterns:
        for v in p.variants:
            for alt in v.nodes[v.root].alts:
                table.setdefault(alt.op, []).append((p, v))
    for entries in table.values():
        entries.sort(key=lambda pv: (-pv[0].priority, -len(pv[1].nodes), pv[0].name))
    return table


def select_matches(view: GraphView, patterns: Sequence[Pattern],
                   host: Sequence[bool]) -> Selection:
    """All matches, then a greedy non-overlapping choice; ``host[i]`` pins binding i."""
    table = _by_root_op(patterns)
    found: list[Match] = []
    misses: dict[int, list[Miss]] = {}
    op_of = view.op
    for i in range(len(view.bindings)):
        entries = table.get(op_of(i))
        if not entries or host[i]:
            continue
        for p, v in entries:
            try:
                m = match_at(view, i, p, v)
            except _Fail as f:
                misses.setdefault(i, []).append(Miss(p.name, p.priority, f.reason, f.progress))
                continue
            if any(host[k] for k in m.owned):
                continue
            found.append(m)
    found.sort(key=lambda m: (-m.pattern.priority, -len(m.nodes), -len(m.owned), m.output))
    taken: dict[int, Match] = {}
    chosen: list[Match] = []
    beaten: dict[int, tuple[str, str]] = {}
    for m in found:
        clash = next((taken[k] for k in m.owned if k in taken), None)
        if clash is not None:
            if clash.pattern.name != m.pattern.name:
                for k in m.owned:
                    beaten.setdefault(k, (m.pattern.name, clash.pattern.name))
            continue
        for k in m.owned:
            taken[k] = m
        chosen.append(m)
    chosen.sort(key=lambda m: m.output)
    return Selection(chosen, misses, beaten)
