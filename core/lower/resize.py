"""Resize (nearest, linear) as a tensor program: one gather per output element.

Each resized axis maps its output index to a float32 source coordinate with
the operations of the numpy reference (:mod:`core.ops.resize`), in the same
order: nearest rounds and clamps it to an index; linear clamps it, takes the
two neighbours and their weights, and the neighbours are combined axis after
axis as the reference interpolates one axis after another. Results are
bit-identical to the reference. Resized axes need static extents (the scale of
an axis is part of the program); batch and channels may be symbolic.
"""

from __future__ import annotations

import numpy as np

from core.graph import Attrs
from core.lower.build import LowerError, nest
from core.ops.resize import AxisPlan, axis_plans, resize_axes
from core.tir.expr import Bin, Const, Expr, Load, Unary, cast, const, smax, smin
from core.tir.stmt import Buffer, Stmt, Store

F32 = "float32"


def _floor(e: Expr) -> Expr:
    return Unary("floor", e)


def _coordinate(mode: str, a: AxisPlan, i: Expr) -> Expr:
    """The reference's ``_coordinates`` for one index, in float32."""
    f = np.float32
    x, s, half = cast(F32, i), const(float(a.scale), F32), const(0.5, F32)
    if mode == "asymmetric":
        return Bin("/", x, s)
    if mode == "align_corners":
        if a.n_out == 1:
            return const(0.0, F32)
        return Bin("/", Bin("*", x, const(a.n_in - 1, F32)), const(a.n_out - 1, F32))
    if mode == "pytorch_half_pixel" and a.n_out <= 1:
        return const(0.0, F32)
    if mode == "tf_half_pixel_for_nn":
        return Bin("/", Bin("+", x, half), s)
    centered = Bin("-", Bin("/", Bin("+", x, half), s), half)
    if mode == "half_pixel_symmetric":  # in float64, as the reference (and onnxruntime)
        adjustment = f(a.n_out) / (a.scale * f(a.n_in))
        offset = f(a.n_in) / f(2) * (f(1) - adjustment)
        x64, half64 = cast("float64", i), const(0.5, "float64")
        moved = Bin("/", Bin("+", x64, half64), const(float(a.scale), "float64"))
        return cast(F32, Bin("-", Bin("+", const(float(offset), "float64"), moved), half64))
    return centered


def _clamp_index(v: Expr, n: int) -> Expr:
    return smin(smax(cast("int64", v), Const(0)), Const(n - 1))


def _nearest(mode: str, c: Expr, n: int) -> Expr:
    half = const(0.5, F32)
    neg = Unary("neg", c)
    rounded = {"floor": _floor(c), "ceil": Unary("neg", _floor(neg)),
               "round_prefer_floor": Unary("neg", _floor(Unary("neg", Bin("-", c, half)))),
               "round_prefer_ceil": _floor(Bin("+", c, half))}[mode]
    return _clamp_index(rounded, n)


def _static(e: Expr, what: str) -> int:
    if not isinstance(e, Const):
        raise LowerError(f"Resize: {what} extent is symbolic; resized axes need static extents")
    return int(e.value)


def resize(x: Buffer, attrs: Attrs, scales: np.ndarray | None,
           sizes: list[int] | None, out: Buffer) -> Stmt:
    """``scales`` or ``sizes`` when constant (neither: sizes are the output's extents)."""
    mode = str(attrs["mode"])
    if x.dtype != F32 and mode == "linear":
        raise LowerError(f"Resize: linear interpolation of {x.dtype} has no lowering")
    order = resize_axes(attrs, x.rank)
    stretch = str(attrs["keep_aspect_ratio_policy"]) == "stretch"
    # Axes left alone may be symbolic (the batch): they enter the plan as 1 -> 1.
    if scales is not None:
        kept = {ax for ax, v in zip(order, scales.reshape(-1), strict=True)
                if np.float32(v) == 1}
    else:
        kept = {ax for ax in order if x.shape[ax] == out.shape[ax]} if stretch else set()
        if sizes is None:  # computed from shapes: the output's extents are the sizes
            if not stretch:
                raise LowerError("Resize: keep_aspect_ratio_policy needs constant sizes")
            sizes = [0 if ax in kept else _static(out.shape[ax], "output") for ax in order]
        sizes = [1 if ax in kept else n for ax, n in zip(order, sizes, strict=True)]
    in_dims = [1 if k in kept or k not in order else _static(d, "input")
               for k, d in enumerate(x.shape)]
    axes = axis_plans(in_dims, attrs, scales, sizes)
    coord_mode, nearest_mode = str(attrs["coordinate_transformation_mode"]), str(
        attrs["nearest_mode"])

    def body(i: list, _: list) -> Store:
        idx: list[Expr] = list(i)
        linear: list[tuple[int, Expr, Expr, Expr]] = []  # axis, lo, hi, weight
        for a in axes:
            c = _coordinate(coord_mode, a, i[a.axis])
            if mode == "nearest":
                idx[a.axis] = _nearest(nearest_mode, c, a.n_in)
                continue
            c = smin(smax(c, const(0.0, F32)), const(a.n_in - 1, F32))
            lo = _clamp_index(_floor(c), a.n_in)
            hi = smin(Bin("+", lo, Const(1)), Const(a.n_in - 1))
            linear.append((a.axis, lo, hi, Bin("-", c, cast(F32, lo))))
        return Store(out, tuple(i), _interpolate(x, idx, linear))

    return nest("resize", out.shape, (), body)


def _interpolate(x: Buffer, idx: list[Expr], linear: list[tuple[int, Expr, Expr, Expr]]
                 ) -> Expr:
    """The last linear axis combines values interpolated along the earlier ones."""
    if not linear:
        return Load(x, tuple(idx))
    (ax, lo, hi, w), rest = linear[-1], linear[:-1]

    def at(j: Expr) -> Expr:
        return _interpolate(x, [j if k == ax else v for k, v in enumerate(idx)], rest)

    return Bin("+", Bin("*", at(lo), Bin("-", const(1.0, F32), w)), Bin("*", at(hi), w))
