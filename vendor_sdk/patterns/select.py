"""Find every pattern match in one pass and keep a non-overlapping set.

Patterns are indexed by the op of their root, so each binding is tried only
against the variants that can be rooted at it: the pass is linear in the
graph size (times the bounded pattern size). Overlaps are resolved by
priority, then by size, then by position — never by list order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vendor_sdk.patterns.lang import Pattern
from vendor_sdk.patterns.match import Match, Plan, _Fail, compile_plan, match_at
from vendor_sdk.patterns.view import GraphView


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


def _by_root_op(patterns: Sequence[Pattern]) -> dict[str, list[Plan]]:
    table: dict[str, list[Plan]] = {}
    for p in patterns:
        for v in p.variants:
            plan = compile_plan(p, v)
            for op in plan.root_ops:
                table.setdefault(op, []).append(plan)
    for entries in table.values():
        entries.sort(key=lambda pl: (-pl.pattern.priority, -len(pl.variant.nodes),
                                     pl.pattern.name))
    return table


def select_matches(view: GraphView, patterns: Sequence[Pattern],
                   host: Sequence[bool]) -> Selection:
    """All matches, then a greedy non-overlapping choice; ``host[i]`` pins binding i."""
    table = _by_root_op(patterns)
    found: list[Match] = []
    misses: dict[int, list[Miss]] = {}
    pinned = any(host)
    for i, op in enumerate(view.ops):
        entries = table.get(op)
        if not entries or host[i]:
            continue
        for plan in entries:
            try:
                m = match_at(view, i, plan)
            except _Fail as f:
                p = plan.pattern
                misses.setdefault(i, []).append(Miss(p.name, p.priority, f.reason, f.progress))
                continue
            if pinned and any(host[k] for k in m.owned):
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
