"""The partitioned graph as people read it: one node per layer, plumbing folded away.

The partition's view has a binding per ONNX node, most of which are quantization
plumbing: every weight has its DequantizeLinear, every activation a QuantizeLinear /
DequantizeLinear pair. Drawn as is, ResNet-50 is a wall of Q/DQ boxes with long edges from
its weights. Here:

- an offloaded composite (Conv + bias + Relu + its output QuantizeLinear) is one node;
- a host op is one node, with the reason it stayed on the host;
- Q/DQ bindings outside a composite and constant-only chains (a weight's DequantizeLinear,
  a Reshape of a constant shape) are folded into their consumer: no node, and an edge
  through them joins the visible producer to the consumer;
- the model's inputs and outputs are nodes of their own;
- an edge carries the producer's tensor shape.

MACs are counted from the graph's types (symbolic dims take ``sizes``, else 1): Conv,
ConvTranspose, MatMul and Gemm; other ops count none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from core.graph import Arg, Call, Constant, TupleGetItem, Var, args_of
from core.symbolic import evaluate, free_vars
from core.types import TensorType
from vendor_sdk.patterns.partition import Partition
from vendor_sdk.patterns.report import QDQ, Report


@dataclass(frozen=True, slots=True)
class Node:
    """A drawn node: an NPU composite, a host op, or a model input / output."""

    id: str
    kind: str                   # "npu" | "host" | "input" | "output"
    label: str                  # "Conv 3x3/2 + Relu", "GlobalAveragePool", "input x"
    ops: tuple[str, ...]        # compute ops of its bindings (Q/DQ left out)
    bindings: tuple[str, ...]   # the view's binding names it stands for
    sources: tuple[str, ...]    # ONNX node names (Q/DQ left out)
    region: str = ""
    target: str = ""
    pattern: str = ""
    reason: str = ""            # host: why it stayed there
    shape: str = ""             # its (first) output's shape
    macs: int = 0


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str
    shape: str


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]     # topological order
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def shape_text(t: object) -> str:
    if not isinstance(t, TensorType):
        return ""
    return "\u00d7".join(str(d) for d in t.shape) or "scalar"


def _dims(t: object, sizes: Mapping[str, int]) -> tuple[int, ...] | None:
    if not isinstance(t, TensorType):
        return None
    out = []
    for d in t.shape:
        if isinstance(d, int):
            out.append(d)
        else:
            out.append(evaluate(d, {v: sizes.get(v, 1) for v in free_vars(d)}))
    return tuple(out)


def _arg_type(a: Arg | None) -> object:
    if isinstance(a, Constant):
        return TensorType(str(a.value.dtype), tuple(a.value.shape))
    return a.type if isinstance(a, Var) else None


def op_macs(call: Call, out_type: object, sizes: Mapping[str, int]) -> int:
    """Multiply-accumulates of one op call, from its argument and result types."""
    out = _dims(out_type, sizes)
    if out is None or call.op not in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
        return 0
    a = _dims(_arg_type(call.args[0]), sizes)
    b = _dims(_arg_type(call.args[1]), sizes) if len(call.args) > 1 else None
    if a is None or b is None:
        return 0
    if call.op == "Conv":  # each output element reads Ci/group x kernel taps
        return math.prod(out) * math.prod(b[1:])
    if call.op == "ConvTranspose":  # each input element scatters into Co/group x taps
        return math.prod(a) * math.prod(b[1:])
    k = a[0] if call.op == "Gemm" and call.attrs.get("transA", 0) else a[-1]
    return math.prod(out) * k


def _label(ops: tuple[str, ...], call: Call | None, attr: object) -> str:
    head = ops[0] if ops else "?"
    if call is not None and call.op in ("Conv", "MaxPool", "AveragePool") and callable(attr):
        k, s = attr("kernel_shape"), attr("strides")
        if k:
            head += " " + "\u00d7".join(map(str, k))
            if s and any(x != 1 for x in s):
                head += "/" + "\u00d7".join(map(str, s)) if len(set(s)) > 1 else f"/{s[0]}"
    rest = [o for o in dict.fromkeys(ops[1:]) if o != ops[0]]
    return " + ".join([head, *rest])


def fold(p: Partition, report: Report, sizes: Mapping[str, int] | None = None) -> Graph:
    """The partition's graph with composites as nodes and plumbing folded (module doc)."""
    view, env = p.view, sizes or {}
    bindings = view.bindings
    target_of = {r.name: r.target for r in p.regions}
    reason = {h.name: h.reason for h in report.host}
    owner: dict[int, str] = {}          # binding -> node id
    members: dict[str, list[int]] = {}  # node id -> bindings, in order
    pattern: dict[str, str] = {}
    for r in p.regions:
        for m in r.composites:
            nid = f"n{min(m.owned)}"
            members[nid] = sorted(m.owned)
            pattern[nid] = m.pattern.name
            owner.update(dict.fromkeys(m.owned, nid))
    # constant-only: every argument a constant or another constant-only binding
    const_only = [False] * len(bindings)
    params = {v.name for v in view.f.params}
    for i, b in enumerate(bindings):
        args = args_of(b.value)
        const_only[i] = all(isinstance(a, Constant) or a is None or (
            isinstance(a, Var) and a.name in view.index and const_only[view.index[a.name]])
            for a in args)
    for i, b in enumerate(bindings):
        if i in owner or p.place[i] == "-" or const_only[i] or view.op(i) in QDQ:
            continue
        if isinstance(b.value, (Call, TupleGetItem)) or p.place[i] == "":
            owner[i] = f"n{i}"
            members[f"n{i}"] = [i]

    memo: dict[int, tuple[str, ...]] = {}

    def producers(a: Arg | None) -> tuple[str, ...]:
        """The visible nodes (or input ids) whose value reaches argument ``a``."""
        if not isinstance(a, Var):
            return ()
        if a.name in params:
            return (f"in:{a.name}",)
        j = view.index.get(a.name)
        if j is None or const_only[j]:
            return ()
        if j in owner:
            return (owner[j],)
        if j not in memo:
            memo[j] = tuple(dict.fromkeys(s for x in args_of(bindings[j].value)
                                          for s in producers(x)))
        return memo[j]

    def out_shape(nid: str) -> str:
        if nid.startswith("in:"):
            v = next(v for v in view.f.params if v.name == nid[3:])
            return shape_text(v.type)
        return shape_text(bindings[members[nid][-1]].var.type)

    nodes = [Node(f"in:{v.name}", "input", f"input {v.name}", (), (), (),
                  shape=shape_text(v.type)) for v in view.f.params]
    edges: list[Edge] = []
    for nid in sorted(members, key=lambda n: members[n][0]):
        idx = members[nid]
        ops = tuple(view.op(i) or type(bindings[i].value).__name__ for i in idx
                    if view.op(i) not in QDQ)
        calls = [i for i in idx if view.op(i) and view.op(i) not in QDQ]
        head = calls[0] if calls else idx[0]
        value = bindings[head].value
        call = value if isinstance(value, Call) else None
        place = p.place[idx[0]]
        macs = sum(op_macs(view.call(i), bindings[i].var.type, env) for i in calls)
        why = "" if place else reason.get(bindings[head].var.name, "not an op call")
        nodes.append(Node(
            nid, "npu" if place else "host",
            _label(ops, call, (lambda name, i=head: view.attr(i, name)) if call else None),
            ops, tuple(bindings[i].var.name for i in idx),
            tuple(dict.fromkeys(bindings[i].source for i in calls if bindings[i].source)),
            place, target_of.get(place, ""), pattern.get(nid, ""), why,
            shape_text(bindings[idx[-1]].var.type), macs))
        inside = set(idx)
        for i in idx:
            for a in args_of(bindings[i].value):
                if isinstance(a, Var) and view.index.get(a.name) in inside:
                    continue
                for src in producers(a):
                    if src != nid:
                        edges.append(Edge(src, nid, out_shape(src)))
    for k, o in enumerate(view.f.outputs):
        oid = f"out:{k}"
        name = o.name if isinstance(o, Var) else "const"
        nodes.append(Node(oid, "output", f"output {name}", (), (), (),
                          shape=shape_text(o.type) if isinstance(o, Var) else ""))
        edges += [Edge(src, oid, out_shape(src)) for src in producers(o)]
    seen: set[tuple[str, str]] = set()
    unique = []
    for e in edges:  # a node reading one tensor twice (x + x) is one edge
        if (e.src, e.dst) not in seen:
            seen.add((e.src, e.dst))
            unique.append(e)
    return Graph(tuple(nodes), tuple(unique))
