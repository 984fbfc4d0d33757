"""Shape ops: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Expand, Tile,
ConstantOfShape, Range, Transpose, DepthToSpace, SpaceToDepth.

``Shape`` starts a chain of symbolic contents (``TensorType.value``) and the
ops here keep it going, so the Reshape at the end of a PyTorch-style
``Shape -> Gather -> Concat -> Reshape`` sees ``[N, 48]`` rather than an
unknown target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.dims import (
    carry_value,
    ceil_div,
    dmax,
    int_values,
    is_int_dtype,
    norm_axes,
    optional_int_values,
)
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, broadcast_shapes
from core.symbolic import Dim
from core.types import TensorType, Type


def _first(xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    assert x is not None
    return x


def _same_value(t: TensorType, shape: tuple[Dim, ...]) -> tuple[Dim, ...] | None:
    """Contents survive ops that only change the shape (row-major order is kept)."""
    return t.value if is_int_dtype(t.dtype) and sym.is_static(shape) else None


# --- Shape, Size ------------------------------------------------------------------------


def _shape_infer(args: InferArgs) -> Type:
    dims = args.type(0).shape
    start = args.attrs.get_int("start", 0)
    end = args.attrs.get_int("end") if "end" in args.attrs else None
    # Python slicing clamps out-of-range bounds exactly as ONNX Shape-15 specifies.
    picked = dims[start:] if end is None else dims[start:end]
    return TensorType("int64", (len(picked),), picked)


def _shape(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    end = a.get_int("end") if "end" in a else None
    dims = _first(xs).shape
    picked = dims[a.get_int("start"):] if end is None else dims[a.get_int("start"):end]
    return np.asarray(picked, dtype=np.int64)


def _size_infer(args: InferArgs) -> Type:
    return TensorType("int64", (), (args.type(0).numel(),))


# --- Reshape, Flatten -------------------------------------------------------------------------


def _reshape_target(shape_in: tuple[Dim, ...], target: Sequence[Dim], allowzero: bool) -> list[Dim]:
    """Resolve ONNX's 0 (copy the input dim) and -1 (whatever is left) in a target shape."""
    out: list[Dim] = []
    infer_at: int | None = None
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(shape_in):
                raise OpError(f"target dim {i} is 0 (copy) but the input has rank {len(shape_in)}")
            out.append(shape_in[i])
        elif d == -1:
            if infer_at is not None:
                raise OpError("target shape has more than one -1")
            infer_at = i
            out.append(1)
        elif isinstance(d, int) and d < 0:
            raise OpError(f"target dim {d} is invalid")
        else:
            out.append(d)
    total = sym.product(shape_in)
    known = sym.product(out)
    if infer_at is not None:
        if known == 0:
            raise OpError("cannot infer a -1 dim next to a zero-sized dim")
        out[infer_at] = sym.floordiv(total, known)
        known = sym.product(out)
    if isinstance(total, int) and isinstance(known, int) and total != known:
        raise OpError(f"cannot reshape {total} elements into {[sym.to_str(d) for d in out]}")
    return out


def _reshape_infer(args: InferArgs) -> Type:
    t = args.type(0)
    if allowzero := bool(args.attrs["allowzero"]):
        target = args.values(1, "shape")
        if 0 in target and -1 in target:
            raise OpError("allowzero=1 forbids mixing 0 and -1 in the target shape")
    shape = tuple(_reshape_target(t.shape, args.values(1, "shape"), allowzero))
    return TensorType(t.dtype, shape, _same_value(t, shape))


def _reshape(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, shape = _first(xs), xs[1]
    assert shape is not None
    target = [int(v) for v in shape.reshape(-1)]
    if not a["allowzero"]:
        target = [x.shape[i] if v == 0 else v for i, v in enumerate(target)]
    return x.reshape(target)


def _flatten_axis(axis: int, rank: int) -> int:
    if not -rank <= axis <= rank:
        raise OpError(f"Flatten axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def _flatten_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axis = _flatten_axis(args.attrs.get_int("axis"), t.rank)
    shape = (sym.product(t.shape[:axis]), sym.product(t.shape[axis:]))
    return TensorType(t.dtype, shape, _same_value(t, shape))


def _flatten(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = _first(xs)
    axis = _flatten_axis(a.get_int("axis"), x.ndim)
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


# --- Squeeze, Unsqueeze -----------------------------------------------------------------------


def _squeeze_axes(shape: tuple[Dim, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is not None:
        axes = norm_axes(axes, len(shape), "Squeeze axes")
        for a in axes:
            if isinstance(shape[a], int) and shape[a] != 1:
                raise OpError(f"cannot squeeze axis {a} of extent {shape[a]}")
        return axes
    if not sym.is_static(shape):
        # Whether a symbolic dim is 1 is only known at run time; the result rank would be too.
        raise OpError("Squeeze without axes needs a static shape; pass axes explicitly")
    return tuple(i for i, d in enumerate(shape) if d == 1)


def _squeeze_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axes = _squeeze_axes(t.shape, optional_int_values(args, 1, "axes"))
    shape = tuple(d for i, d in enumerate(t.shape) if i not in axes)
    return TensorType(t.dtype, shape, _same_value(t, shape))


def _squeeze(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x = _first(xs)
    axes = None if len(xs) < 2 or xs[1] is None else tuple(int(v) for v in xs[1].reshape(-1))
    return np.squeeze(x, axis=_squeeze_axes(x.shape, axes))


def _unsqueeze_infer(args: InferArgs) -> Type:
    t = args.type(0)
    axes = int_values(args, 1, "axes")
    rank = t.rank + len(axes)
    where = norm_axes(axes, rank, "Unsqueeze axes")
    rest = iter(t.shape)
    shape = tuple(1 if i in where else next(rest) for i in range(rank))
    return TensorType(t.dtype, shape, _same_value(t, shape))


def _unsqueeze(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x, axes = _first(xs), xs[1]
    assert axes is not None
    return np.expand_dims(x, tuple(int(v) for v in axes.reshape(-1)))


# --- Expand, Tile, ConstantOfShape, Range ----------------------------------------------------


def _expand_infer(args: InferArgs) -> Type:
    t = args.type(0)
    shape = broadcast_shapes(t.shape, args.values(1, "shape"))
    # A symbolic shape makes sym.static raise: carry_value then leaves the contents unknown.
    value = carry_value(t.dtype, lambda x: np.broadcast_to(x, tuple(map(sym.static, shape))),
                        (t.value, t.shape))
    return TensorType(t.dtype, shape, value)


def _expand(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x, shape = _first(xs), xs[1]
    assert shape is not None
    out = np.broadcast_shapes(x.shape, tuple(int(v) for v in shape.reshape(-1)))
    return np.broadcast_to(x, out).copy()


def _tile_infer(args: InferArgs) -> Type:
    t = args.type(0)
    repeats = args.values(1, "repeats")
    if len(repeats) != t.rank:
        raise OpError(f"Tile: {len(repeats)} repeats for rank {t.rank}")
    shape = tuple(sym.mul(d, r) for d, r in zip(t.shape, repeats, strict=True))
    value = None
    if all(isinstance(r, int) for r in repeats):
        reps = tuple(map(sym.static, repeats))
        value = carry_value(t.dtype, lambda x: np.tile(x, reps), (t.value, t.shape))
    return TensorType(t.dtype, shape, value)


def _tile(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x, repeats = _first(xs), xs[1]
    assert repeats is not None
    return np.tile(x, tuple(int(r) for r in repeats.reshape(-1)))


def _constant_of_shape_infer(args: InferArgs) -> Type:
    shape = args.values(0, "shape")
    dtype = str(args.attrs["dtype"])
    fill = np.full(1, args.attrs["value"], dtype=object)
    value = carry_value(
        dtype, lambda f: np.broadcast_to(f.reshape(()), tuple(map(sym.static, shape))),
        (tuple(fill), (1,)))
    return TensorType(dtype, shape, value)


def _constant_of_shape(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    shape = tuple(int(v) for v in _first(xs).reshape(-1))
    return np.full(shape, a["value"], dtype=np.dtype(str(a["dtype"])))


def _range_infer(args: InferArgs) -> Type:
    dtypes = {args.type(i).dtype for i in range(3)}
    if len(dtypes) != 1:
        raise OpError(f"Range: start, limit and delta dtypes differ ({sorted(dtypes)})")
    (dtype,) = dtypes
    if not is_int_dtype(dtype):
        start, limit, delta = (float(args.const(i, n)) for i, n in enumerate(_RANGE_ARGS))
        n = max(math.ceil((limit - start) / delta), 0)
        return TensorType(dtype, (n,))
    s, lim, d = (args.values(i, n)[0] for i, n in enumerate(_RANGE_ARGS))
    if not isinstance(d, int) or d == 0:
        raise OpError(f"Range delta must be a static non-zero integer, got {sym.to_str(d)}")
    span = sym.sub(lim, s) if d > 0 else sym.sub(s, lim)
    length = dmax(0, ceil_div(span, abs(d)))
    value = None
    if isinstance(length, int) and length <= 64:
        value = tuple(sym.add(s, i * d) for i in range(length))
    return TensorType(dtype, (length,), value)


_RANGE_ARGS = ("start", "limit", "delta")


def _range(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    start, limit, delta = (x for x in xs)
    assert start is not None and limit is not None and delta is not None
    n = max(math.ceil((limit.item() - start.item()) / delta.item()), 0)
    # start + i*delta in the input dtype, as ONNX defines it (np.arange rounds differently).
    return (start + np.arange(n, dtype=start.dtype) * delta).astype(start.dtype)


# --- Transpose, DepthToSpace, SpaceToDepth ---------------------------------------------------


def _perm(attrs: Attrs, rank: int) -> tuple[int, ...]:
    if "perm" not in attrs:
        return tuple(reversed(range(rank)))
    perm = attrs.get_ints("perm")
    if sorted(p % rank if rank else p for p in perm) != list(range(rank)):
        raise OpError(f"Transpose perm {list(perm)} is not a permutation of rank {rank}")
    return tuple(p % rank for p in perm)


def _transpose_infer(args: InferArgs) -> Type:
    t = args.type(0)
    perm = _perm(args.attrs, t.rank)
    shape = tuple(t.shape[p] for p in perm)
    value = carry_value(t.dtype, lambda x: np.transpose(x, perm), (t.value, t.shape))
    return TensorType(t.dtype, shape, value)


def _transpose(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = _first(xs)
    return np.transpose(x, _perm(a, x.ndim))


def _block_infer(to_space: bool) -> Callable[[InferArgs], Type]:
    def infer(args: InferArgs) -> Type:
        t = args.type(0)
        if t.rank != 4:
            raise OpError(f"input must be 4-D (N, C, H, W), got {t}")
        b = args.attrs.get_int("blocksize")
        n, c, h, w = t.shape
        if to_space:
            if isinstance(c, int) and c % (b * b):
                raise OpError(f"channels {c} are not divisible by blocksize^2 = {b * b}")
            shape = (n, sym.floordiv(c, b * b), sym.mul(h, b), sym.mul(w, b))
        else:
            for d in (h, w):
                if isinstance(d, int) and d % b:
                    raise OpError(f"spatial dim {d} is not divisible by blocksize {b}")
            shape = (n, sym.mul(c, b * b), sym.floordiv(h, b), sym.floordiv(w, b))
        return TensorType(t.dtype, shape)

    return infer


def _depth_to_space(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = _first(xs)
    b = a.get_int("blocksize")
    n, c, h, w = x.shape
    if a["mode"] == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:  # CRD
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _space_to_depth(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = _first(xs)
    b = a.get_int("blocksize")
    n, c, h, w = x.shape
    # DCR puts the block offset before the channel in the output depth, CRD after it.
    perm = (0, 3, 5, 1, 2, 4) if a["mode"] == "DCR" else (0, 1, 3, 5, 2, 4)
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(perm)
    return y.reshape(n, c * b * b, h // b, w // b)


OPS = (
    OpDef("Shape", _shape_infer, _shape,
          {"start": AttrSpec("int", 0), "end": AttrSpec("int", None)}),
    OpDef("Size", _size_infer, lambda xs, a: np.asarray(_first(xs).size, dtype=np.int64)),
    OpDef("Reshape", _reshape_infer, _reshape, {"allowzero": AttrSpec("int", 0)}, 2, 2),
    OpDef("Flatten", _flatten_infer, _flatten, {"axis": AttrSpec("int", 1)}),
    OpDef("Squeeze", _squeeze_infer, _squeeze, min_inputs=1, max_inputs=2),
    OpDef("Unsqueeze", _unsqueeze_infer, _unsqueeze, min_inputs=2, max_inputs=2),
    OpDef("Expand", _expand_infer, _expand, min_inputs=2, max_inputs=2),
    OpDef("Tile", _tile_infer, _tile, min_inputs=2, max_inputs=2),
    OpDef("ConstantOfShape", _constant_of_shape_infer, _constant_of_shape,
          # value is a Python int for integer dtypes so large int64 fills stay exact.
          {"value": AttrSpec("float", 0.0), "dtype": AttrSpec("str", "float32")}),
    OpDef("Range", _range_infer, _range, min_inputs=3, max_inputs=3),
    OpDef("Transpose", _transpose_infer, _transpose, {"perm": AttrSpec("ints", None)}),
    OpDef("DepthToSpace", _block_infer(True), _depth_to_space,
          {"blocksize": AttrSpec("int"), "mode": AttrSpec("str", "DCR")}),
    OpDef("SpaceToDepth", _block_infer(False), _space_to_depth,
          {"blocksize": AttrSpec("int"), "mode": AttrSpec("str", "DCR")}),
)
