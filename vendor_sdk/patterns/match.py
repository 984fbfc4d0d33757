"""Matching patterns against one graph function, seeing through QDQ.

An int8 model from onnxruntime's quantizer reads ``DequantizeLinear -> op ->
QuantizeLinear``. Matching treats

* a pattern tensor fed by ``DequantizeLinear(q, scale, zp)`` as ``q`` (an int8
  value or constant), recording scale / zero point / axis; the DQ is *copied*
  into the composite, because other consumers may still need the original;
* an edge between two pattern nodes through ``QuantizeLinear -> DequantizeLinear``
  as a direct edge whose Q and DQ become part of the match;
* a root whose only consumer is ``QuantizeLinear`` as producing that Q's int8 output.

A failed attempt raises :class:`_Fail` carrying how far it got, so the report
can say which constraint stopped the closest pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.graph import Arg, Binding, Call, Constant, Function, Var
from core.ops.registry import OpError
from core.ops.window import window_of
from core.types import TensorType
from vendor_sdk.patterns.constraint import OpAlt
from vendor_sdk.patterns.lang import COMMUTATIVE, NodePat, Pattern, TensorPat, Variant

_WINDOWED = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"})
_WINDOW_ATTRS = frozenset({"kernel_shape", "strides", "dilations", "pads"})


@dataclass(frozen=True, slots=True)
class QParams:
    """Quantization parameters of one matched tensor (per-tensor or per-channel)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None  # None: per-tensor
    dtype: str  # the quantized dtype


class GraphView:
    """Integer-indexed producers and users of one function's bindings."""

    def __init__(self, f: Function) -> None:
        self.f = f
        self.bindings: list[Binding] = list(f.bindings)
        self.index: dict[str, int] = {b.var.name: i for i, b in enumerate(self.bindings)}
        n = len(self.bindings)
        self.users: list[list[int]] = [[] for _ in range(n)]
        self.preds: list[list[int]] = [[] for _ in range(n)]
        self.uses = [0] * n  # uses by bindings and by the function's outputs
        index = self.index
        for i, b in enumerate(self.bindings):
            e = b.value
            args = e.args if not hasattr(e, "index") else (e.value,)  # TupleGetItem
            for a in args:
                if type(a) is Var and a.name in index:
                    j = index[a.name]
                    self.uses[j] += 1
                    self.users[j].append(i)
                    self.preds[i].append(j)
        for o in f.outputs:
            if isinstance(o, Var) and o.name in index:
                self.uses[index[o.name]] += 1
        self._window: dict[int, dict[str, Any]] = {}

    def op(self, i: int) -> str:
        e = self.bindings[i].value
        return e.op if type(e) is Call else ""

    def producer(self, arg: Arg) -> int:
        return self.index.get(arg.name, -1) if type(arg) is Var else -1

    def attr(self, i: int, name: str) -> Any:
        """An attribute with ONNX window defaults resolved (kernel from the weight, ...)."""
        e = self.bindings[i].value
        assert type(e) is Call
        if e.op in _WINDOWED and name in _WINDOW_ATTRS:
            if i not in self._window:
                self._window[i] = _window_attrs(e)
            return self._window[i].get(name, e.attrs.get(name))
        return e.attrs.get(name)


def _window_attrs(e: Call) -> dict[str, Any]:
    x = e.args[0].type if e.args[0] is not None else None
    if not isinstance(x, TensorType):
        return {}
    w = e.args[1].type if e.op.startswith("Conv") and len(e.args) > 1 else None
    kernel = tuple(w.shape[2:]) if isinstance(w, TensorType) else None
    try:
        win = window_of(e.attrs, kernel, x.rank - 2, e.op)
    except OpError:
        return {}
    return {"kernel_shape": win.kernel, "strides": win.strides, "dilations": win.dilations,
            "pads": win.pads}


def qparams_of(dq: Call) -> QParams | None:
    scale, zp = dq.args[1], dq.args[2] if len(dq.args) > 2 else None
    if not isinstance(scale, Constant) or not (zp is None or isinstance(zp, Constant)):
        return None
    q = dq.args[0]
    qdtype = q.type.dtype if q is not None else "int8"  # type: ignore[union-attr]
    zps = zp.value.reshape(-1) if zp is not None else np.zeros(scale.value.size, np.int64)
    per_channel = scale.value.size > 1
    return QParams(tuple(float(s) for s in scale.value.reshape(-1)),
                   tuple(int(z) for z in zps), int(dq.attrs["axis"]) if per_channel else None,
                   qdtype)


@dataclass(frozen=True)
class Match:
    pattern: Pattern
    variant: Variant
    nodes: Mapping[str, int]  # pattern node -> binding index
    owned: tuple[int, ...]  # bindings that move into the composite, in order
    copied: tuple[int, ...]  # DequantizeLinear bindings duplicated into the composite
    tensors: Mapping[str, Arg]  # pattern tensor -> the value it binds (seen through DQ)
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
def _named_input(op: str, name: str) -> int:
    """Position of an ONNX input by name (`min` of Clip is input 1), or -1."""
    import onnx.defs

    try:
        names = [i.name for i in onnx.defs.get_schema(op).inputs]
    except onnx.defs.SchemaError:
        return -1
    return names.index(name) if name in names else -1


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


def check_node(view: GraphView, i: int, pn: NodePat) -> str:
    """'' if binding i satisfies the node pattern's op and attributes, else the reason."""
    op = view.op(i)
    why = ""
    for alt in pn.alts:
        if alt.op == op:
            why = _alt_holds(view, i, alt)
            if not why:
                break
    else:
        return why or f"op is {op or 'not a call'}, not {pn.op_text}"
    for name, c in pn.attrs:
        value = view.attr(i, name)
        if value is None or not c.holds(value):
            shown = list(value) if isinstance(value, tuple) else value
            return f"requires {name} {c} (got {name}={shown})"
    return ""


def check_tensor(tp: TensorPat, arg: Arg) -> str:
    t = arg.type if arg is not None else None
    if not isinstance(t, TensorType):
        return f"tensor {tp.name} is missing"
    if tp.dtype is not None and t.dtype != tp.dtype:
        return f"requires {tp.name} dtype {tp.dtype} (got {t.dtype})"
    if tp.rank is not None and t.rank != tp.rank:
        return f"requires {tp.name} rank {tp.rank} (got {t.rank})"
    if tp.shape is not None and (t.rank != len(tp.shape) or any(
            want is not None and got != want
            for want, got in zip(tp.shape, t.shape, strict=False))):
        return f"requires {tp.name} shape {list(tp.shape)} (got {[str(d) for d in t.shape]})"
    if tp.const and not isinstance(arg, Constant):
        return f"requires {tp.name} to be a constant"
    return ""


class _Attempt:
    """One attempt to match a variant rooted at one binding (backtracks on commutative ops)."""

    def __init__(self, view: GraphView, pattern: Pattern, variant: Variant) -> None:
        self.view, self.pattern, self.variant = view, pattern, variant
        self.nodes: dict[str, int] = {}
        self.tensors: dict[str, Arg] = {}
        self.qparams: dict[str, QParams] = {}
        self.owned: list[int] = []
        self.copied: list[int] = []

    def snapshot(self) -> tuple[dict[str, int], dict[str, Arg], dict[str, QParams], int, int]:
        return (dict(self.nodes), dict(self.tensors), dict(self.qparams), len(self.owned),
                len(self.copied))

    def restore(self, s: tuple[dict[str, int], dict[str, Arg], dict[str, QParams], int, int]
                ) -> None:
        self.nodes, self.tensors, self.qparams = s[0], s[1], s[2]
        del self.owned[s[3]:]
        del self.copied[s[4]:]

    def node(self, name: str, i: int) -> None:
        if name in self.nodes:
            if self.nodes[name] != i:
                raise _Fail(f"{name} must be one value but binds two", len(self.nodes))
            return
        pn = self.variant.nodes[name]
        why = check_node(self.view, i, pn)
        if why:
            raise _Fail(f"{name} {why}", len(self.nodes))
        self.nodes[name] = i
        self.owned.append(i)
        e = self.view.bindings[i].value
        # Inputs pinned by the op alternative (`Clip(min=0)`) are not pattern inputs.
        pinned = {_named_input(e.op, n) for alt in pn.alts if alt.op == e.op
                  for n, _ in alt.pinned if n not in e.attrs}
        args = [a for k, a in enumerate(e.args) if k not in pinned]
        while args and args[-1] is None:
            args.pop()
        if len(args) != len(pn.inputs):
            raise _Fail(f"{name} has {len(args)} inputs, the pattern {len(pn.inputs)}",
                        len(self.nodes))
        if len(args) == 2 and e.op in COMMUTATIVE:
            s = self.snapshot()
            try:
                self.inputs(pn, args)
                return
            except _Fail:
                self.restore(s)
            self.inputs(pn, args[::-1])
        else:
            self.inputs(pn, args)

    def inputs(self, pn: NodePat, args: list[Arg]) -> None:
        for name, arg in zip(pn.inputs, args, strict=True):
            if name in self.variant.nodes:
                self.edge(name, arg)
            else:
                self.tensor(self.pattern.tensors[name], arg)

    def edge(self, name: str, arg: Arg) -> None:
        view = self.view
        j = view.producer(arg)
        if j < 0:
            raise _Fail(f"{name} must be computed by an op, not a graph input or constant",
                        len(self.nodes))
        if view.op(j) == "DequantizeLinear" and "DequantizeLinear" not in \
                self.variant.nodes[name].ops:
            q = view.producer(view.bindings[j].value.args[0])  # type: ignore[union-attr]
            if q >= 0 and view.op(q) == "QuantizeLinear":
                k = view.producer(view.bindings[q].value.args[0])  # type: ignore[union-attr]
                if k >= 0 and view.uses[j] == 1 and view.uses[q] == 1:
                    self.owned.extend((q, j))
                    self.node(name, k)
                    return
        self.node(name, j)

    def tensor(self, tp: TensorPat, arg: Arg) -> None:
        view = self.view
        j = view.producer(arg)
        qp = None
        if j >= 0 and view.op(j) == "DequantizeLinear" and (
                tp.dtype is None or not tp.dtype.startswith("float")):
            dq = view.bindings[j].value
            assert isinstance(dq, Call)
            qp = qparams_of(dq)
            if qp is not None:
                arg = dq.args[0]
                self.copied.append(j)
        bound = self.tensors.get(tp.name)
        if bound is not None or tp.name in self.tensors:
            if not _same(bound, arg):
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


def match_at(view: GraphView, i: int, pattern: Pattern, variant: Variant) -> Match:
    """Match ``variant`` rooted at binding ``i``; raises _Fail with the reason."""
    at = _Attempt(view, pattern, variant)
    at.node(variant.root, i)
    # Every node but the output must be used only inside the match: otherwise the
    # composite would have to return an intermediate too.
    owned = set(at.owned)
    inside: dict[int, int] = {}
    for k in owned:
        for p in view.preds[k]:
            inside[p] = inside.get(p, 0) + 1
    for k in owned:
        if k != i and inside.get(k, 0) != view.uses[k]:
            name = next((n for n, g in at.nodes.items() if g == k), view.op(k))
            raise _Fail(f"{name} ({view.bindings[k].var}) is also used outside the pattern",
                        len(at.nodes))
    output = i
    users = view.users[i]
    if view.uses[i] == 1 and len(users) == 1 and view.op(users[0]) == "QuantizeLinear":
        output = users[0]
        q = view.bindings[output].value
        assert isinstance(q, Call)
        dq_like = Call("DequantizeLinear", (q.args[0], *q.args[1:]), q.attrs)
        qp = qparams_of(dq_like)
        if qp is not None:
            at.qparams["out"] = QParams(qp.scale, qp.zero_point, qp.axis,
                                        view.bindings[output].var.type.dtype)  # type: ignore[union-attr]
        owned.add(output)
    m = Match(pattern, variant, dict(at.nodes), tuple(sorted(owned)),
              tuple(sorted(set(at.copied) - owned)), dict(at.tensors), dict(at.qparams), output)
    if pattern.check is not None:
        verdict = pattern.check(MatchContext(view, m))
        if verdict is not True:
            reason = verdict if isinstance(verdict, str) and verdict else "its check rejected it"
            raise _Fail(f"check: {reason}", len(at.nodes) + 1)
    return m
