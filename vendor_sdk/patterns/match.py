"""Matching patterns against one graph function, seeing through QDQ.

An int8 model from onnxruntime's quantizer reads ``DequantizeLinear -> op ->
QuantizeLinear``. Matching treats

* a pattern tensor fed by ``DequantizeLinear(q, scale, zp)`` as ``q`` (an int8
  value or constant), recording scale / zero point / axis; the DQ is *copied*
  into the composite, because other consumers may still need the original;
* an edge between two pattern nodes through ``QuantizeLinear -> DequantizeLinear``
  as a direct edge whose Q and DQ become part of the match;
* a root whose only consumer is ``QuantizeLinear`` as producing that Q's int8 output.

Each variant is compiled once per partition into a :class:`Plan` (alternatives
by op, inputs split into nodes and tensors), so an attempt does lookups, not
searches: matching is the bulk of partitioning and runs once per candidate root.
A failed attempt raises :class:`_Fail` carrying how far it got, so the report
can say which constraint stopped the closest pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.graph import Arg, Binding, Call, Constant, Var
from core.symbolic import Dim
from core.types import TensorType
from vendor_sdk.patterns.constraint import OpAlt
from vendor_sdk.patterns.lang import COMMUTATIVE, NodePat, Pattern, TensorPat, Variant
from vendor_sdk.patterns.view import GraphView, QParams, qparams_of

_DQ, _Q = "DequantizeLinear", "QuantizeLinear"


@dataclass(frozen=True, slots=True)
class Match:
    pattern: Pattern
    variant: Variant
    nodes: Mapping[str, int]  # pattern node -> binding index
    owned: tuple[int, ...]  # bindings that move into the composite, in order
    copied: tuple[int, ...]  # DequantizeLinear bindings duplicated into the composite
    tensors: Mapping[str, Arg]  # pattern tensor -> the value it binds (None: absent optional)
    qparams: Mapping[str, QParams]  # per pattern tensor, and "out" for a quantized result
    output: int  # the binding whose value the composite returns

    @property
    def root(self) -> int:
        return self.nodes[self.variant.root]


@dataclass(frozen=True)
class MatchContext:
    """What a pattern's ``check`` callback sees."""

    view: GraphView
    match: Match

    def binding(self, node: str) -> Binding:
        return self.view.bindings[self.match.nodes[node]]

    def attr(self, node: str, name: str) -> Any:
        return self.view.attr(self.match.nodes[node], name)

    def tensor(self, name: str) -> Arg:
        return self.match.tensors[name]

    def qparams(self, name: str) -> QParams | None:
        return self.match.qparams.get(name)


class _Fail(Exception):
    def __init__(self, reason: str, progress: int) -> None:
        self.reason = reason
        self.progress = progress


@functools.cache
def _input_names(op: str) -> tuple[str, ...]:
    import onnx.defs

    try:
        return tuple(i.name for i in onnx.defs.get_schema(op).inputs)
    except onnx.defs.SchemaError:
        return ()


def _named_input(op: str, name: str) -> int:
    """Position of an ONNX input by name (`min` of Clip is input 1), or -1."""
    names = _input_names(op)
    return names.index(name) if name in names else -1


def _arity(name: str, op: str, n: int, plan: _NodePlan) -> str:
    """Why a call with ``n`` inputs does not fit the node pattern's ``in:`` list."""
    if n < plan.required:
        return f"{name} has {n} inputs, the pattern {len(plan.inputs)}"
    # An input the pattern does not bind would be dropped by the lowering: never absorbed.
    names = _input_names(op)
    extra = ", ".join(f"input {k}" + (f" ({names[k]})" if k < len(names) else "")
                      for k in range(len(plan.inputs), n))
    return (f"{name} ({op}) has {n} inputs, the pattern declares {len(plan.inputs)} "
            f"({', '.join(i for i, _ in plan.inputs)}): {op}'s {extra} would be dropped, "
            "changing the result; bind it in the node's `in:` (a tensor with `optional: true` "
            "matches with and without it) or leave the op to a pattern that does")


def _alt_holds(view: GraphView, i: int, alt: OpAlt) -> str:
    """'' if binding i satisfies the alternative's pinned values, else why not."""
    e = view.bindings[i].value
    assert type(e) is Call
    for name, want in alt.pinned:
        if name in e.attrs:
            got = view.attr(i, name)
        else:
            k = _named_input(e.op, name)
            arg = e.args[k] if 0 <= k < len(e.args) else None
            if not isinstance(arg, Constant) or arg.value.size != 1:
                return f"{alt} requires {name} to be the constant {want}"
            got = arg.value.reshape(-1)[0].item()
        if got != want:
            return f"{alt} requires {name}={want}, got {got}"
    return ""


def _check_call(view: GraphView, i: int, pn: NodePat, alts: tuple[OpAlt, ...]) -> str:
    """'' if binding i (whose op has these alternatives in pn) satisfies pn, else why not."""
    why = ""
    for alt in alts:
        why = _alt_holds(view, i, alt) if alt.pinned else ""
        if not why:
            break
    else:
        return why
    for name, c in pn.attrs:
        value = view.attr(i, name)
        if value is None or not c.holds(value):
            shown = list(value) if isinstance(value, tuple) else value
            return f"requires {name} {c} (got {name}={shown})"
    return ""


def check_node(view: GraphView, i: int, pn: NodePat) -> str:
    """'' if binding i satisfies the node pattern's op and attributes, else the reason."""
    op = view.ops[i]
    alts = tuple(a for a in pn.alts if a.op == op)
    if not alts:
        return f"op is {op or 'not a call'}, not {pn.op_text}"
    return _check_call(view, i, pn, alts)


_DTYPE_NAMES: dict[np.dtype[Any], str] = {}


def _constant_type(a: Constant) -> tuple[str, int, tuple[int, ...]]:
    # str(np.dtype) is slow and Constant.type rebuilds a TensorType on every read.
    v = a.value
    name = _DTYPE_NAMES.get(v.dtype)
    if name is None:
        name = _DTYPE_NAMES[v.dtype] = str(v.dtype)
    return name, v.ndim, v.shape


def check_tensor(tp: TensorPat, arg: Arg) -> str:
    shape: tuple[Dim, ...]
    if type(arg) is Constant:
        dtype, rank, shape = _constant_type(arg)
    else:
        t = arg.type if arg is not None else None
        if not isinstance(t, TensorType):
            return f"tensor {tp.name} is missing"
        dtype, rank, shape = t.dtype, len(t.shape), t.shape
    if tp.dtype is not None and dtype != tp.dtype:
        return f"requires {tp.name} dtype {tp.dtype} (got {dtype})"
    if tp.rank is not None and rank != tp.rank:
        return f"requires {tp.name} rank {tp.rank} (got {rank})"
    if tp.shape is not None and (rank != len(tp.shape) or any(
            want is not None and got != want for want, got in zip(tp.shape, shape, strict=False))):
        return f"requires {tp.name} shape {list(tp.shape)} (got {[str(d) for d in shape]})"
    if tp.const and type(arg) is not Constant:
        return f"requires {tp.name} to be a constant"
    return ""


@dataclass(frozen=True, slots=True)
class _NodePlan:
    pat: NodePat
    by_op: Mapping[str, tuple[OpAlt, ...]]  # the alternatives naming each op
    pinned: bool  # some alternative pins an attribute or a constant input
    inputs: tuple[tuple[str, TensorPat | None], ...]  # (name, None for a node | tensor)
    required: int  # inputs before the trailing optional tensors
    sees_qdq: bool  # an edge into this node may look through Q -> DQ


@dataclass(frozen=True, slots=True)
class Plan:
    """One variant of one pattern, compiled for matching."""

    pattern: Pattern
    variant: Variant
    nodes: Mapping[str, _NodePlan]
    root_ops: frozenset[str]


def compile_plan(pattern: Pattern, variant: Variant) -> Plan:
    nodes: dict[str, _NodePlan] = {}
    for name, pn in variant.nodes.items():
        by_op: dict[str, tuple[OpAlt, ...]] = {}
        for alt in pn.alts:
            by_op[alt.op] = (*by_op.get(alt.op, ()), alt)
        inputs = tuple((i, None if i in variant.nodes else pattern.tensors[i])
                       for i in pn.inputs)
        required = len(inputs)
        while required and (tp := inputs[required - 1][1]) is not None and tp.optional:
            required -= 1
        nodes[name] = _NodePlan(pn, by_op, any(a.pinned for a in pn.alts), inputs, required,
                                _DQ not in pn.ops)
    return Plan(pattern, variant, nodes, variant.nodes[variant.root].ops)


class _Attempt:
    """One attempt to match a plan rooted at one binding (backtracks on commutative ops)."""

    __slots__ = ("copied", "nodes", "owned", "plan", "qparams", "tensors", "view")

    def __init__(self, view: GraphView, plan: Plan) -> None:
        self.view, self.plan = view, plan
        self.nodes: dict[str, int] = {}
        self.tensors: dict[str, Arg] = {}
        self.qparams: dict[str, QParams] = {}
        self.owned: list[int] = []
        self.copied: list[int] = []

    def _mark(self) -> tuple[int, int, int, int, int]:
        return (len(self.nodes), len(self.tensors), len(self.qparams), len(self.owned),
                len(self.copied))

    def _undo(self, mark: tuple[int, int, int, int, int]) -> None:
        # Bindings are only ever added, so the dicts' insertion order is an undo log.
        for d, n in ((self.nodes, mark[0]), (self.tensors, mark[1]), (self.qparams, mark[2])):
            while len(d) > n:
                d.popitem()
        del self.owned[mark[3]:]
        del self.copied[mark[4]:]

    def node(self, name: str, i: int) -> None:
        nodes = self.nodes
        if name in nodes:
            if nodes[name] != i:
                raise _Fail(f"{name} must be one value but binds two", len(nodes))
            return
        plan = self.plan.nodes[name]
        view = self.view
        op = view.ops[i]
        alts = plan.by_op.get(op)
        if alts is None:
            raise _Fail(f"{name} op is {op or 'not a call'}, not {plan.pat.op_text}", len(nodes))
        if plan.pinned or plan.pat.attrs:
            why = _check_call(view, i, plan.pat, alts)
            if why:
                raise _Fail(f"{name} {why}", len(nodes))
        nodes[name] = i
        self.owned.append(i)
        e = view.call(i)
        args = list(e.args)
        if plan.pinned:  # inputs pinned by the alternative (`Clip(min=0)`) are not inputs
            pinned = {_named_input(op, n) for alt in alts for n, _ in alt.pinned
                      if n not in e.attrs}
            args = [a for k, a in enumerate(args) if k not in pinned]
        while args and args[-1] is None:
            args.pop()
        if not plan.required <= len(args) <= len(plan.inputs):
            raise _Fail(_arity(name, op, len(args), plan), len(nodes))
        if len(args) == 2 and op in COMMUTATIVE:
            mark = self._mark()
            try:
                self.inputs(plan, args)
                return
            except _Fail:
                self._undo(mark)
            self.inputs(plan, args[::-1])
        else:
            self.inputs(plan, args)

    def inputs(self, plan: _NodePlan, args: list[Arg]) -> None:
        n = len(args)
        for k, (name, tp) in enumerate(plan.inputs):
            arg = args[k] if k < n else None
            if tp is None:
                self.edge(name, arg)
            elif arg is None and tp.optional:
                self.absent(tp)
            else:
                self.tensor(tp, arg)

    def edge(self, name: str, arg: Arg) -> None:
        view = self.view
        j = view.index.get(arg.name, -1) if type(arg) is Var else -1
        if j < 0:
            raise _Fail(f"{name} must be computed by an op, not a graph input or constant",
                        len(self.nodes))
        if view.ops[j] == _DQ and self.plan.nodes[name].sees_qdq:
            q = view.producer(view.call(j).args[0])
            if q >= 0 and view.ops[q] == _Q:
                k = view.producer(view.call(q).args[0])
                if k >= 0 and view.uses[j] == 1 and view.uses[q] == 1:
                    self.owned.extend((q, j))
                    self.node(name, k)
                    return
        self.node(name, j)

    def absent(self, tp: TensorPat) -> None:
        if tp.name in self.tensors and self.tensors[tp.name] is not None:
            raise _Fail(f"{tp.name} must be one value but binds two", len(self.nodes))
        self.tensors[tp.name] = None

    def tensor(self, tp: TensorPat, arg: Arg) -> None:
        view = self.view
        qp = None
        if type(arg) is Var and (tp.dtype is None or not tp.dtype.startswith("float")):
            j = view.index.get(arg.name, -1)
            if j >= 0 and view.ops[j] == _DQ:
                dq = view.bindings[j].value
                assert isinstance(dq, Call)
                qp = qparams_of(dq)
                if qp is not None:
                    arg = dq.args[0]
                    self.copied.append(j)
        if tp.name in self.tensors:
            if not _same(self.tensors[tp.name], arg):
                raise _Fail(f"{tp.name} must be one value but binds two", len(self.nodes))
            return
        why = check_tensor(tp, arg)
        if why:
            raise _Fail(why, len(self.nodes))
        self.tensors[tp.name] = arg
        if qp is not None:
            self.qparams[tp.name] = qp


def _same(a: Arg, b: Arg) -> bool:
    if isinstance(a, Var) and isinstance(b, Var):
        return a.name == b.name
    return a is b


def _one_requantization(view: GraphView, at: _Attempt, output: int) -> None:
    """A Q -> DQ looked through between pattern nodes must have the output's scale and zero
    point. Otherwise the ops after it round a second time from its int8 value (onnxruntime's
    ``Conv -> Q -> DQ -> Relu -> Q`` with symmetric activations), which one layer ending in
    one requantization cannot reproduce: they are left to a match of their own."""
    inner = [k for k in at.owned if view.ops[k] == _Q and k != output]
    if not inner:
        return
    want = _q_of(view.call(output)) if view.ops[output] == _Q else None
    for k in inner:
        got = _q_of(view.call(k))
        if want is None or got != want:
            name = next((n for n, g in at.nodes.items() if g in view.users[
                view.users[k][0]]), view.ops[k])
            raise _Fail(f"{name} follows a requantization ({view.bindings[k].var}: scale, zero "
                        f"point {got} vs the output's {want}); it is a layer of its own",
                        len(at.nodes))


def _q_of(q: Call) -> tuple | None:
    qp = qparams_of(Call(_DQ, (q.args[0], *q.args[1:]), q.attrs))
    return None if qp is None else (qp.scale, qp.zero_point)


def match_at(view: GraphView, i: int, plan: Plan) -> Match:
    """Match the plan's variant rooted at binding ``i``; raises _Fail with the reason."""
    at = _Attempt(view, plan)
    variant = plan.variant
    at.node(variant.root, i)
    # Every node but the output must be used only inside the match: otherwise the
    # composite would have to return an intermediate too.
    owned = set(at.owned)
    uses, users = view.uses, view.users
    for k in at.owned:
        if k != i and (uses[k] != len(users[k]) or any(u not in owned for u in users[k])):
            name = next((n for n, g in at.nodes.items() if g == k), view.ops[k])
            raise _Fail(f"{name} ({view.bindings[k].var}) is also used outside the pattern",
                        len(at.nodes))
    output = i
    root_users = users[i]
    if uses[i] == 1 and len(root_users) == 1 and view.ops[root_users[0]] == _Q:
        output = root_users[0]
        q = view.bindings[output].value
        assert isinstance(q, Call)
        qp = qparams_of(Call(_DQ, (q.args[0], *q.args[1:]), q.attrs))
        if qp is not None:
            at.qparams["out"] = QParams(qp.scale, qp.zero_point, qp.axis,
                                        view.bindings[output].var.tensor_type.dtype)
        owned.add(output)
    _one_requantization(view, at, output)
    copied = tuple(sorted(set(at.copied) - owned)) if at.copied else ()
    m = Match(plan.pattern, variant, at.nodes, tuple(sorted(owned)), copied, at.tensors,
              at.qparams, output)
    check = plan.pattern.check
    if check is not None:
        verdict = check(MatchContext(view, m))
        if verdict is not True:
            reason = verdict if isinstance(verdict, str) and verdict else "its check rejected it"
            raise _Fail(f"check: {reason}", len(at.nodes) + 1)
    return m
