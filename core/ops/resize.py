"""Resize: nearest and linear interpolation along any axes (opset 11+ semantics).

Every upsampling torch exports is covered: ``interpolate(mode="nearest")``
(asymmetric coordinates, floor), bilinear with ``align_corners`` False
(``pytorch_half_pixel`` / ``half_pixel``) or True (``align_corners``), scales or
output sizes, the sizes possibly computed from ``Shape`` with a symbolic batch;
``keep_aspect_ratio_policy`` too (static extents). Cubic interpolation,
antialiasing and ``tf_crop_and_resize`` are rejected by type inference with the
attribute that asks for them.

Coordinates are computed in float32 as onnxruntime does (a scale from sizes is
``float(out) / float(in)``), so nearest picks the same source elements; linear
interpolates one axis after another, which can differ from onnxruntime's
single weighted sum in the last bits of a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.dims import norm_axes
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError
from core.symbolic import Dim
from core.types import TensorType, Type

COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                    "asymmetric", "tf_half_pixel_for_nn")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
POLICIES = ("stretch", "not_larger", "not_smaller")
DTYPES = ("float16", "float32", "float64", "int8", "uint8", "int32", "int64")

ATTRS = {
    "antialias": AttrSpec("int", 0),
    "axes": AttrSpec("ints", ()),
    "coordinate_transformation_mode": AttrSpec("str", "half_pixel"),
    "cubic_coeff_a": AttrSpec("float", -0.75),
    "exclude_outside": AttrSpec("int", 0),
    "extrapolation_value": AttrSpec("float", 0.0),
    "keep_aspect_ratio_policy": AttrSpec("str", "stretch"),
    "mode": AttrSpec("str", "nearest"),
    "nearest_mode": AttrSpec("str", "round_prefer_floor"),
}


def _check_attrs(a: Attrs, dtype: str) -> None:
    mode, coord = str(a["mode"]), str(a["coordinate_transformation_mode"])
    if mode not in ("nearest", "linear"):
        raise OpError(f"Resize: mode '{mode}' is not supported (nearest, linear)")
    if mode == "linear" and not dtype.startswith("float"):
        raise OpError(f"Resize: linear interpolation of {dtype} is not supported (float only; "
                      "a QDQ model resizes the dequantized float tensor)")
    if coord not in COORDINATE_MODES:
        raise OpError(f"Resize: coordinate_transformation_mode '{coord}' is not supported "
                      f"({', '.join(COORDINATE_MODES)})")
    if str(a["nearest_mode"]) not in NEAREST_MODES:
        raise OpError(f"Resize: nearest_mode '{a['nearest_mode']}' is not one of "
                      f"{', '.join(NEAREST_MODES)}")
    if a.get_int("antialias"):
        raise OpError("Resize: antialias=1 is not supported")
    if str(a["keep_aspect_ratio_policy"]) not in POLICIES:
        raise OpError(f"Resize: keep_aspect_ratio_policy '{a['keep_aspect_ratio_policy']}' is "
                      f"not one of {', '.join(POLICIES)}")


def resize_axes(a: Attrs, rank: int) -> tuple[int, ...]:
    given = a.get_ints("axes")
    return norm_axes(given, rank, "Resize axes") if given else tuple(range(rank))


@dataclass(frozen=True)
class AxisPlan:
    """How one resized axis maps: extents and the scale its coordinates use."""

    axis: int
    n_in: int
    n_out: int
    scale: np.float32


def axis_plans(in_dims: Sequence[int], a: Attrs, scales: np.ndarray | None,
               sizes: Sequence[int] | None) -> list[AxisPlan]:
    """The axes that change, as onnxruntime sizes them: from scales, ``int(in * scale)``;
    from sizes, ``scale = out / in`` — or, keeping the aspect ratio, one scale for every
    axis (the smallest for not_larger, the largest for not_smaller) and
    ``out = round(scale * in)``."""
    f = np.float32
    axes = resize_axes(a, len(in_dims))
    if scales is not None:
        plans = [(ax, int(in_dims[ax]), int(f(in_dims[ax]) * s), s)
                 for ax, s in zip(axes, scales.reshape(-1).astype(f), strict=True)]
    else:
        assert sizes is not None
        ratios = [f(int(n)) / f(in_dims[ax]) for ax, n in zip(axes, sizes, strict=True)]
        policy = str(a["keep_aspect_ratio_policy"])
        if policy == "stretch":
            plans = [(ax, int(in_dims[ax]), int(n), r)
                     for ax, n, r in zip(axes, sizes, ratios, strict=True)]
        else:
            common = min(ratios) if policy == "not_larger" else max(ratios)
            # std::round: half away from zero (the products are positive).
            plans = [(ax, int(in_dims[ax]), int(np.floor(common * f(in_dims[ax]) + 0.5)), common)
                     for ax in axes]
    return [AxisPlan(ax, n_in, n_out, s) for ax, n_in, n_out, s in plans
            if not (n_in == n_out and s == 1)]


def _scaled(d: Dim, scale: float) -> Dim:
    """floor(d * scale) as onnxruntime computes it (float32 product, truncated)."""
    if isinstance(d, int):
        return int(np.float32(d) * np.float32(scale))
    if float(scale).is_integer():
        return sym.mul(d, int(scale))
    raise OpError(f"Resize: scale {scale} of the symbolic extent {sym.to_str(d)} gives no "
                  "integer output extent; pass a static shape (--shape) or sizes")


def _infer(args: InferArgs) -> Type:
    x = args.type(0)
    if x.dtype not in DTYPES:
        raise OpError(f"Resize: dtype {x.dtype} is not supported ({', '.join(DTYPES)})")
    _check_attrs(args.attrs, x.dtype)
    axes = resize_axes(args.attrs, x.rank)
    has_scales = args.has(2) and not _empty(args, 2)
    has_sizes = args.has(3) and not _empty(args, 3)
    if has_scales == has_sizes:
        raise OpError("Resize: exactly one of scales (input 2) and sizes (input 3) must be given")
    out = list(x.shape)
    if has_sizes:
        sizes = args.values(3, "sizes")
        if len(sizes) != len(axes):
            raise OpError(f"Resize: sizes has {len(sizes)} entries for {len(axes)} axes")
        if str(args.attrs["keep_aspect_ratio_policy"]) != "stretch":
            dims = [x.shape[ax] for ax in axes]
            if not all(isinstance(d, int) for d in (*dims, *sizes)):
                raise OpError("Resize: keep_aspect_ratio_policy needs static sizes and "
                              "static extents on the resized axes")
            static = [d if isinstance(d, int) else 1 for d in x.shape]
            for p in axis_plans(static, args.attrs, None, [sym.static(v) for v in sizes]):
                out[p.axis] = p.n_out
            return TensorType(x.dtype, tuple(out))
        for ax, s in zip(axes, sizes, strict=True):
            out[ax] = s
    else:
        scales = args.const(2, "scales").reshape(-1)
        if scales.size != len(axes):
            raise OpError(f"Resize: scales has {scales.size} entries for {len(axes)} axes")
        if (scales <= 0).any():
            raise OpError(f"Resize: scales must be positive, got {scales.tolist()}")
        for ax, s in zip(axes, scales, strict=True):
            out[ax] = _scaled(x.shape[ax], float(s))
    return TensorType(x.dtype, tuple(out))


def _empty(args: InferArgs, i: int) -> bool:
    t = args.type(i)
    return t.rank == 1 and t.shape[0] == 0


def _coordinates(mode: str, n_out: int, n_in: int, scale: np.float32) -> np.ndarray:
    """Source coordinate of every output index along one axis, in float32."""
    f = np.float32
    x = np.arange(n_out, dtype=f)
    if mode == "asymmetric":
        return x / scale
    if mode == "align_corners":
        return np.zeros(n_out, f) if n_out == 1 else x * f(n_in - 1) / f(n_out - 1)
    if mode == "pytorch_half_pixel":
        return (x + f(0.5)) / scale - f(0.5) if n_out > 1 else np.zeros(n_out, f)
    if mode == "tf_half_pixel_for_nn":
        return (x + f(0.5)) / scale
    if mode == "half_pixel_symmetric":
        # onnxruntime adds the float32 offset to a double (x + 0.5) / scale - 0.5.
        adjustment = f(n_out) / (scale * f(n_in))
        offset = f(n_in) / f(2) * (f(1) - adjustment)
        d = np.float64
        return (d(offset) + (x.astype(d) + 0.5) / d(scale) - 0.5).astype(f)
    return (x + f(0.5)) / scale - f(0.5)  # half_pixel


def _nearest(c: np.ndarray, mode: str, n_in: int) -> np.ndarray:
    """Source index per nearest_mode, clamped; ties resolved by rounding c -/+ 1/2 (exact in
    float32 for every coordinate below 2^22), the same operations the host lowering uses."""
    half = np.float32(0.5)
    if mode == "floor":
        i = np.floor(c)
    elif mode == "ceil":
        i = -np.floor(-c)
    elif mode == "round_prefer_floor":
        i = -np.floor(-(c - half))  # ceil(c - 1/2)
    else:
        i = np.floor(c + half)
    return np.clip(i.astype(np.int64), 0, n_in - 1)


def _resize(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    scales = xs[2] if len(xs) > 2 and xs[2] is not None and xs[2].size else None
    sizes = xs[3] if len(xs) > 3 and xs[3] is not None and xs[3].size else None
    y = x
    for p in axis_plans(x.shape, a, scales, None if sizes is None else
                        [int(v) for v in sizes.reshape(-1)]):
        ax, n_in, n_out, scale = p.axis, p.n_in, p.n_out, p.scale
        c = _coordinates(str(a["coordinate_transformation_mode"]), n_out, n_in, scale)
        if str(a["mode"]) == "nearest":
            y = np.take(y, _nearest(c, str(a["nearest_mode"]), n_in), axis=ax)
            continue
        c = np.clip(c, np.float32(0), np.float32(n_in - 1))
        lo = np.floor(c).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        w = (c - lo.astype(np.float32)).astype(y.dtype)
        w = w.reshape([-1 if i == ax else 1 for i in range(y.ndim)])
        y = np.take(y, lo, axis=ax) * (1 - w) + np.take(y, hi, axis=ax) * w
    return y.astype(x.dtype, copy=False)


OPS = (OpDef("Resize", _infer, _resize, ATTRS, min_inputs=1, max_inputs=4),)
