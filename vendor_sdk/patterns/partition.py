"""Partition a module: matches -> composites -> acyclic regions -> a new module.

The result keeps the module executable by :mod:`core.executor` as is: each
region is a graph function (attrs ``kind=region``, ``target``) whose body calls
composite functions (``kind=composite``, ``pattern``, QDQ parameters), and
main calls each region with :class:`~core.graph.CallFunc`. Codegen later
replaces region calls by ``CallExtern``.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from core.graph import (
    Attrs,
    AttrValue,
    Binding,
    Block,
    Call,
    CallFunc,
    Function,
    Module,
    TupleGetItem,
    Var,
    args_of,
)
from core.types import TupleType
from vendor_sdk.patterns.errors import PartitionError
from vendor_sdk.patterns.lang import Pattern
from vendor_sdk.patterns.match import Match
from vendor_sdk.patterns.merge import merge_regions
from vendor_sdk.patterns.select import Selection, select_matches
from vendor_sdk.patterns.view import GraphView


@dataclass(frozen=True)
class PartitionOptions:
    min_ops: int = 1  # regions with fewer pattern ops stay on the host
    max_regions: int | None = None  # keep only the largest regions
    host_ops: frozenset[str] = frozenset()  # op types forced to the host
    host_nodes: frozenset[str] = frozenset()  # binding names or ONNX node names


@dataclass(frozen=True)
class Region:
    name: str
    target: str
    composites: tuple[Match, ...]
    inputs: tuple[Var, ...]
    outputs: tuple[Var, ...]

    @property
    def ops(self) -> int:
        """Pattern ops (Q/DQ plumbing not counted)."""
        return sum(len(m.nodes) for m in self.composites)


@dataclass(frozen=True)
class Partition:
    module: Module
    view: GraphView  # the original main function
    regions: tuple[Region, ...]
    selection: Selection
    place: tuple[str, ...]  # per original binding: region name, "" host, "-" dropped
    demoted: dict[int, str] = field(default_factory=dict)  # binding -> why it went back
    forced: frozenset[int] = frozenset()  # bindings pinned to the host by the options


def prepare(module: Module) -> Module:
    """The graph passes to run before partitioning.

    A float model gets the default pipeline (constant folding, BatchNorm into Conv).
    A QDQ model skips constant folding: it would turn ``DequantizeLinear(int8 weight)``
    into a float constant and erase the quantization the patterns match.
    """
    from core.passes import eliminate_dead_code, optimize, simplify_shapes
    from vendor_sdk.frontend.uint8 import shift_uint8

    if any(isinstance(b.value, Call) and b.value.op == "DequantizeLinear"
           for b in module.main.bindings):  # uint8 activations become int8 (exact, see uint8.py)
        return eliminate_dead_code(simplify_shapes(shift_uint8(module)))
    return optimize(module)


def partition(module: Module, patterns: Sequence[Pattern],
              options: PartitionOptions = PartitionOptions()) -> Partition:
    """Offload what the patterns match; see the module docstring for the result's shape."""
    if options.min_ops < 1:
        raise PartitionError(f"min_ops must be at least 1, got {options.min_ops}")
    names = [p.name for p in patterns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PartitionError(f"pattern names must be unique; repeated: {', '.join(dup)}")
    with _paused_gc():
        view = GraphView(module.main)
        host = [view.ops[i] in options.host_ops or b.var.name in options.host_nodes
                or (bool(b.source) and b.source in options.host_nodes)
                for i, b in enumerate(view.bindings)]
        sel = select_matches(view, patterns, host)
        demoted: dict[int, str] = {}
        groups = _regions(view, sel.matches)
        for _ in range(2):  # pruning a region never creates a cycle; a second pass settles sizes
            keep = _prune(groups, options, demoted)
            if len(keep) == len(groups):
                break
            groups = _regions(view, [m for ms in keep for m in ms])
        part = _build(module, view, groups, sel, demoted)
        return replace(part, forced=frozenset(i for i, h in enumerate(host) if h))


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Partitioning allocates many small acyclic objects (matches, bindings, functions).
    Python's cyclic collector would rescan the whole, growing IR each time a generation
    fills, which costs more than the partitioning itself on large graphs and finds nothing:
    reference counting frees all of it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _owners(view: GraphView, matches: Sequence[Match]) -> list[int]:
    """The index of the match owning each binding, else -1."""
    owner = [-1] * len(view.bindings)
    for k, m in enumerate(matches):
        for i in m.owned:
            owner[i] = k
    return owner


def _needed_dq(view: GraphView, matches: Sequence[Match], owner: list[int]) -> list[bool]:
    """Whether each copied DequantizeLinear still has a consumer that did not copy it."""
    copied_by: dict[int, set[int]] = {}
    for k, m in enumerate(matches):
        for j in m.copied:
            copied_by.setdefault(j, set()).add(k)
    live = [True] * len(view.bindings)
    outputs = {o.name for o in view.f.outputs if isinstance(o, Var)}
    for j, ks in copied_by.items():
        live[j] = view.bindings[j].var.name in outputs or any(
            owner[u] < 0 or owner[u] not in ks for u in view.users[j])
    return live


def _regions(view: GraphView, matches: Sequence[Match]) -> list[list[Match]]:
    """Group matches into maximal acyclic regions (see vendor_sdk.patterns.merge)."""
    owner = _owners(view, matches)
    live = _needed_dq(view, matches, owner)
    # One unit per host binding and per match, ordered by the match's output position:
    # every external input of a match precedes its output, so this order is topological.
    unit_of = [-1] * len(view.bindings)
    order: list[tuple[int, int]] = []  # (binding, match index or -1)
    for i in range(len(view.bindings)):
        k = owner[i]
        if k >= 0:
            if matches[k].output == i:
                order.append((i, k))
        elif live[i]:
            order.append((i, -1))
    for u, (i, k) in enumerate(order):
        if k >= 0:
            for j in matches[k].owned:
                unit_of[j] = u
        else:
            unit_of[i] = u
    preds: list[list[int]] = []
    targets: list[str | None] = []
    for i, k in order:
        src = set(matches[k].owned) if k >= 0 else {i}
        if k >= 0:
            src |= set(matches[k].copied)
        ps: set[int] = set()
        for b in src:
            for p in view.preds[b]:
                if p in src:
                    continue
                if not live[p] and owner[p] < 0:  # a copied DQ: read its input instead
                    ps.update(unit_of[q] for q in view.preds[p])
                else:
                    ps.add(unit_of[p])
        preds.append(sorted(ps))
        targets.append(matches[k].pattern.target if k >= 0 else None)
    region = merge_regions(preds, targets)
    groups: dict[int, list[Match]] = {}
    for u, (_, k) in enumerate(order):
        if region[u] >= 0:
            groups.setdefault(region[u], []).append(matches[k])
    return [groups[r] for r in sorted(groups)]


def _prune(groups: list[list[Match]], options: PartitionOptions,
           demoted: dict[int, str]) -> list[list[Match]]:
    def size(g: list[Match]) -> int:
        return sum(len(m.nodes) for m in g)

    keep = [g for g in groups if size(g) >= options.min_ops]
    for g in groups:
        if size(g) < options.min_ops:
            for m in g:
                for i in m.owned:
                    demoted[i] = (f"its region has {size(g)} op(s), fewer than the minimum "
                                  f"{options.min_ops}")
    if options.max_regions is not None and len(keep) > options.max_regions:
        ranked = sorted(range(len(keep)), key=lambda r: (-size(keep[r]), r))
        kept = set(ranked[:options.max_regions])
        for r in ranked[options.max_regions:]:
            for m in keep[r]:
                for i in m.owned:
                    demoted[i] = (f"only the {options.max_regions} largest regions are kept "
                                  f"(this one has {size(keep[r])} op(s))")
        keep = [g for r, g in enumerate(keep) if r in kept]
    return keep


def _composite(view: GraphView, m: Match, name: str) -> tuple[Function, tuple[Var, ...]]:
    idx = sorted({*m.owned, *m.copied}) if m.copied else m.owned
    body = tuple(view.bindings[i] for i in idx)
    defined = {b.var.name for b in body}
    params: dict[str, Var] = {}
    for b in body:
        for a in args_of(b.value):
            if type(a) is Var and a.name not in defined:
                params.setdefault(a.name, a)
    pat = m.pattern
    items: list[tuple[str, AttrValue]] = [
        ("kind", "composite"), ("pattern", pat.name), ("target", pat.target),
        ("priority", pat.priority),  # its `lower`: target.lowerings[pattern], typed
        ("nodes", tuple([f"{n}={view.bindings[i].var.name}" for n, i in m.nodes.items()]))]
    for t, q in m.qparams.items():
        items += [(f"{t}.scale", q.scale), (f"{t}.zero_point", q.zero_point),
                  (f"{t}.axis", -1 if q.axis is None else q.axis), (f"{t}.dtype", q.dtype)]
    # Every value above is already a plain int / str / tuple (QParams converts numpy
    # scalars), so the Attrs is built directly: Attrs.of would re-freeze each element.
    items.sort()
    out = view.bindings[m.output].var
    ps = tuple(params.values())
    return Function(name, ps, (Block(body),), (out,), Attrs(tuple(items))), ps


def _build(module: Module, view: GraphView, groups: list[list[Match]], sel: Selection,
           demoted: dict[int, str]) -> Partition:
    matches = [m for g in groups for m in g]
    owner = _owners(view, matches)
    live = _needed_dq(view, matches, owner)
    region_of = [-1] * len(view.bindings)
    for r, g in enumerate(groups):
        for m in g:
            for i in m.owned:
                region_of[i] = r
    taken = {f.name for f in module.functions} | {b.var.name for b in view.bindings}
    funcs: list[Function] = []
    regions: list[Region] = []
    main_outputs = {o.name for o in view.f.outputs if isinstance(o, Var)}
    for r, g in enumerate(groups):
        rname = _fresh(f"{g[0].pattern.target or 'npu'}_region{r}", taken)
        inside: set[str] = set()
        calls: list[Binding] = []
        inputs: dict[str, Var] = {}
        for k, m in enumerate(g):
            # Numbered from the start: probing one shared base name would be quadratic.
            cname = _fresh(f"{rname}_{k}_{m.pattern.name}", taken)
            comp, params = _composite(view, m, cname)
            funcs.append(comp)
            for p in params:
                if p.name not in inside:
                    inputs.setdefault(p.name, p)
            out = view.bindings[m.output].var
            inside.add(out.name)
            calls.append(Binding(out, CallFunc(cname, params), view.bindings[m.output].source))
        outputs = tuple(
            view.bindings[m.output].var for m in g
            if view.bindings[m.output].var.name in main_outputs
            or any(region_of[u] != r for u in _consumers(view, m.output, live)))
        if not outputs:  # dead code in the input graph: keep the region well-formed
            outputs = (view.bindings[g[-1].output].var,)
        attrs = Attrs((("kind", "region"), ("target", g[0].pattern.target)))  # sorted
        funcs.append(Function(rname, tuple(inputs.values()), (Block(tuple(calls)),), outputs,
                              attrs))
        regions.append(Region(rname, g[0].pattern.target, tuple(g), tuple(inputs.values()),
                              outputs))
    main = _main(view, regions, region_of, live)
    rest = tuple(f for f in module.functions if f.name != module.entry)
    new = Module((main, *rest, *funcs), module.entry)
    place = tuple(regions[region_of[i]].name if region_of[i] >= 0 else ("" if live[i] else "-")
                  for i in range(len(view.bindings)))
    return Partition(new, view, tuple(regions), sel, place, demoted)


def _consumers(view: GraphView, i: int, live: list[bool]) -> list[int]:
    """Users of binding i, looking through dropped DequantizeLinear copies."""
    out: list[int] = []
    for u in view.users[i]:
        out.extend(view.users[u] if not live[u] and view.op(u) == "DequantizeLinear" else (u,))
    return out


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _main(view: GraphView, regions: list[Region], region_of: list[int],
          live: list[bool]) -> Function:
    """Main with each region as one call, in a topological order of the quotient graph."""
    n = len(view.bindings)
    # Quotient nodes: host binding i -> i; region r -> n + r; a dropped DQ copy -> -1.
    q_of = [n + r if r >= 0 else (i if live[i] else -1) for i, r in enumerate(region_of)]
    first = [-1] * (n + len(regions))  # first member binding: ties keep the original order
    succs: list[list[int]] = [[] for _ in first]
    indeg = [0] * len(first)
    preds = view.preds

    def edges(q: int, members: Sequence[int]) -> None:
        for i in members:
            for p in preds[i]:
                pq = q_of[p]
                if pq >= 0 and pq != q and p not in members:  # parallel edges: counted and
                    succs[pq].append(q)                       # released alike
                    indeg[q] += 1

    for i, q in enumerate(q_of):
        if 0 <= q < n:
            first[q] = i
            edges(q, (i,))
    for r, region in enumerate(regions):
        first[n + r] = min(m.owned[0] for m in region.composites)
        for m in region.composites:
            # A composite reads its copied DequantizeLinears' inputs, not the host's DQ
            # (else a region could be placed before the producer of what it reads).
            edges(n + r, (*m.owned, *m.copied))
    nodes = [q for q in range(len(first)) if first[q] >= 0]
    heap = [first[q] for q in nodes if indeg[q] == 0]
    heapq.heapify(heap)
    out: list[Binding] = []
    emitted = 0
    while heap:
        q = q_of[heapq.heappop(heap)]
        emitted += 1
        if q < n:
            out.append(view.bindings[q])
        else:
            out.extend(_region_call(regions[q - n]))
        for s in succs[q]:
            indeg[s] -= 1
            if indeg[s] == 0:
                heapq.heappush(heap, first[s])
    if emitted < len(nodes):
        raise PartitionError("the partition has a cycle between regions (SDK bug)")
    f = view.f
    dataflow = all(b.dataflow for b in f.blocks)
    return Function(f.name, f.params, (Block(tuple(out), dataflow),), f.outputs, f.attrs)


def _region_call(r: Region) -> list[Binding]:
    call = CallFunc(r.name, r.inputs)
    if len(r.outputs) == 1:
        return [Binding(r.outputs[0], call, r.name)]
    tup = Var(f"{r.name}_out", TupleType(tuple(o.tensor_type for o in r.outputs)))
    return [Binding(tup, call, r.name),
            *(Binding(o, TupleGetItem(tup, k), r.name) for k, o in enumerate(r.outputs))]


__all__ = ["Partition", "PartitionOptions", "Region", "partition"]
