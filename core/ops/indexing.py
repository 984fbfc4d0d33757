"""Indexing ops: Concat, Split, Slice, Gather, GatherElements, Pad.

Each propagates the symbolic contents of small integer tensors (see
:mod:`core.ops.dims`), which is how ``Shape -> Gather / Slice -> Concat``
chains keep a symbolic batch on their way into a Reshape.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.dims import (
    carry_value,
    ceil_div,
    dmax,
    dmin,
    is_negative,
    known_values,
    norm_axes,
    optional_int_values,
)
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, norm_axis
from core.symbolic import Dim
from core.types import TensorType, TupleType, Type

# Slice bounds at or beyond this mean "to the end": exporters write INT32_MAX or INT64_MAX,
# and no real extent comes near it. Treating them as such keeps `x[:, 1:]` free of min().
_TO_END = 2**31 - 1


def _arrays(xs: Sequence[np.ndarray | None]) -> list[np.ndarray]:
    out = [x for x in xs if x is not None]
    assert out
    return out


# --- Concat, Split --------------------------------------------------------------------------


def _concat_infer(args: InferArgs) -> Type:
    ts = [args.type(i) for i in range(len(args.types))]
    first = ts[0]
    axis = norm_axis(args.attrs.get_int("axis"), first.rank)
    for t in ts[1:]:
        if t.dtype != first.dtype or t.rank != first.rank:
            raise OpError(f"Concat inputs differ: {first} vs {t}")
        for i, (a, b) in enumerate(zip(t.shape, first.shape, strict=True)):
            if i != axis and isinstance(a, int) and isinstance(b, int) and a != b:
                raise OpError(f"Concat inputs differ off the axis: {first} vs {t}")
    total: Dim = 0
    for t in ts:
        total = sym.add(total, t.shape[axis])
    shape = (*first.shape[:axis], total, *first.shape[axis + 1:])
    value = carry_value(
        first.dtype, lambda *xs: np.concatenate(xs, axis=axis), *((t.value, t.shape) for t in ts)
    )
    return TensorType(first.dtype, shape, value)


def _concat(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    return np.concatenate(_arrays(xs), axis=a.get_int("axis"))


def _split_sizes(dim: Dim, split: Sequence[Dim] | None, num_outputs: int | None) -> list[Dim]:
    if split is not None:
        if isinstance(dim, int) and all(isinstance(s, int) for s in split) and sum(split) != dim:
            raise OpError(f"split sizes {list(split)} do not add up to {dim}")
        return list(split)
    if num_outputs is None or num_outputs < 1:
        raise OpError("Split needs a split input or num_outputs")
    # ONNX-18: chunks of ceil(dim / n), the last one smaller.
    chunk = ceil_div(dim, num_outputs)
    last = sym.sub(dim, sym.mul(chunk, num_outputs - 1))
    if isinstance(last, int) and last <= 0:
        raise OpError(f"cannot split {dim} into {num_outputs} non-empty chunks")
    return [chunk] * (num_outputs - 1) + [last]


def _split_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axis = norm_axis(args.attrs.get_int("axis"), t.rank)
    split = args.values(1, "split") if args.has(1) else None
    n = args.attrs.get_int("num_outputs") if "num_outputs" in args.attrs else None
    sizes = _split_sizes(t.shape[axis], split, n)
    fields = []
    start: Dim = 0
    for size in sizes:
        shape = (*t.shape[:axis], size, *t.shape[axis + 1:])
        lo, hi = start, sym.add(start, size)
        value = None
        if isinstance(lo, int) and isinstance(hi, int):
            index = (slice(None),) * axis + (slice(lo, hi),)
            value = carry_value(t.dtype, lambda x, i=index: x[i], (t.value, t.shape))
        fields.append(TensorType(t.dtype, shape, value))
        start = hi
    return TupleType(tuple(fields))


def _split(xs: Sequence[np.ndarray | None], a: Attrs) -> tuple[np.ndarray, ...]:
    x = _arrays(xs[:1])[0]
    axis = a.get_int("axis") % x.ndim
    split = xs[1] if len(xs) > 1 else None
    n = a.get_int("num_outputs") if "num_outputs" in a else None
    sizes = _split_sizes(x.shape[axis], None if split is None else [int(s) for s in split], n)
    bounds = np.cumsum([0, *sizes])
    return tuple(np.take(x, np.arange(lo, hi), axis=axis) for lo, hi in pairwise(bounds))


# --- Slice -------------------------------------------------------------------------------------


def _clamp_index(i: Dim, dim: Dim, lo: int, hi_offset: int, what: str) -> Dim:
    """ONNX bound normalization: negatives count from the end, then clamp to [lo, dim + off]."""
    if isinstance(i, int) and i >= _TO_END:
        return dmax(sym.add(dim, hi_offset), lo)
    if isinstance(i, int) and i <= -_TO_END:
        return lo
    if is_negative(i, what):
        i = sym.add(i, dim)
    return dmin(dmax(i, lo), sym.add(dim, hi_offset))


def _slice_dim(dim: Dim, start: Dim, end: Dim, step: int) -> Dim:
    if step == 0:
        raise OpError("Slice step must not be 0")
    if step > 0:
        s = _clamp_index(start, dim, 0, 0, "Slice start")
        e = _clamp_index(end, dim, 0, 0, "Slice end")
        return dmax(0, ceil_div(sym.sub(e, s), step))
    s = _clamp_index(start, dim, 0, -1, "Slice start")
    e = _clamp_index(end, dim, -1, -1, "Slice end")
    return dmax(0, ceil_div(sym.sub(s, e), -step))


def _slice_params(
    rank: int, starts: Sequence[Dim], ends: Sequence[Dim],
    axes: Sequence[int] | None, steps: Sequence[int] | None,
) -> list[tuple[int, Dim, Dim, int]]:
    if len(starts) != len(ends):
        raise OpError(f"Slice has {len(starts)} starts but {len(ends)} ends")
    axes = norm_axes(tuple(axes) if axes is not None else tuple(range(len(starts))), rank,
                     "Slice axes")
    steps = tuple(steps) if steps is not None else (1,) * len(starts)
    if not len(axes) == len(steps) == len(starts):
        raise OpError("Slice starts, ends, axes and steps differ in length")
    return list(zip(axes, starts, ends, steps, strict=True))


def _slice_infer(args: InferArgs) -> Type:
    t = args.type(0)
    params = _slice_params(
        t.rank, args.values(1, "starts"), args.values(2, "ends"),
        optional_int_values(args, 3, "axes"), optional_int_values(args, 4, "steps"),
    )
    shape = list(t.shape)
    for axis, start, end, step in params:
        shape[axis] = _slice_dim(t.shape[axis], start, end, step)
    value = None
    if all(isinstance(p, int) for _, s, e, _ in params for p in (s, e)):
        value = carry_value(t.dtype, lambda x: x[_slice_index(x.shape, params)],
                            (t.value, t.shape))
    return TensorType(t.dtype, tuple(shape), value)


def _slice_index(shape: tuple[int, ...],
                 params: Sequence[tuple[int, Dim, Dim, int]]) -> tuple[slice, ...]:
    index = [slice(None)] * len(shape)
    for axis, start_dim, end_dim, step in params:
        dim = shape[axis]
        start, end = sym.static(start_dim), sym.static(end_dim)
        start, end = start + dim if start < 0 else start, end + dim if end < 0 else end
        # ONNX clamps a negative step's start to [0, dim-1]; Python slicing would instead
        # return nothing for a start before the first element (onnxruntime follows ONNX).
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        index[axis] = slice(start, None if end < 0 else end, step)
    return tuple(index)


def _slice(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x = _arrays(xs[:1])[0]

    def ints(i: int) -> list[int] | None:
        v = xs[i] if i < len(xs) else None
        return None if v is None else [int(e) for e in v.reshape(-1)]

    params = _slice_params(x.ndim, ints(1) or [], ints(2) or [], ints(3), ints(4))
    return x[_slice_index(x.shape, params)].copy()


# --- Gather, GatherElements ------------------------------------------------------------------


def _check_indices(args: InferArgs) -> TensorType:
    idx = args.type(1)
    if idx.dtype not in ("int32", "int64"):
        raise OpError(f"indices must be int32 or int64, got {idx.dtype}")
    return idx


def _gather_infer(args: InferArgs) -> Type:
    t, idx = args.type(0), _check_indices(args)
    axis = norm_axis(args.attrs.get_int("axis"), t.rank)
    shape = (*t.shape[:axis], *idx.shape, *t.shape[axis + 1:])
    value = None
    indices = known_values(args, 1)
    if indices is not None and all(isinstance(i, int) for i in indices):
        where = np.asarray(indices, dtype=np.int64).reshape(tuple(map(sym.static, idx.shape)))
        value = carry_value(t.dtype, lambda x: np.take(x, where, axis=axis), (t.value, t.shape))
    return TensorType(t.dtype, shape, value)


def _gather(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, idx = _arrays(xs)
    return np.take(x, idx.astype(np.int64), axis=a.get_int("axis"))


def _gather_elements_infer(args: InferArgs) -> Type:
    t, idx = args.type(0), _check_indices(args)
    if idx.rank != t.rank:
        raise OpError(f"indices rank {idx.rank} differs from data rank {t.rank}")
    norm_axis(args.attrs.get_int("axis"), t.rank)
    return TensorType(t.dtype, idx.shape)


def _gather_elements(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, idx = _arrays(xs)
    axis = a.get_int("axis") % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    # take_along_axis would broadcast data against indices; ONNX reads only the indexed
    # region, so cut the other axes down to the indices' extents first.
    x = x[tuple(slice(None) if i == axis else slice(0, n) for i, n in enumerate(idx.shape))]
    return np.take_along_axis(x, idx.astype(np.int64), axis=axis)


# --- Pad ---------------------------------------------------------------------------------------


def _pad_widths(rank: int, pads: Sequence[Dim],
                axes: Sequence[int] | None) -> list[tuple[Dim, Dim]]:
    axes = norm_axes(tuple(axes), rank, "Pad axes") if axes is not None else tuple(range(rank))
    if len(pads) != 2 * len(axes):
        raise OpError(f"Pad: {len(pads)} pads for {len(axes)} axes (need begins then ends)")
    widths: list[tuple[Dim, Dim]] = [(0, 0)] * rank
    for k, axis in enumerate(axes):
        widths[axis] = (pads[k], pads[k + len(axes)])
    return widths


def _pad_infer(args: InferArgs) -> Type:
    t = args.type(0)
    widths = _pad_widths(t.rank, args.values(1, "pads"), optional_int_values(args, 3, "axes"))
    shape = tuple(sym.add(sym.add(d, lo), hi) for d, (lo, hi) in zip(t.shape, widths, strict=True))
    for d in shape:
        if isinstance(d, int) and d < 0:
            raise OpError(f"Pad produces a negative extent: {[sym.to_str(x) for x in shape]}")
    if args.has(2) and args.type(2).dtype != t.dtype:
        raise OpError(f"constant_value dtype {args.type(2).dtype} differs from data {t.dtype}")
    return TensorType(t.dtype, shape)


_PadMode = Literal["constant", "reflect", "edge", "wrap"]
_NP_PAD_MODE: dict[str, _PadMode] = {
    "constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}


def _pad(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, pads = xs[0], xs[1]
    assert x is not None and pads is not None
    value = xs[2] if len(xs) > 2 and xs[2] is not None else None
    axes = xs[3] if len(xs) > 3 else None
    widths = _pad_widths(x.ndim, [int(p) for p in pads.reshape(-1)],
                         None if axes is None else [int(v) for v in axes.reshape(-1)])
    # Negative pads crop; numpy only pads, so crop first and pad by what is left.
    crop = tuple(slice(max(-sym.static(lo), 0), x.shape[i] - max(-sym.static(hi), 0))
                 for i, (lo, hi) in enumerate(widths))
    x = x[crop]
    positive = [(max(sym.static(lo), 0), max(sym.static(hi), 0)) for lo, hi in widths]
    mode = str(a["mode"])
    if mode not in _NP_PAD_MODE:
        raise ValueError(f"Pad mode {mode!r} is not supported")
    if mode == "constant":
        fill = value.reshape(-1)[0] if value is not None and value.size else 0
        return np.pad(x, positive, mode="constant", constant_values=fill)
    return np.pad(x, positive, mode=_NP_PAD_MODE[mode])


OPS = (
    OpDef("Concat", _concat_infer, _concat, {"axis": AttrSpec("int")}, 1, -1),
    OpDef("Split", _split_infer, _split,
          {"axis": AttrSpec("int", 0), "num_outputs": AttrSpec("int", None)}, 1, 2),
    OpDef("Slice", _slice_infer, _slice, min_inputs=3, max_inputs=5),
    OpDef("Gather", _gather_infer, _gather, {"axis": AttrSpec("int", 0)}, 2, 2),
    OpDef("GatherElements", _gather_elements_infer, _gather_elements,
          {"axis": AttrSpec("int", 0)}, 2, 2),
    OpDef("Pad", _pad_infer, _pad, {"mode": AttrSpec("str", "constant")}, 2, 4),
)
