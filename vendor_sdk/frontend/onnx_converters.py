"""Per-op translation of ONNX nodes into canonical graph-IR calls.

The IR follows the newest opset. A converter gets the node's resolved schema
``since_version`` and rewrites older forms: attributes that later became
inputs turn into constant inputs, legacy-only attributes are checked and
dropped. Ops without a converter go through :func:`convert_default`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import helper

from core.builder import FunctionBuilder
from core.graph import Arg, Constant, Var
from core.types import TupleType


@dataclass(frozen=True)
class NodeInfo:
    name: str
    op_type: str
    since_version: int
    outputs: tuple[str, ...]
    where: str


Converter = Callable[[FunctionBuilder, NodeInfo, list[Arg], dict[str, Any]], list[Arg]]


def _emit(b: FunctionBuilder, info: NodeInfo, op: str, inputs: list[Arg],
          attrs: dict[str, Any]) -> list[Arg]:
    # Trailing omitted optional inputs are dropped so arity checks see the real count.
    while inputs and inputs[-1] is None:
        inputs = inputs[:-1]
    out_name = next((o for o in info.outputs if o), op.lower())
    v = b.op(op, *inputs, name=out_name, source=info.name, **attrs)
    if isinstance(v.type, TupleType):
        names = [o or f"{out_name}_{i}" for i, o in enumerate(info.outputs)]
        names += [f"{out_name}_{i}" for i in range(len(names), len(v.type.fields))]
        return list(b.unpack(v, len(v.type.fields), names))
    return [v]


def convert_default(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                    attrs: dict[str, Any]) -> list[Arg]:
    return _emit(b, info, info.op_type, inputs, attrs)


def _const(values: Any, dtype: Any = np.int64) -> Constant:
    return Constant(np.asarray(values, dtype=dtype))


def _attr_to_input(name: str, position: int, since: int, dtype: Any = np.int64) -> Converter:
    """Versions before ``since`` carried input ``position`` as attribute ``name``."""

    def convert(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                attrs: dict[str, Any]) -> list[Arg]:
        if info.since_version < since and name in attrs:
            value = attrs.pop(name)
            inputs = inputs + [None] * (position + 1 - len(inputs))
            inputs[position] = _const(value, dtype)
        return _emit(b, info, info.op_type, inputs, attrs)

    return convert


def _constant(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
              attrs: dict[str, Any]) -> list[Arg]:
    (key, value), *rest = attrs.items() if len(attrs) == 1 else [(None, None), ()]
    if key is None or rest:
        raise ValueError(f"Constant needs exactly one value attribute, got {sorted(attrs)}")
    dtypes = {"value_float": np.float32, "value_floats": np.float32,
              "value_int": np.int64, "value_ints": np.int64}
    if key == "value":
        array = np.asarray(value)
    elif key in dtypes:
        array = np.asarray(value, dtype=dtypes[key])
    else:
        raise ValueError(f"Constant attribute '{key}' is not supported")
    return [Constant(array, name=info.outputs[0])]


def _cast(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
          attrs: dict[str, Any]) -> list[Arg]:
    to = attrs.pop("to")
    attrs.pop("saturate", None)  # only affects float8 targets, which are unsupported
    attrs.pop("round_mode", None)
    if isinstance(to, int):
        to = str(np.dtype(helper.tensor_dtype_to_np_dtype(to)))
    return _emit(b, info, "Cast", inputs, {**attrs, "to": to})


def _legacy_ignored(*names: str) -> Callable[[Converter], Converter]:
    """Drop attributes that only older versions had and that do not change inference."""

    def wrap(inner: Converter) -> Converter:
        def convert(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                    attrs: dict[str, Any]) -> list[Arg]:
            for n in names:
                attrs.pop(n, None)
            return inner(b, info, inputs, attrs)

        return convert

    return wrap


def _clip(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
          attrs: dict[str, Any]) -> list[Arg]:
    if info.since_version < 11:
        dtype = inputs[0].type.dtype if isinstance(inputs[0], Var | Constant) else "float32"
        lo = attrs.pop("min", None)
        hi = attrs.pop("max", None)
        inputs = [inputs[0],
                  _const(lo, dtype) if lo is not None else None,
                  _const(hi, dtype) if hi is not None else None]
    return _emit(b, info, "Clip", inputs, attrs)


# Ops that exist only in ONNX: their converter emits other IR ops (or constants).
SELF_CONTAINED = frozenset({"Constant"})

CONVERTERS: dict[str, Converter] = {
    "Constant": _constant,
    "Cast": _cast,
    "Clip": _clip,
    "Unsqueeze": _attr_to_input("axes", 1, 13),
    "Squeeze": _attr_to_input("axes", 1, 13),
    "ReduceMean": _attr_to_input("axes", 1, 18),
    "ReduceSum": _attr_to_input("axes", 1, 13),
    "ReduceMax": _attr_to_input("axes", 1, 18),
    "ReduceMin": _attr_to_input("axes", 1, 18),
    "ReduceProd": _attr_to_input("axes", 1, 18),
    "ReduceSumSquare": _attr_to_input("axes", 1, 18),
    "ReduceL1": _attr_to_input("axes", 1, 18),
    "ReduceL2": _attr_to_input("axes", 1, 18),
    "ReduceLogSumExp": _attr_to_input("axes", 1, 18),
    "Split": _attr_to_input("split", 1, 13),
}

