"""Reductions: ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp,
ArgMax/ArgMin, CumSum, TopK.

Reduce ops follow opset 18: ``axes`` is an optional input, ``keepdims`` and
``noop_with_empty_axes`` are attributes. Reducing an empty set gives the
operation's identity (0 for sums, 1 for products, -inf/+inf for max/min), as
ONNX specifies, rather than numpy's error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.graph import Attrs
from core.ops.dims import int_values, norm_axes, optional_int_values
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, norm_axis
from core.types import TensorType, TupleType, Type

_REDUCE_ATTRS = {"keepdims": AttrSpec("int", 1), "noop_with_empty_axes": AttrSpec("int", 0)}


def _reduced_axes(rank: int, axes: tuple[int, ...] | None, noop: bool) -> tuple[int, ...]:
    if not axes:
        return () if noop else tuple(range(rank))
    return norm_axes(axes, rank, "reduce axes")


def _reduce_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axes = _reduced_axes(t.rank, optional_int_values(args, 1, "axes"),
                         bool(args.attrs["noop_with_empty_axes"]))
    keep = bool(args.attrs["keepdims"])
    shape = tuple(1 if i in axes else d for i, d in enumerate(t.shape) if keep or i not in axes)
    return TensorType(t.dtype, shape)


def _extreme(dtype: np.dtype, high: bool) -> bool | int | float:
    """The identity of max (lowest value) or min (highest value) for an empty reduction."""
    if dtype == np.bool_:
        return not high
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return info.min if high else info.max
    return -np.inf if high else np.inf


Reducer = Callable[[np.ndarray, tuple[int, ...]], np.ndarray]


def _reduce(name: str, fn: Reducer, wide: bool = True) -> OpDef:
    """``wide``: accumulate floats in float64 so float16 sums do not lose digits."""

    def compute(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
        x = xs[0]
        assert x is not None
        given = xs[1] if len(xs) > 1 else None
        axes = _reduced_axes(x.ndim, None if given is None else tuple(int(v) for v in given),
                             bool(a["noop_with_empty_axes"]))
        if not axes and a["noop_with_empty_axes"]:
            return x.copy()
        work = x.astype(np.float64) if wide and np.issubdtype(x.dtype, np.floating) else x
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(fn(work, axes))
        if a["keepdims"]:
            out = out.reshape([1 if i in axes else d for i, d in enumerate(x.shape)])
        return out.astype(x.dtype)

    return OpDef(name, _reduce_infer, compute, _REDUCE_ATTRS, 1, 2)


def _mean(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    total = np.sum(x, axis=axes)
    count = int(np.prod([x.shape[a] for a in axes]))
    if np.issubdtype(x.dtype, np.integer):
        # ONNX integer mean truncates toward zero; floor division would round negatives down.
        return np.where(total < 0, -(-total // max(count, 1)), total // max(count, 1))
    return total / count if count else np.full_like(total, np.nan)


def _max(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.max(x, axis=axes, initial=_extreme(x.dtype, True))


def _min(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.min(x, axis=axes, initial=_extreme(x.dtype, False))


def _log_sum_exp(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    if x.size == 0:
        return np.log(np.sum(np.exp(x), axis=axes))
    peak = np.max(x, axis=axes, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)  # subtracting the max keeps exp() in range
    return np.log(np.sum(np.exp(x - peak), axis=axes)) + np.squeeze(peak, axis=axes)


REDUCE = (
    _reduce("ReduceSum", lambda x, ax: np.sum(x, axis=ax)),
    _reduce("ReduceMean", _mean),
    _reduce("ReduceMax", _max, wide=False),
    _reduce("ReduceMin", _min, wide=False),
    _reduce("ReduceProd", lambda x, ax: np.prod(x, axis=ax)),
    _reduce("ReduceSumSquare", lambda x, ax: np.sum(x * x, axis=ax)),
    _reduce("ReduceL1", lambda x, ax: np.sum(np.abs(x), axis=ax)),
    _reduce("ReduceL2", lambda x, ax: np.sqrt(np.sum(x * x, axis=ax))),
    _reduce("ReduceLogSum", lambda x, ax: np.log(np.sum(x, axis=ax))),
    _reduce("ReduceLogSumExp", _log_sum_exp),
)


# --- ArgMax, ArgMin -----------------------------------------------------------------------------


def _arg_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axis = norm_axis(args.attrs.get_int("axis"), t.rank)
    keep = bool(args.attrs["keepdims"])
    shape = tuple(1 if i == axis else d for i, d in enumerate(t.shape) if keep or i != axis)
    return TensorType("int64", shape)


def _nan_arg(x: np.ndarray, axis: int, largest: bool, last: bool) -> np.ndarray:
    """onnxruntime's ArgMax / ArgMin over NaN: a running extreme from the first element,
    replaced only by a strictly greater (smaller; with ``last`` also an equal) value, so
    a NaN never wins and a leading NaN is never replaced (index 0)."""
    finite = np.where(np.isnan(x), -np.inf if largest else np.inf, x)
    best = (np.max if largest else np.min)(finite, axis=axis, keepdims=True)
    hit = x == best  # NaN equals nothing
    if last:
        idx = x.shape[axis] - 1 - np.argmax(np.flip(hit, axis), axis=axis)
    else:
        idx = np.argmax(hit, axis=axis)
    return np.where(np.isnan(np.take(x, 0, axis=axis)), 0, idx)


def _arg(name: str, fn: Callable[..., np.ndarray]) -> OpDef:
    def compute(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
        x = xs[0]
        assert x is not None
        axis = a.get_int("axis") % x.ndim
        if x.dtype.kind == "f" and x.size and np.isnan(x).any():
            idx = _nan_arg(x, axis, fn is np.argmax, bool(a["select_last_index"]))
        elif a["select_last_index"]:
            # numpy picks the first extreme; on the reversed axis the first is the last.
            idx = x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis)
        else:
            idx = fn(x, axis=axis)
        if a["keepdims"]:
            idx = np.expand_dims(idx, axis)
        return np.asarray(idx, dtype=np.int64)

    attrs = {"axis": AttrSpec("int", 0), "keepdims": AttrSpec("int", 1),
             "select_last_index": AttrSpec("int", 0)}
    return OpDef(name, _arg_infer, compute, attrs)


# --- CumSum, TopK ---------------------------------------------------------------------------------


def _cumsum_infer(args: InferArgs) -> Type:
    t = args.type(0)
    (axis,) = int_values(args, 1, "axis")
    norm_axis(axis, t.rank)
    return TensorType(t.dtype, t.shape)


def _cumsum(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, axis_arr = xs[0], xs[1]
    assert x is not None and axis_arr is not None
    axis = int(axis_arr.reshape(-1)[0]) % x.ndim
    work = np.flip(x, axis) if a["reverse"] else x
    out = np.cumsum(work, axis=axis, dtype=x.dtype)
    if a["exclusive"]:
        # Shift by one along the axis: element i gets the sum of elements before it.
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis=axis)),
                              np.take(out, np.arange(x.shape[axis] - 1), axis=axis)], axis=axis)
    return np.flip(out, axis) if a["reverse"] else out


def _topk_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axis = norm_axis(args.attrs.get_int("axis"), t.rank)
    (k,) = args.values(1, "K")
    extent = t.shape[axis]
    if isinstance(k, int) and isinstance(extent, int) and not 0 <= k <= extent:
        raise OpError(f"TopK K={k} is out of range for extent {extent}")
    shape = (*t.shape[:axis], k, *t.shape[axis + 1:])
    return TupleType((TensorType(t.dtype, shape), TensorType("int64", shape)))


def _topk(xs: Sequence[np.ndarray | None], a: Attrs) -> tuple[np.ndarray, np.ndarray]:
    x, k_arr = xs[0], xs[1]
    assert x is not None and k_arr is not None
    k = int(k_arr.reshape(-1)[0])
    axis = a.get_int("axis") % x.ndim
    if a["largest"]:
        # Descending with ties broken toward the lower index: a stable ascending sort of the
        # reversed axis, read backwards. (Negating would overflow unsigned inputs.)
        n = x.shape[axis]
        order = np.flip(n - 1 - np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    else:
        order = np.argsort(x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


OPS = (
    *REDUCE,
    _arg("ArgMax", np.argmax),
    _arg("ArgMin", np.argmin),
    OpDef("CumSum", _cumsum_infer, _cumsum,
          {"exclusive": AttrSpec("int", 0), "reverse": AttrSpec("int", 0)}, 2, 2),
    OpDef("TopK", _topk_infer, _topk,
          {"axis": AttrSpec("int", -1), "largest": AttrSpec("int", 1),
           "sorted": AttrSpec("int", 1)}, 2, 2),
)
