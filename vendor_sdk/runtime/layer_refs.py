"""Integer references of the NPU layers, in numpy, from the layers' own analysis.

What each layer must give bit for bit, on its logical int8 inputs (NCHW / [.., K]),
computed without the tensor program, the tensorizer or the generated C:

- Conv / MatMul / Gemm (``codegen.layers.Layer``): the int32 accumulation
  ``bias + sum x w`` (the input zero point is folded into the bias, spatial padding
  reads it), requantized by the layer's (mult, shift) per channel. The sums run in
  floats through BLAS, float32 while every partial sum stays below 2**24 and float64
  (2**53) beyond: all partial sums are integers the type holds exactly.
- Add (``codegen.elementwise.EltLayer``): ``(a - za) Ma + (b - zb) Mb`` (a constant
  ``b`` folded per channel), requantized per tensor; a lone Relu / Clip is ``(a - za) Ma``
  requantized with the activation as the clamp.
- MaxPool: the running max over the window, padding reads -128, clamped to [lo, hi].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vendor_sdk.codegen.elementwise import EltLayer
from vendor_sdk.codegen.layers import Layer
from vendor_sdk.codegen.requant import requant_reference


class NoReference(Exception):
    """A layer kind without an integer reference here: the check cannot vouch for it."""


def layer_reference(layer: Layer | EltLayer, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The int8 result the NPU must store for ``layer`` on ``inputs`` (its variable inputs
    in the order of ``EltLayer.inputs``; a GEMM layer takes one)."""
    if isinstance(layer, Layer):
        return gemm_reference(layer, inputs[0])
    if layer.op == "MaxPool":
        return maxpool_reference(layer, inputs[0])
    if layer.op in ("Add", "Sum", "Relu", "Clip"):  # a lone activation: Add without b
        return add_reference(layer, inputs)
    raise NoReference(f"{layer.name}: no integer reference for a {layer.op} layer "
                      "(vendor_sdk/runtime/layer_refs.py)")


def gemm_reference(layer: Layer, x: np.ndarray) -> np.ndarray:
    w = layer.weight.astype(np.float64)
    mult = np.array([fp.mult for fp in layer.requant], np.int64)
    shift = np.array([fp.shift for fp in layer.requant], np.int64)
    if layer.op == "MatMul":
        k = x.shape[-1]
        acc = np.rint(x.astype(_exact(k)) @ w[:k].astype(_exact(k))).astype(np.int64)
        y = requantize(acc + layer.bias, mult, shift, layer)
        return y[..., :int(layer.out_shape[-1])]
    if "co_s" in layer.conv or x.ndim == 3:  # grouped (per super-group) or 1-D conv
        from vendor_sdk.codegen.layers import reference

        return reference(layer, x)
    kh, kw = layer.conv["kernel"]
    n, cin = x.shape[:2]
    cip = w.shape[0] // (kh * kw)
    w3 = w.reshape(kh, kw, cip, -1)[:, :, :cin, :].reshape(kh * kw * cin, -1)
    (sh, sw), (dh, dw), p = layer.conv["strides"], layer.conv["dilations"], layer.conv["pads"]
    oh, ow = int(layer.out_shape[2]), int(layer.out_shape[3])
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])),
                constant_values=layer.x_zp).transpose(0, 2, 3, 1)
    # columns (n, oh, ow, kh, kw, c): the packed weight's (kh, kw, ci) order; one GEMM
    cols = np.stack([xp[:, r * dh:r * dh + sh * (oh - 1) + 1:sh,
                        s * dw:s * dw + sw * (ow - 1) + 1:sw, :]
                     for r in range(kh) for s in range(kw)], axis=3)
    ft = _exact(w3.shape[0])
    acc = np.rint(cols.reshape(n * oh * ow, -1).astype(ft) @ w3.astype(ft)).astype(np.int64)
    y = requantize(acc + layer.bias, mult, shift, layer)
    return y.reshape(n, oh, ow, -1)[..., :int(layer.out_shape[1])].transpose(0, 3, 1, 2)


def _exact(k: int) -> type:
    """A float type whose sums of ``k`` int8 products are exact integers: float32 up to
    2**24 (K <= 1024: |sum| <= 1024 * 128 * 128), else float64 (2**53)."""
    return np.float32 if k * 128 * 128 <= 1 << 24 else np.float64


def requantize(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray,
               layer: Layer | EltLayer) -> np.ndarray:
    """``clamp(zp + round_half_up(acc * mult / 2**shift), lo, hi)`` per channel (the last
    axis), in int64: |acc * mult| < 2**62."""
    prod = acc * mult
    up = (prod >> np.maximum(shift - 1, 0)) & 1
    q = np.where(shift > 0, (prod >> shift) + up, prod)
    return np.clip(q + layer.out_zp, max(layer.lo, -128), min(layer.hi, 127)).astype(np.int8)


def add_reference(layer: EltLayer, inputs: Sequence[np.ndarray]) -> np.ndarray:
    za, zb = layer.zps
    ma, mb = layer.mults
    a = inputs[0].astype(np.int64)
    acc = (a - za) * ma
    # A lone Relu / Clip has one operand: its clamp is the requantization's [lo, hi].
    if layer.op in ("Add", "Sum") and layer.b_const is not None:  # constant operand, folded
        chans = a.shape[1] if a.ndim == 4 else a.shape[-1]
        bc = layer.b_const[:chans].astype(np.int64)
        acc = acc + (bc.reshape(-1, 1, 1) if a.ndim == 4 else bc)
    elif layer.op in ("Add", "Sum"):
        acc = acc + (inputs[1].astype(np.int64) - zb) * mb
    return requant_reference(acc, list(layer.requant), layer.out_zp, layer.lo, layer.hi)


def maxpool_reference(layer: EltLayer, x: np.ndarray) -> np.ndarray:
    kh, kw = layer.pool["kernel"]
    sh, sw = layer.pool["strides"]
    p = layer.pool["pads"]
    oh, ow = int(layer.out_shape[2]), int(layer.out_shape[3])
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])),
                constant_values=-128)
    y = np.full((*x.shape[:2], oh, ow), -128, np.int64)
    for r in range(kh):
        for s in range(kw):
            tap = xp[:, :, r:r + sh * (oh - 1) + 1:sh, s:s + sw * (ow - 1) + 1:sw]
            y = np.maximum(y, tap[:, :, :oh, :ow])
    return np.clip(y, layer.lo, layer.hi).astype(np.int8)
