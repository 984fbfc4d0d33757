"""QuantizeLinear and DequantizeLinear: per-tensor, per-axis and blocked.

Bit-exactness with onnxruntime rests on doing the same float operations:
QuantizeLinear divides in the scale's float type (or ``precision``), rounds
half to even, adds the zero point and saturates; DequantizeLinear subtracts
the zero point in int32 and multiplies by the scale in its float type.

Attributes follow the newest opset; ``output_dtype`` and ``precision`` are
numpy dtype names, ``""`` meaning "not given". 4-bit and float8 types are not
supported (they are not IR dtypes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, norm_axis
from core.types import TensorType, Type

QTYPES = ("int8", "uint8", "int16", "uint16")
DQ_INPUTS = (*QTYPES, "int32")
SCALES = ("float16", "float32")

QUANT_ATTRS = {
    "axis": AttrSpec("int", 1),
    "block_size": AttrSpec("int", 0),
    "output_dtype": AttrSpec("str", ""),
}


def _check_params(op: str, x: TensorType, scale: TensorType, zp: TensorType | None,
                  attrs: Attrs) -> None:
    """Scale (and zero point, same shape) is a scalar, per-axis 1-D, or blocked."""
    if scale.dtype not in SCALES:
        raise OpError(f"{op}: scale dtype {scale.dtype} is not one of {', '.join(SCALES)}")
    block = attrs.get_int("block_size")
    if block < 0:
        raise OpError(f"{op}: block_size must be >= 0, got {block}")
    if _one_value(scale) and (scale.rank == 0 or not block):
        # Per-tensor. onnxruntime accepts a scalar and a [1] tensor interchangeably here
        # (its quantizer writes a scalar zero point with a [1] scale for LayerNorm biases).
        if zp is not None and not _one_value(zp):
            raise OpError(f"{op}: per-tensor scale {scale} needs a scalar or one-element "
                          f"zero point, got {zp}")
        return
    if zp is not None and (zp.rank != scale.rank or not all(
            sym.equal(a, b) for a, b in zip(zp.shape, scale.shape, strict=True))):
        raise OpError(f"{op}: zero point {zp} and scale {scale} differ in shape")
    axis = norm_axis(attrs.get_int("axis"), x.rank)
    if not block:
        if scale.rank != 1 or not sym.equal(scale.shape[0], x.shape[axis]):
            raise OpError(f"{op}: per-axis scale {scale} must have x.shape[{axis}] = "
                          f"{x.shape[axis]} elements")
        return
    want = tuple(sym.floordiv(sym.add(d, block - 1), block) if i == axis else d
                 for i, d in enumerate(x.shape))
    if scale.rank != x.rank or not all(sym.equal(a, b) for a, b in
                                       zip(scale.shape, want, strict=True)):
        raise OpError(f"{op}: blocked scale {scale} must have shape "
                      f"{tuple(map(str, want))} for block_size {block} on axis {axis}")


def _one_value(t: TensorType) -> bool:
    """A scalar or a one-element 1-D tensor: what onnxruntime treats as per-tensor."""
    return t.rank == 0 or (t.rank == 1 and t.shape[0] == 1)


def _expand(p: np.ndarray, x: np.ndarray, attrs: Attrs) -> np.ndarray:
    """The scale or zero point broadcastable against ``x``."""
    if p.size == 1 and p.ndim <= 1:  # per-tensor (a one-block 1-D tensor is the same)
        return p.reshape(())
    block = attrs.get_int("block_size")
    axis = norm_axis(attrs.get_int("axis"), x.ndim)
    if not block:
        return p.reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    return np.repeat(p, block, axis=axis)[(slice(None),) * axis + (slice(0, x.shape[axis]),)]


# --- QuantizeLinear ----------------------------------------------------------------------


def _quantize_infer(args: InferArgs) -> Type:
    x, scale = args.type(0), args.type(1)
    zp = args.type(2) if args.has(2) else None
    if x.dtype not in ("float16", "float32"):
        raise OpError(f"QuantizeLinear: x must be float16/float32, got {x.dtype}")
    _check_params("QuantizeLinear", x, scale, zp, args.attrs)
    out = str(args.attrs["output_dtype"])
    if zp is not None and out and zp.dtype != out:
        raise OpError(f"QuantizeLinear: output_dtype {out} differs from the zero point's "
                      f"{zp.dtype}")
    out = zp.dtype if zp is not None else (out or "uint8")
    if out not in QTYPES:
        raise OpError(f"QuantizeLinear: output type {out} is not one of {', '.join(QTYPES)}")
    precision = str(args.attrs["precision"])
    if precision and precision not in SCALES:
        raise OpError(f"QuantizeLinear: precision {precision} is not one of {', '.join(SCALES)}")
    return TensorType(out, x.shape)


def _quantize(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, scale = xs[0], xs[1]
    zp = xs[2] if len(xs) > 2 else None
    assert x is not None and scale is not None
    out = np.dtype(zp.dtype if zp is not None else (str(a["output_dtype"]) or "uint8"))
    div = np.dtype(str(a["precision"]) or scale.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.rint(x.astype(div) / _expand(scale, x, a).astype(div))  # half to even
    zero = _expand(zp, x, a).astype(np.float64) if zp is not None else 0.0
    info = np.iinfo(out)
    # Saturate in float64 (exact for all these ranges) before the integer cast; NaN
    # saturates to the type's minimum, as onnxruntime's QuantizeLinear gives it.
    q = np.clip(q.astype(np.float64) + zero, info.min, info.max)
    return np.where(np.isnan(q), info.min, q).astype(out)


# --- DequantizeLinear --------------------------------------------------------------------


def _dequantize_infer(args: InferArgs) -> Type:
    x, scale = args.type(0), args.type(1)
    zp = args.type(2) if args.has(2) else None
    if x.dtype not in DQ_INPUTS:
        raise OpError(f"DequantizeLinear: x dtype {x.dtype} is not one of {', '.join(DQ_INPUTS)}")
    if zp is not None and zp.dtype != x.dtype:
        raise OpError(f"DequantizeLinear: zero point {zp.dtype} differs from x {x.dtype}")
    _check_params("DequantizeLinear", x, scale, zp, args.attrs)
    out = str(args.attrs["output_dtype"]) or scale.dtype
    if out not in SCALES:
        raise OpError(f"DequantizeLinear: output_dtype {out} is not one of {', '.join(SCALES)}")
    return TensorType(out, x.shape)


def _dequantize(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, scale = xs[0], xs[1]
    zp = xs[2] if len(xs) > 2 else None
    assert x is not None and scale is not None
    centered = x.astype(np.int64)
    if zp is not None:
        centered = centered - _expand(zp, x, a).astype(np.int64)
    # int32 inputs minus a zero point can leave the int32 range; onnxruntime wraps too.
    centered = centered.astype(np.int32).astype(scale.dtype)
    y = centered * _expand(scale, x, a)
    return y.astype(str(a["output_dtype"]) or scale.dtype, copy=False)


OPS = (
    OpDef("QuantizeLinear", _quantize_infer, _quantize,
          {**QUANT_ATTRS, "saturate": AttrSpec("int", 1), "precision": AttrSpec("str", "")},
          min_inputs=2, max_inputs=3),
    OpDef("DequantizeLinear", _dequantize_infer, _dequantize, QUANT_ATTRS,
          min_inputs=2, max_inputs=3),
)
