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
import onnx
from onnx import helper

from core.builder import FunctionBuilder
from core.graph import Arg, Constant, Var
from core.types import DTYPES, TupleType


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


def _cast_like(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
               attrs: dict[str, Any]) -> list[Arg]:
    # CastLike(x, like) is Cast(x, to=dtype of like): the dtype is static in the IR.
    like = inputs[1]
    if like is None:
        raise ValueError("CastLike needs its target_type input")
    attrs.pop("saturate", None)
    attrs.pop("round_mode", None)
    return _emit(b, info, "Cast", inputs[:1], {**attrs, "to": like.tensor_type.dtype})


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
        dtype = inputs[0].tensor_type.dtype if isinstance(inputs[0], Var | Constant) else "float32"
        lo = attrs.pop("min", None)
        hi = attrs.pop("max", None)
        inputs = [inputs[0],
                  _const(lo, dtype) if lo is not None else None,
                  _const(hi, dtype) if hi is not None else None]
    return _emit(b, info, "Clip", inputs, attrs)


# Ops that exist only in ONNX: their converter emits other IR ops (or constants).
SELF_CONTAINED = frozenset({"Constant", "CastLike", "Upsample"})

# --- shape, indexing and reduction ops -------------------------------------------------------


def _split(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
           attrs: dict[str, Any]) -> list[Arg]:
    if info.since_version < 13 and "split" in attrs:
        inputs = [inputs[0], _const(attrs.pop("split"))]
    if (len(inputs) < 2 or inputs[1] is None) and "num_outputs" not in attrs:
        # Before opset 18 the node's output count said how many equal parts to make.
        attrs["num_outputs"] = len(info.outputs)
    return _emit(b, info, "Split", inputs, attrs)


def _slice(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
           attrs: dict[str, Any]) -> list[Arg]:
    if info.since_version < 10:
        axes = attrs.pop("axes", None)
        inputs = [inputs[0], _const(attrs.pop("starts")), _const(attrs.pop("ends")),
                  None if axes is None else _const(axes)]
    return _emit(b, info, "Slice", inputs, attrs)


def _pad(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
         attrs: dict[str, Any]) -> list[Arg]:
    if info.since_version < 11:
        data = inputs[0]
        dtype = data.tensor_type.dtype if isinstance(data, Var | Constant) else "float32"
        inputs = [data, _const(attrs.pop("pads")), _const(attrs.pop("value", 0.0), dtype)]
    return _emit(b, info, "Pad", inputs, attrs)


def _constant_of_shape(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                       attrs: dict[str, Any]) -> list[Arg]:
    # The value arrives as a one-element array; IR attributes are hashable scalars.
    if "value" in attrs:
        array = np.asarray(attrs.pop("value")).reshape(-1)
        if array.size != 1:
            raise ValueError(f"ConstantOfShape value must have one element, got {array.size}")
        if str(array.dtype) not in DTYPES:
            raise ValueError(f"ConstantOfShape value dtype {array.dtype} is not supported")
        scalar = array[0].item()
        attrs["value"] = float(scalar) if array.dtype.kind == "f" else int(scalar)
        attrs["dtype"] = str(array.dtype)
    return _emit(b, info, "ConstantOfShape", inputs, attrs)


def _topk(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
          attrs: dict[str, Any]) -> list[Arg]:
    if info.since_version < 10:
        inputs = [inputs[0], _const([attrs.pop("k")])]
    return _emit(b, info, "TopK", inputs, attrs)


# --- nn and quantization ops ---------------------------------------------------------------


def _softmax(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
             attrs: dict[str, Any]) -> list[Arg]:
    if info.since_version >= 13:
        return _emit(b, info, info.op_type, inputs, attrs)
    # Before opset 13 the input was coerced to 2-D at ``axis`` (default 1) and normalized
    # over all trailing dims together; opset 13 normalizes over one axis.
    x = inputs[0]
    assert isinstance(x, Var | Constant)
    rank = x.tensor_type.rank
    axis = int(attrs.pop("axis", 1))
    axis = axis + rank if axis < 0 else axis
    if all(d == 1 for d in x.tensor_type.shape[axis + 1:]):  # one axis either way
        return _emit(b, info, info.op_type, inputs, {**attrs, "axis": min(axis, rank - 1)})
    flat = b.op("Flatten", x, axis=axis, name=f"{info.outputs[0]}_2d", source=info.name)
    y = b.op(info.op_type, flat, axis=1, name=f"{info.outputs[0]}_2d_out", source=info.name)
    shape = b.op("Shape", x, name=f"{info.outputs[0]}_shape", source=info.name)
    return [b.op("Reshape", y, shape, name=info.outputs[0], source=info.name)]


def _batch_norm(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                attrs: dict[str, Any]) -> list[Arg]:
    # spatial=0 (opset 7) passes per-element parameters, which the IR op accepts as is.
    for legacy in ("spatial", "is_test", "consumed_inputs"):
        attrs.pop(legacy, None)
    return _emit(b, info, "BatchNormalization", inputs, attrs)


def _dropout(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
             attrs: dict[str, Any]) -> list[Arg]:
    attrs.pop("is_test", None)
    if info.since_version < 12:
        attrs.pop("ratio", None)  # an attribute then; inference ignores it anyway
    (y,) = _emit(b, info, "Dropout", inputs, attrs)
    if len(info.outputs) < 2 or not info.outputs[1]:
        return [y]
    # Inference keeps every element: the mask is all true (all ones before opset 10).
    x = inputs[0]
    assert isinstance(x, Var | Constant)
    one = np.ones((), bool if info.since_version >= 10 else x.tensor_type.dtype)
    shape = b.op("Shape", x, name=f"{info.outputs[1]}_shape", source=info.name)
    return [y, b.op("Expand", one, shape, name=info.outputs[1], source=info.name)]


def _layer_norm(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                attrs: dict[str, Any]) -> list[Arg]:
    (y,) = _emit(b, info, "LayerNormalization", inputs, attrs)
    if not any(info.outputs[1:]):
        return [y]
    # The IR op yields Y only (what fusion patterns match); the optional Mean and
    # InvStdDev outputs are rebuilt from generic ops, in float32 as stash_type=1 says.
    x = inputs[0]
    assert isinstance(x, Var | Constant)
    rank = x.tensor_type.rank
    axes = _const(list(range(int(attrs.get("axis", -1)) % rank, rank)))
    names = [o or f"{info.outputs[0]}_stat{i}" for i, o in enumerate(info.outputs[1:3])]
    names += [f"{info.outputs[0]}_stat{i}" for i in range(len(names), 2)]

    def op(name: str, *args: Arg | np.ndarray, **op_attrs: Any) -> Var:
        return b.op(name, *args, name=f"{names[0]}_{name.lower()}", source=info.name, **op_attrs)

    xf = x if x.tensor_type.dtype == "float32" else op("Cast", x, to="float32")
    mean = b.op("ReduceMean", xf, axes, keepdims=1, name=names[0], source=info.name)
    centered = op("Sub", xf, mean)
    var = op("ReduceMean", op("Mul", centered, centered), axes, keepdims=1)
    eps = np.array(attrs.get("epsilon", 1e-5), np.float32)
    inv = b.op("Reciprocal", op("Sqrt", op("Add", var, eps)), name=names[1], source=info.name)
    return [y, mean, inv]


def _resize(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
            attrs: dict[str, Any]) -> list[Arg]:
    """Resize-11+ as is; Resize-10 and Upsample (scales as an input since 9, an attribute
    before) resample like onnxruntime's Upsample: asymmetric coordinates, nearest taking
    the floor when enlarging and the ceiling when shrinking."""
    inputs = inputs + [None] * (4 - len(inputs))
    if info.op_type == "Resize" and info.since_version >= 11:
        scales = inputs[2]
        if isinstance(scales, Constant) and scales.value.size == 0:
            inputs[2] = None  # opset 11-12 need the input even when sizes are given
        if attrs.get("coordinate_transformation_mode") != "tf_crop_and_resize":
            inputs[1] = None  # roi only matters for tf_crop_and_resize
        return _emit(b, info, "Resize", inputs, attrs)
    if "scales" in attrs:  # Upsample-7
        scales = _const(attrs.pop("scales"), np.float32)
    else:
        scales = inputs[1]
    if not isinstance(scales, Constant):
        raise ValueError(f"{info.op_type}-{info.since_version}: scales must be a constant")
    mode = attrs.pop("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in ("nearest", "linear", "bilinear"):
        raise ValueError(f"{info.op_type} mode '{mode}' is not supported (nearest, linear)")
    shrink = bool((scales.value < 1).any())
    if mode == "nearest" and shrink and bool((scales.value > 1).any()):
        # onnxruntime rounds per axis (ceil where shrinking, floor where enlarging); the IR
        # op has one nearest_mode for all axes.
        raise ValueError(f"{info.op_type}-{info.since_version} nearest with scales both below "
                         f"and above 1 ({scales.value.tolist()}) is not supported")
    return _emit(b, info, "Resize", [inputs[0], None, scales],
                 {**attrs, "mode": "nearest" if mode == "nearest" else "linear",
                  "coordinate_transformation_mode": "asymmetric",
                  "nearest_mode": "ceil" if shrink else "floor"})


def _dtype_attrs(*names: str) -> Converter:
    """ONNX dtype-valued attributes (TensorProto enums, 0 = unset) become numpy names.

    The IR op takes the newest opset's attributes, so one the node's own version does
    not define (``axis`` before opset 13) is rejected here rather than honoured: onnxruntime
    would refuse the model when it is loaded."""

    def convert(b: FunctionBuilder, info: NodeInfo, inputs: list[Arg],
                attrs: dict[str, Any]) -> list[Arg]:
        known = set(onnx.defs.get_schema(info.op_type, info.since_version, "").attributes)
        extra = sorted(set(attrs) - known)
        if extra:
            raise ValueError(f"attribute(s) {extra} do not exist in {info.op_type}-"
                             f"{info.since_version} (it has: {', '.join(sorted(known)) or 'none'})"
                             f"; per-axis quantization needs opset 13 or later")
        scale = inputs[1] if len(inputs) > 1 else None
        if info.since_version < 13 and isinstance(scale, Var | Constant) and not (
                scale.tensor_type.rank == 0 or scale.tensor_type.shape == (1,)):
            raise ValueError(f"{info.op_type}-{info.since_version} takes a per-tensor scale "
                             f"only, got {scale.type}; per-axis needs opset 13 or later")
        for name in names:
            code = attrs.pop(name, 0)
            if code:
                attrs[name] = str(np.dtype(helper.tensor_dtype_to_np_dtype(code)))
        return _emit(b, info, info.op_type, inputs, attrs)

    return convert


CONVERTERS: dict[str, Converter] = {
    "Constant": _constant,
    "Cast": _cast,
    "CastLike": _cast_like,
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
    "ReduceLogSum": _attr_to_input("axes", 1, 18),
    "Split": _split,
    "Slice": _slice,
    "Pad": _pad,
    "ConstantOfShape": _constant_of_shape,
    "TopK": _topk,
    "Softmax": _softmax,
    "LogSoftmax": _softmax,
    "BatchNormalization": _batch_norm,
    "Dropout": _dropout,
    "LayerNormalization": _layer_norm,
    "Resize": _resize,
    "Upsample": _resize,
    "QuantizeLinear": _dtype_attrs("output_dtype", "precision"),
    "DequantizeLinear": _dtype_attrs("output_dtype"),
}

