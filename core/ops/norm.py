"""Normalizations: BatchNormalization (inference), InstanceNormalization,
LayerNormalization (output Y only), LRN.

Float16 inputs are computed in float32 and rounded back, as onnxruntime does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, norm_axis
from core.types import TensorType, Type

FLOATS = ("float16", "float32", "float64")


def _acc(dtype: np.dtype) -> type[np.floating]:
    return np.float64 if dtype == np.float64 else np.float32


def _float_input(args: InferArgs, op: str, min_rank: int) -> TensorType:
    x = args.type(0)
    if x.dtype not in FLOATS or x.rank < min_rank:
        raise OpError(f"{op}: expected a float input of rank >= {min_rank}, got {x}")
    return x


def _per_channel(op: str, x: TensorType, t: TensorType, what: str) -> None:
    # A 1-D (C,) parameter is the usual case; BatchNormalization's legacy spatial=0
    # form passes parameters shaped like one sample, x.shape[1:], which broadcasts too.
    if t.rank == 1 and sym.equal(t.shape[0], x.shape[1]):
        return
    if t.rank == x.rank - 1 and all(sym.equal(a, b) for a, b in zip(t.shape, x.shape[1:],
                                                                      strict=True)):
        return
    raise OpError(f"{op}: {what} must have shape ({x.shape[1]},), got {t}")


def _channel_param(p: np.ndarray, x: np.ndarray, acc: type[np.floating]) -> np.ndarray:
    p = p.astype(acc, copy=False)
    return p.reshape(-1, *([1] * (x.ndim - 2))) if p.ndim == 1 else p


# --- BatchNormalization ------------------------------------------------------------------


def _batch_norm_infer(args: InferArgs) -> Type:
    x = _float_input(args, "BatchNormalization", 2)
    if args.attrs["training_mode"]:
        raise OpError("BatchNormalization: training_mode=1 is not supported (inference only)")
    for i, what in enumerate(("scale", "B", "input_mean", "input_var"), start=1):
        _per_channel("BatchNormalization", x, args.type(i), what)
    return x


def _batch_norm(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, scale, bias, mean, var = xs
    assert x is not None and scale is not None and bias is not None
    assert mean is not None and var is not None
    acc = _acc(x.dtype)
    # Fold into one multiply-add per element: y = x * k + (B - mean * k).
    eps = acc(a.get_float("epsilon"))
    k = _channel_param(scale, x, acc) / np.sqrt(_channel_param(var, x, acc) + eps)
    shift = _channel_param(bias, x, acc) - _channel_param(mean, x, acc) * k
    return (x.astype(acc, copy=False) * k + shift).astype(x.dtype, copy=False)


# --- InstanceNormalization ---------------------------------------------------------------


def _instance_norm_infer(args: InferArgs) -> Type:
    x = _float_input(args, "InstanceNormalization", 3)
    for i, what in ((1, "scale"), (2, "B")):
        t = args.type(i)
        if t.rank != 1 or not sym.equal(t.shape[0], x.shape[1]):
            raise OpError(f"InstanceNormalization: {what} must have shape ({x.shape[1]},), got {t}")
    return x


def _instance_norm(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, scale, bias = xs
    assert x is not None and scale is not None and bias is not None
    acc = _acc(x.dtype)
    xf = x.astype(acc, copy=False)
    axes = tuple(range(2, x.ndim))
    mean = xf.mean(axis=axes, keepdims=True)
    var = np.square(xf - mean).mean(axis=axes, keepdims=True)
    y = (xf - mean) / np.sqrt(var + acc(a.get_float("epsilon")))
    return (y * _channel_param(scale, x, acc) + _channel_param(bias, x, acc)).astype(x.dtype)


# --- LayerNormalization ------------------------------------------------------------------


def _layer_norm_infer(args: InferArgs) -> Type:
    x = _float_input(args, "LayerNormalization", 1)
    axis = norm_axis(args.attrs.get_int("axis"), x.rank)
    if args.attrs.get_int("stash_type") != 1:
        raise OpError("LayerNormalization: only stash_type=1 (float32 statistics) is supported")
    for i in (1, 2):
        if args.has(i):
            t = args.type(i)
            # Scale and B broadcast unidirectionally onto the normalized dims.
            if t.rank > x.rank - axis or t.dtype != x.dtype:
                raise OpError(f"LayerNormalization: input {i} ({t}) does not broadcast onto "
                              f"the normalized dims {tuple(map(str, x.shape[axis:]))}")
    return x


def _layer_norm(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, scale = xs[0], xs[1]
    bias = xs[2] if len(xs) > 2 else None
    assert x is not None and scale is not None
    acc = _acc(x.dtype)
    xf = x.astype(acc, copy=False)
    axes = tuple(range(norm_axis(a.get_int("axis"), x.ndim), x.ndim))
    mean = xf.mean(axis=axes, keepdims=True)
    var = np.square(xf - mean).mean(axis=axes, keepdims=True)
    y = (xf - mean) / np.sqrt(var + acc(a.get_float("epsilon"))) * scale.astype(acc)
    if bias is not None:
        y = y + bias.astype(acc)
    return y.astype(x.dtype)


# --- LRN ---------------------------------------------------------------------------------


def _lrn_infer(args: InferArgs) -> Type:
    x = _float_input(args, "LRN", 2)
    if args.attrs.get_int("size") < 1:
        raise OpError(f"LRN: size must be >= 1, got {args.attrs['size']}")
    return x


def _lrn(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    acc = _acc(x.dtype)
    size = a.get_int("size")
    sq = np.square(x.astype(acc))
    # Channel c sums squares over [c - floor((size-1)/2), c + ceil((size-1)/2)].
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    padded = np.pad(sq, [(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2))
    c = x.shape[1]
    total = np.zeros_like(sq)
    for i in range(size):
        total += padded[:, i:i + c]
    bias, alpha, beta = (acc(a.get_float(k)) for k in ("bias", "alpha", "beta"))
    denom = (bias + alpha / size * total) ** beta
    return (x / denom).astype(x.dtype)


OPS = (
    OpDef("BatchNormalization", _batch_norm_infer, _batch_norm,
          {"epsilon": AttrSpec("float", 1e-5), "momentum": AttrSpec("float", 0.9),
           "training_mode": AttrSpec("int", 0)},
          min_inputs=5, max_inputs=5),
    OpDef("InstanceNormalization", _instance_norm_infer, _instance_norm,
          {"epsilon": AttrSpec("float", 1e-5)}, min_inputs=3, max_inputs=3),
    OpDef("LayerNormalization", _layer_norm_infer, _layer_norm,
          {"axis": AttrSpec("int", -1), "epsilon": AttrSpec("float", 1e-5),
           "stash_type": AttrSpec("int", 1)},
          min_inputs=2, max_inputs=3),
    OpDef("LRN", _lrn_infer, _lrn,
          {"size": AttrSpec("int"), "alpha": AttrSpec("float", 1e-4),
           "beta": AttrSpec("float", 0.75), "bias": AttrSpec("float", 1.0)}),
)
