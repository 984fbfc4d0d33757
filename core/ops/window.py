"""Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops.

Attribute conventions (the ONNX ones): ``kernel_shape``, ``strides``,
``dilations`` and ``pads`` may be empty, meaning "the ONNX default" (kernel from
the weight, ones, ones, zeros); ``pads`` is ``(begin..., end...)``.
:func:`window_of` resolves them into a :class:`Window` with explicit values,
which is also what later stages should use instead of re-deriving defaults.

Output extents are computed with :mod:`core.symbolic` so that symbolic spatial
dims flow through. Concrete padding for ``auto_pad=SAME_*`` depends on the
input extent and is only resolved at run time (:func:`concrete_pads`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.registry import AttrSpec, OpError
from core.symbolic import Dim

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")

WINDOW_ATTRS = {
    "auto_pad": AttrSpec("str", "NOTSET"),
    "kernel_shape": AttrSpec("ints", ()),
    "strides": AttrSpec("ints", ()),
    "dilations": AttrSpec("ints", ()),
    "pads": AttrSpec("ints", ()),
}


@dataclass(frozen=True, slots=True)
class Window:
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[int, ...]  # begin..., end...; all zero unless auto_pad is NOTSET
    auto_pad: str
    ceil_mode: bool = False

    @property
    def rank(self) -> int:
        return len(self.kernel)

    def extent(self, i: int) -> int:
        """How many input elements one (dilated) window spans along spatial axis ``i``."""
        return (self.kernel[i] - 1) * self.dilations[i] + 1


def _ints(attrs: Attrs, name: str, n: int, default: int, op: str) -> tuple[int, ...]:
    raw = attrs.get_ints(name, ())
    if not raw:
        return (default,) * n
    if len(raw) != n:
        raise OpError(f"{op}: {name} has {len(raw)} values, expected {n}")
    return raw


def window_of(attrs: Attrs, kernel_from_weight: Sequence[Dim] | None, n: int, op: str) -> Window:
    """Resolve window attributes for ``n`` spatial axes into explicit values."""
    kernel = attrs.get_ints("kernel_shape", ())
    if not kernel:
        if kernel_from_weight is None:
            raise OpError(f"{op}: attribute 'kernel_shape' is required")
        if not sym.is_static(tuple(kernel_from_weight)):
            raise OpError(f"{op}: the weight's spatial dims must be static without kernel_shape")
        kernel = tuple(sym.static(k) for k in kernel_from_weight)
    if len(kernel) != n:
        raise OpError(f"{op}: kernel_shape has {len(kernel)} values for {n} spatial axes")
    if kernel_from_weight is not None:
        for k, wk in zip(kernel, kernel_from_weight, strict=True):
            if isinstance(wk, int) and k != wk:
                raise OpError(f"{op}: kernel_shape {kernel} differs from the weight's "
                              f"{tuple(map(str, kernel_from_weight))}")
    strides = _ints(attrs, "strides", n, 1, op)
    dilations = _ints(attrs, "dilations", n, 1, op)
    auto_pad = str(attrs.get("auto_pad", "NOTSET"))
    if auto_pad not in AUTO_PADS:
        raise OpError(f"{op}: auto_pad '{auto_pad}' is not one of {', '.join(AUTO_PADS)}")
    pads = _ints(attrs, "pads", 2 * n, 0, op) if auto_pad == "NOTSET" else (0,) * (2 * n)
    if min(kernel) < 1 or min(strides) < 1 or min(dilations) < 1 or min(pads, default=0) < 0:
        raise OpError(f"{op}: kernel, strides and dilations must be >= 1 and pads >= 0")
    return Window(kernel, strides, dilations, pads, auto_pad, bool(attrs.get("ceil_mode", 0)))


def _ceil_div(a: Dim, b: int) -> Dim:
    return sym.floordiv(sym.add(a, b - 1), b)


def output_dims(w: Window, spatial: Sequence[Dim]) -> tuple[Dim, ...]:
    """Output extents of a sliding window over ``spatial`` (symbolic where the input is)."""
    out: list[Dim] = []
    for i, size in enumerate(spatial):
        s = w.strides[i]
        if w.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(_ceil_div(size, s))
            continue
        begin, end = w.pads[i], w.pads[i + w.rank]
        span = sym.sub(sym.add(size, begin + end), w.extent(i))  # room left after one window
        if isinstance(span, int) and span < 0:
            raise OpError(f"window of extent {w.extent(i)} does not fit spatial axis {i} "
                          f"of size {size} with pads ({begin}, {end})")
        if not w.ceil_mode:
            out.append(sym.add(sym.floordiv(span, s), 1))
            continue
        # Ceil mode may add a window; like onnxruntime, drop it when it would start in
        # the end padding: the last window must start before size + begin.
        ceil = sym.add(_ceil_div(span, s), 1)
        out.append(sym.smin(ceil, sym.add(sym.floordiv(sym.add(size, begin - 1), s), 1)))
    return tuple(out)


def concrete_pads(w: Window, spatial: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """(begin, end) padding per spatial axis for concrete input extents."""
    if w.auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        return tuple((w.pads[i], w.pads[i + w.rank]) for i in range(w.rank))
    pads = []
    for i, size in enumerate(spatial):
        out = -(-size // w.strides[i])
        needed = max(0, (out - 1) * w.strides[i] + w.extent(i) - size)
        # SAME_UPPER puts the odd element of padding at the end, SAME_LOWER at the start.
        begin = needed // 2 if w.auto_pad == "SAME_UPPER" else (needed + 1) // 2
        pads.append((begin, needed - begin))
    return tuple(pads)


def pad_for_windows(x: np.ndarray, w: Window, out: Sequence[int], fill: float | int
                    ) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """Pad the last ``w.rank`` axes so every window fits; also return the padding used.

    Beyond the requested padding, ceil mode can need extra elements at the end;
    they get ``fill`` too and are *not* part of the returned padding, so average
    pooling can tell real padding from this overhang.
    """
    spatial = x.shape[x.ndim - w.rank:]
    pads = concrete_pads(w, spatial)
    widths = [(0, 0)] * (x.ndim - w.rank)
    for i, (begin, end) in enumerate(pads):
        needed = (out[i] - 1) * w.strides[i] + w.extent(i)
        widths.append((begin, max(end, needed - begin - spatial[i])))
    if any(a or b for a, b in widths):
        x = np.pad(x, widths, constant_values=fill)
    return x, pads


def window_views(xp: np.ndarray, w: Window, out: Sequence[int]) -> Iterator[np.ndarray]:
    """One strided view per kernel offset (row-major over the kernel): element ``o`` of the
    view for offset ``k`` is input element ``o * stride + k * dilation``.

    Looping over kernel offsets instead of output pixels keeps every step vectorized.
    """
    lead = (slice(None),) * (xp.ndim - w.rank)
    for offset in itertools.product(*(range(k) for k in w.kernel)):
        index = tuple(
            slice(k * w.dilations[i], k * w.dilations[i] + (out[i] - 1) * w.strides[i] + 1,
                  w.strides[i])
            for i, k in enumerate(offset)
        )
        yield xp[lead + index]
