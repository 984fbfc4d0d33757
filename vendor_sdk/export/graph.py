"""ONNX graph surgery: each NPU region's nodes become one custom node.

A region is given by the ONNX tensors it reads and writes. Its nodes are what computes
those outputs from those inputs: the backward slice from the outputs, stopped at the
inputs and at initializers. The slice may reach no graph input (the region would read
something it was not given); constant chains in it that host nodes also read stay for
them. Every other node is kept as it is, so the host remainder is the user's own ONNX.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import onnx

from vendor_sdk.export.errors import ExportError


@dataclass(frozen=True, slots=True)
class Ports:
    """A region by the ONNX tensors it reads and writes."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _subgraph_reads(node: onnx.NodeProto) -> set[str]:
    """Outer-scope names an If/Loop/Scan body reads (every name its nodes read; names the
    body defines itself are harmless extra dependencies)."""
    names: set[str] = set()
    for a in node.attribute:
        for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else
                  list(a.graphs) if a.type == onnx.AttributeProto.GRAPHS else []):
            for n in g.node:
                names.update(n.input)
                names.update(_subgraph_reads(n))
    return names


def reads(node: onnx.NodeProto) -> set[str]:
    return {t for t in node.input if t} | _subgraph_reads(node)


def region_nodes(graph: onnx.GraphProto, ports: Ports) -> list[int]:
    """Indices of the nodes that compute ``ports.outputs`` from ``ports.inputs``."""
    producer = {t: i for i, n in enumerate(graph.node) for t in n.output if t}
    constants = {t.name for t in graph.initializer}
    graph_inputs = {v.name for v in graph.input} - constants
    stop = set(ports.inputs) | constants
    seen: set[int] = set()
    todo = list(ports.outputs)
    while todo:
        t = todo.pop()
        if t in stop:
            continue
        if t in graph_inputs:
            raise ExportError(f"region {ports.name}", f"its nodes read graph input '{t}', "
                              f"which is not among its inputs {list(ports.inputs)}",
                              "the partition and the ONNX graph disagree (a bug in "
                              "vendor-sdk export)")
        if t not in producer:
            raise ExportError(f"region {ports.name}", f"tensor '{t}' has no producer in the "
                              "ONNX graph")
        i = producer[t]
        if i not in seen:
            seen.add(i)
            todo.extend(reads(graph.node[i]))
    return sorted(seen)


def replace_regions(model: onnx.ModelProto, regions: Sequence[Ports],
                    make_node: Callable[[Ports], onnx.NodeProto]) -> onnx.ModelProto:
    """A copy of ``model`` with each region's nodes replaced by ``make_node(ports)``."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    old = list(g.node)
    removed: set[int] = set()
    new: list[tuple[int, onnx.NodeProto]] = []  # (position in the old order, node)
    for p in regions:
        idx = region_nodes(g, p)
        clash = removed & set(idx) - _constant_nodes(g)
        if clash:
            raise ExportError(f"region {p.name}", "shares nodes "
                              f"{sorted(old[i].name for i in clash)} with another region")
        removed |= set(idx)
        new.append((max(idx) if idx else 0, make_node(p)))
    written = {t for p in regions for t in p.outputs}
    kept = [(i, n) for i, n in enumerate(old) if i not in removed]
    _restore_needed(g, old, removed, written, kept)
    nodes = _topological([*kept, *new], g)
    needed = _live(nodes, [o.name for o in g.output])
    del g.node[:]
    g.node.extend(n for n in nodes if any(t in needed for t in n.output))
    _drop_unread_initializers(g)
    present = {t for n in g.node for t in n.output} | {v.name for v in g.input}
    vi = [v for v in g.value_info if v.name in present]
    del g.value_info[:]
    g.value_info.extend(vi)
    return out


def _drop_unread_initializers(g: onnx.GraphProto) -> None:
    """The regions' weights live in the library now: drop initializers nothing reads."""
    read = {t for n in g.node for t in reads(n)} | {o.name for o in g.output}
    inits = [t for t in g.initializer if t.name in read]
    gone = {t.name for t in g.initializer} - read
    del g.initializer[:]
    g.initializer.extend(inits)
    inputs = [v for v in g.input if v.name not in gone]  # initializers listed as inputs
    del g.input[:]
    g.input.extend(inputs)


def _constant_nodes(g: onnx.GraphProto) -> set[int]:
    """Nodes that read no graph input, directly or not (weight DequantizeLinear chains)."""
    dynamic = {v.name for v in g.input} - {t.name for t in g.initializer}
    const: set[int] = set()
    for i, n in enumerate(g.node):  # ONNX nodes are stored in topological order
        if reads(n) & dynamic:
            dynamic.update(n.output)
        else:
            const.add(i)
    return const


def _restore_needed(g: onnx.GraphProto, old: Sequence[onnx.NodeProto], removed: set[int],
                    written: set[str], kept: list[tuple[int, onnx.NodeProto]]) -> None:
    """Put back removed nodes whose outputs a kept node still reads (a weight's constant
    chain shared with the host); the regions' own outputs come from the region nodes."""
    producer = {t: i for i, n in enumerate(old) for t in n.output if t}
    todo = [t for _, n in kept for t in reads(n)] + [o.name for o in g.output]
    back: set[int] = set()
    while todo:
        t = todo.pop()
        i = producer.get(t)
        if i is None or i not in removed or i in back or t in written:
            continue
        back.add(i)
        todo.extend(reads(old[i]))
    kept.extend((i, old[i]) for i in back)


def _topological(nodes: Iterable[tuple[int, onnx.NodeProto]],
                 g: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Nodes in an order that defines every tensor before its use, the old order kept where
    it can be (Kahn's algorithm, the earliest old position first)."""
    items = list(nodes)
    available = {v.name for v in g.input} | {t.name for t in g.initializer} | {""}
    producer = {t: k for k, (_, n) in enumerate(items) for t in n.output if t}
    waiting: dict[int, set[str]] = {}
    users: dict[str, list[int]] = {}
    ready: list[tuple[int, int]] = []
    for k, (pos, n) in enumerate(items):
        deps = {t for t in reads(n) if t not in available and t in producer}
        waiting[k] = deps
        for t in deps:
            users.setdefault(t, []).append(k)
        if not deps:
            heapq.heappush(ready, (pos, k))
    order: list[onnx.NodeProto] = []
    while ready:
        _, k = heapq.heappop(ready)
        order.append(items[k][1])
        for t in items[k][1].output:
            for u in users.get(t, ()):
                waiting[u].discard(t)
                if not waiting[u]:
                    heapq.heappush(ready, (items[u][0], u))
    if len(order) != len(items):
        stuck = [items[k][1].name or items[k][1].op_type for k, w in waiting.items() if w]
        raise ExportError("exported graph", f"has a cycle through {stuck[:5]}",
                          "a region reads what it writes (a bug in vendor-sdk export)")
    return order


def _live(nodes: Sequence[onnx.NodeProto], outputs: Iterable[str]) -> set[str]:
    """Tensors the graph outputs depend on."""
    producer = {t: n for n in nodes for t in n.output if t}
    live: set[str] = set()
    todo = list(outputs)
    while todo:
        t = todo.pop()
        if t in live:
            continue
        live.add(t)
        n = producer.get(t)
        if n is not None:
            todo.extend(reads(n))
    return live
