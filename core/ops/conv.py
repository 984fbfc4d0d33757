"""Convolutions: Conv, ConvInteger, ConvTranspose (1-D, 2-D, 3-D and beyond).

The reference uses im2col: one strided view per kernel offset (see
:func:`core.ops.window.window_views`) is stacked into a column matrix and
multiplied with the weight as one batched matmul per group. Float inputs
accumulate in float32 (float64 stays float64), like onnxruntime's MLAS
kernels; the integer variant accumulates exactly in int64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError
from core.ops.window import (
    WINDOW_ATTRS,
    Window,
    concrete_pads,
    output_dims,
    pad_for_windows,
    window_of,
    window_views,
)
from core.symbolic import Dim
from core.types import TensorType, Type

FLOATS = ("float16", "float32", "float64")
QUANT = ("int8", "uint8")

CONV_ATTRS = {**WINDOW_ATTRS, "group": AttrSpec("int", 1)}


def _conv_window(args: InferArgs, op: str) -> tuple[TensorType, TensorType, Window]:
    x, w = args.type(0), args.type(1)
    if x.rank < 3 or w.rank != x.rank:
        raise OpError(f"{op}: expected X of rank >= 3 and W of the same rank, got {x} and {w}")
    return x, w, window_of(args.attrs, w.shape[2:], x.rank - 2, op)


def _check_channels(op: str, x: TensorType, w: TensorType, group: int) -> None:
    if group < 1:
        raise OpError(f"{op}: group must be >= 1, got {group}")
    c, cg, m = x.shape[1], w.shape[1], w.shape[0]
    if isinstance(c, int) and isinstance(cg, int) and c != cg * group:
        raise OpError(f"{op}: X has {c} channels but W expects {cg} x group {group}")
    if isinstance(m, int) and m % group:
        raise OpError(f"{op}: {m} output channels do not split into {group} groups")


def _conv_infer(args: InferArgs) -> Type:
    x, w, win = _conv_window(args, "Conv")
    if x.dtype not in FLOATS or w.dtype != x.dtype:
        raise OpError(f"Conv: X and W must share a float dtype, got {x.dtype} and {w.dtype}")
    _check_channels("Conv", x, w, args.attrs.get_int("group"))
    if args.has(2):
        b = args.type(2)
        if b.rank != 1 or not sym.equal(b.shape[0], w.shape[0]) or b.dtype != x.dtype:
            raise OpError(f"Conv: bias must be {x.dtype}[{w.shape[0]}], got {b}")
    return TensorType(x.dtype, (x.shape[0], w.shape[0], *output_dims(win, x.shape[2:])))


def _accumulator(dtype: np.dtype) -> type[np.generic]:
    if np.issubdtype(dtype, np.integer):
        return np.int64
    return np.float64 if dtype == np.float64 else np.float32


def conv_nd(x: np.ndarray, w: np.ndarray, win: Window, group: int) -> np.ndarray:
    """Grouped N-d correlation of ``x`` (N, C, *S) with ``w`` (M, C/group, *K)."""
    acc = _accumulator(x.dtype)
    x, w = x.astype(acc, copy=False), w.astype(acc, copy=False)
    n, c = x.shape[:2]
    m = w.shape[0]
    out = [sym.static(d) for d in output_dims(win, x.shape[2:])]  # static: shapes are concrete here
    pixels = int(np.prod(out))
    k = int(np.prod(win.kernel))
    w2 = w.reshape(group, m // group, (c // group) * k)
    pointwise = k == 1 and all(s == 1 for s in win.strides) and not any(
        a or b for a, b in concrete_pads(win, x.shape[2:]))
    if pointwise:  # 1x1 convs (most of ResNet): no column copy needed
        cols = x.reshape(n, group, c // group, pixels)
    else:
        xp, _ = pad_for_windows(x, win, out, 0)
        # (N, C, K, *out): channel-major, kernel offset minor, as W is laid out.
        cols = np.stack(list(window_views(xp, win, out)), axis=2)
        cols = cols.reshape(n, group, (c // group) * k, pixels)
    y = np.matmul(w2, cols)  # (N, G, M/G, P): one GEMM per group
    return y.reshape(n, m, *out)


def _conv(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, w, b = xs[0], xs[1], xs[2] if len(xs) > 2 else None
    assert x is not None and w is not None
    win = window_of(a, w.shape[2:], x.ndim - 2, "Conv")
    y = conv_nd(x, w, win, a.get_int("group"))
    if b is not None:
        y += b.astype(y.dtype).reshape(-1, *([1] * (x.ndim - 2)))
    return y.astype(x.dtype, copy=False)


# --- ConvInteger ------------------------------------------------------------------------


def _conv_integer_infer(args: InferArgs) -> Type:
    x, w, win = _conv_window(args, "ConvInteger")
    if x.dtype not in QUANT or w.dtype not in QUANT:
        raise OpError(f"ConvInteger: X and W must be int8/uint8, got {x.dtype} and {w.dtype}")
    _check_channels("ConvInteger", x, w, args.attrs.get_int("group"))
    for i, ref in ((2, x), (3, w)):
        if args.has(i) and args.type(i).dtype != ref.dtype:
            raise OpError(f"ConvInteger: zero point {i} must be {ref.dtype}")
    if args.has(2) and args.type(2).rank > 0 and args.type(2).numel() != 1:
        raise OpError("ConvInteger: x_zero_point must be a scalar")
    return TensorType("int32", (x.shape[0], w.shape[0], *output_dims(win, x.shape[2:])))


def _conv_integer(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, w = xs[0], xs[1]
    assert x is not None and w is not None
    xz = xs[2] if len(xs) > 2 and xs[2] is not None else np.zeros((), x.dtype)
    wz = xs[3] if len(xs) > 3 and xs[3] is not None else np.zeros((), w.dtype)
    # Subtracting zero points first makes padding with 0 equal padding with the zero point.
    xq = x.astype(np.int64) - xz.astype(np.int64).reshape(())
    wq = w.astype(np.int64) - wz.astype(np.int64).reshape(-1, *([1] * (w.ndim - 1)))
    win = window_of(a, w.shape[2:], x.ndim - 2, "ConvInteger")
    return conv_nd(xq, wq, win, a.get_int("group")).astype(np.int32)


# --- ConvTranspose ----------------------------------------------------------------------

CONV_TRANSPOSE_ATTRS = {
    **CONV_ATTRS,
    "output_padding": AttrSpec("ints", ()),
    "output_shape": AttrSpec("ints", ()),
}


def _transpose_geometry(a: Attrs, win: Window, spatial: Sequence[Dim]
                        ) -> tuple[tuple[Dim, ...], tuple[Dim, ...]]:
    """Output extents and begin pads of a transposed conv (symbolic where the input is)."""
    n = win.rank
    extra = a.get_ints("output_padding") or (0,) * n
    requested = a.get_ints("output_shape")
    requested = requested[-n:]  # some exporters include the N and C dims
    if len(extra) != n or (requested and len(requested) != n):
        raise OpError(f"ConvTranspose: output_padding/output_shape need {n} values")
    full = [sym.add((size - 1) * win.strides[i], win.extent(i) + extra[i])
            for i, size in enumerate(spatial)]
    if not requested and win.auto_pad in ("NOTSET", "VALID"):
        begins = win.pads[:n]
        return tuple(sym.sub(f, win.pads[i] + win.pads[i + n]) for i, f in enumerate(full)), begins
    outs: list[Dim] = list(requested)
    if not requested:  # SAME aims at input * stride but, like onnxruntime, never pads.
        for size, f, stride in zip(spatial, full, win.strides, strict=True):
            target = sym.mul(size, stride)
            surplus = sym.sub(f, target)
            outs.append(f if isinstance(surplus, int) and surplus < 0 else target)
    # The surplus of the full result over the wanted size is cropped, the larger half at
    # the start except for SAME_UPPER (onnxruntime's rule); a deficit is zero-filled at
    # the end.
    begin: list[Dim] = []
    for f, o in zip(full, outs, strict=True):
        total = sym.sub(f, o)
        if isinstance(total, int) and total < 0:
            begin.append(0)
        elif win.auto_pad == "SAME_UPPER":
            begin.append(sym.floordiv(total, 2))
        else:
            begin.append(sym.sub(total, sym.floordiv(total, 2)))
    return tuple(outs), tuple(begin)


def _conv_transpose_infer(args: InferArgs) -> Type:
    x, w, win = _conv_window(args, "ConvTranspose")
    if x.dtype not in FLOATS or w.dtype != x.dtype:
        raise OpError(f"ConvTranspose: X and W must share a float dtype, got {x} and {w}")
    group = args.attrs.get_int("group")
    if isinstance(x.shape[1], int) and isinstance(w.shape[0], int) and x.shape[1] != w.shape[0]:
        raise OpError(f"ConvTranspose: X has {x.shape[1]} channels, W expects {w.shape[0]}")
    outs, _ = _transpose_geometry(args.attrs, win, x.shape[2:])
    return TensorType(x.dtype, (x.shape[0], sym.mul(w.shape[1], group), *outs))


def _conv_transpose(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x, w, b = xs[0], xs[1], xs[2] if len(xs) > 2 else None
    assert x is not None and w is not None
    win = window_of(a, w.shape[2:], x.ndim - 2, "ConvTranspose")
    group = a.get_int("group")
    acc = _accumulator(x.dtype)
    n, c, *spatial = x.shape
    mg = w.shape[1]
    k = int(np.prod(win.kernel))
    outs, begins = _transpose_geometry(a, win, spatial)
    # cols[n, g, (m, k), p]: the contribution of input pixel p to kernel offset k.
    w2 = w.astype(acc).reshape(group, c // group, mg * k).transpose(0, 2, 1)
    cols = np.matmul(w2, x.astype(acc).reshape(n, group, c // group, -1))
    cols = cols.reshape(n, group * mg, k, *spatial)
    full = [(s - 1) * win.strides[i] + win.extent(i) for i, s in enumerate(spatial)]
    y = np.zeros((n, group * mg, *full), acc)
    # Scatter-add: the transpose of window_views' gather, one kernel offset at a time.
    for offset, view in enumerate(window_views(y, win, spatial)):
        view += cols[:, :, offset]
    bounds = [(sym.static(bg), sym.static(bg) + sym.static(o))
              for bg, o in zip(begins, outs, strict=True)]
    crop = tuple(slice(lo, hi) for lo, hi in bounds)
    pad_end = [max(0, hi - f) for (_, hi), f in zip(bounds, full, strict=True)]
    if any(pad_end):  # output_padding / output_shape can ask for more than the full result
        y = np.pad(y, [(0, 0), (0, 0), *((0, e) for e in pad_end)])
    y = y[(slice(None), slice(None), *crop)]
    if b is not None:
        y = y + b.astype(acc).reshape(-1, *([1] * len(spatial)))
    return np.ascontiguousarray(y).astype(x.dtype, copy=False)


OPS = (
    OpDef("Conv", _conv_infer, _conv, CONV_ATTRS, min_inputs=2, max_inputs=3),
    OpDef("ConvInteger", _conv_integer_infer, _conv_integer, CONV_ATTRS,
          min_inputs=2, max_inputs=4),
    OpDef("ConvTranspose", _conv_transpose_infer, _conv_transpose, CONV_TRANSPOSE_ATTRS,
          min_inputs=2, max_inputs=3),
)
