"""An integer-indexed view of one graph function, and QDQ parameters.

Matching and merging walk producers and users by binding position; building
these lists once per partition keeps every later step a list lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.graph import Arg, Binding, Call, Constant, Function, TupleGetItem, Var
from core.ops.registry import OpError
from core.ops.window import window_of
from core.types import TensorType

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
        # The op of each binding ("" for non-calls), read on every attempt.
        self.ops: list[str] = [b.value.op if type(b.value) is Call else ""
                               for b in self.bindings]
        index = self.index
        for i, b in enumerate(self.bindings):
            e = b.value
            args = (e.value,) if isinstance(e, TupleGetItem) else e.args
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
        return self.ops[i]

    def call(self, i: int) -> Call:
        """Binding ``i``'s value where ``ops[i]`` names an op (so it is a Call)."""
        e = self.bindings[i].value
        assert type(e) is Call, f"binding {i} is {type(e).__name__}, not a call"
        return e

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
    weight = e.args[1] if e.op.startswith("Conv") and len(e.args) > 1 else None
    w = weight.type if weight is not None else None
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
    qdtype = q.tensor_type.dtype if q is not None else "int8"
    zps = zp.value.reshape(-1) if zp is not None else np.zeros(scale.value.size, np.int64)
    per_channel = scale.value.size > 1
    return QParams(tuple(float(s) for s in scale.value.reshape(-1)),
                   tuple(int(z) for z in zps), dq.attrs.get_int("axis") if per_channel else None,
                   qdtype)
