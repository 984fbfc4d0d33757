"""Pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.

MaxPool's optional ``Indices`` output is not supported (the op has one output;
the ONNX importer reports a model that asks for it). Window geometry,
including ceil mode and auto_pad, lives in :mod:`core.ops.window`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError
from core.ops.window import (
    WINDOW_ATTRS,
    Window,
    output_dims,
    pad_for_windows,
    window_of,
    window_views,
)
from core.types import TensorType, Type

FLOATS = ("float16", "float32", "float64")
MAXPOOL_DTYPES = (*FLOATS, "int8", "uint8")

MAXPOOL_ATTRS = {**WINDOW_ATTRS, "ceil_mode": AttrSpec("int", 0),
                 "storage_order": AttrSpec("int", 0)}
AVGPOOL_ATTRS = {**WINDOW_ATTRS, "ceil_mode": AttrSpec("int", 0),
                 "count_include_pad": AttrSpec("int", 0)}


def _pool_infer(op: str, dtypes: tuple[str, ...]) -> Callable[[InferArgs], Type]:
    def infer(args: InferArgs) -> Type:
        x = args.type(0)
        if x.rank < 3:
            raise OpError(f"{op}: expected an input of rank >= 3 (N, C, spatial...), got {x}")
        if x.dtype not in dtypes:
            raise OpError(f"{op}: dtype {x.dtype} is not supported ({', '.join(dtypes)})")
        win = window_of(args.attrs, None, x.rank - 2, op)
        return TensorType(x.dtype, (*x.shape[:2], *output_dims(win, x.shape[2:])))

    return infer


def _geometry(x: np.ndarray, a: Attrs, op: str) -> tuple[Window, list[int]]:
    win = window_of(a, None, x.ndim - 2, op)
    return win, [sym.static(d) for d in output_dims(win, x.shape[2:])]


def _lowest(dtype: np.dtype) -> float | int:
    return int(np.iinfo(dtype).min) if np.issubdtype(dtype, np.integer) else -np.inf


def _max_pool(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    win, out = _geometry(x, a, "MaxPool")
    xp, _ = pad_for_windows(x, win, out, _lowest(x.dtype))
    views = window_views(xp, win, out)
    y = np.array(next(views))
    for v in views:
        np.maximum(y, v, out=y)
    return y


def _average_pool(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    win, out = _geometry(x, a, "AveragePool")
    acc = np.float64 if x.dtype == np.float64 else np.float32
    xp, pads = pad_for_windows(x.astype(acc, copy=False), win, out, 0)
    total = np.zeros(xp.shape[:2] + tuple(out), acc)
    for v in window_views(xp, win, out):
        total += v
    # The divisor counts the window elements inside the input, or (count_include_pad)
    # inside input + explicit padding; ceil mode's overhang past the padding never counts.
    spatial = x.shape[2:]
    if a["count_include_pad"]:
        inside = [(0, s + b + e) for s, (b, e) in zip(spatial, pads, strict=True)]
    else:
        inside = [(b, b + s) for s, (b, _) in zip(spatial, pads, strict=True)]
    mask = np.zeros(xp.shape[2:], acc)
    mask[tuple(slice(lo, hi) for lo, hi in inside)] = 1
    count = np.zeros(tuple(out), acc)
    for v in window_views(mask, win, out):
        count += v
    return (total / count).astype(x.dtype)


def _global_infer(op: str) -> Callable[[InferArgs], Type]:
    def infer(args: InferArgs) -> Type:
        x = args.type(0)
        if x.rank < 3 or x.dtype not in FLOATS:
            raise OpError(f"{op}: expected a float input of rank >= 3, got {x}")
        return TensorType(x.dtype, (*x.shape[:2], *([1] * (x.rank - 2))))

    return infer


def _global_average(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    axes = tuple(range(2, x.ndim))
    acc = np.float64 if x.dtype == np.float64 else np.float32
    return np.mean(x, axis=axes, keepdims=True, dtype=acc).astype(x.dtype)


def _global_max(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    return np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)


OPS = (
    OpDef("MaxPool", _pool_infer("MaxPool", MAXPOOL_DTYPES), _max_pool, MAXPOOL_ATTRS),
    OpDef("AveragePool", _pool_infer("AveragePool", FLOATS), _average_pool, AVGPOOL_ATTRS),
    OpDef("GlobalAveragePool", _global_infer("GlobalAveragePool"), _global_average),
    OpDef("GlobalMaxPool", _global_infer("GlobalMaxPool"), _global_max),
)
