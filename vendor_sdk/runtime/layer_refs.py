"""Integer references of the NPU layers, in numpy, from the layers' own analysis.

What each layer must give bit for bit, on its logical int8 inputs (NCHW / [.., K]),
computed without the tensor program, the tensorizer or the generated C:

- Conv / MatMul / Gemm (``codegen.layers.Layer``): the int32 accumulation
  ``bias + sum x w`` (the input zero point is folded into the bias, spatial padding
  reads it), requantized by the layer's (mult, shift) per channel. The sums run in
  float64 through BLAS: every partial sum is an integer below 2**53, so it is exact.
- Add (``codegen.elementwise.EltLayer``): ``(a - za) Ma + (b - zb) Mb`` (a constant
  ``b`` folded per channel), requantized per tensor.
- MaxPool: the running max over the window, padding reads -128, clamped to [lo, hi].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vendor_sdk.codegen.elementwise import EltLayer
from vendor_sdk.codegen.layers import Layer
from vendor_sdk.codegen.requant import requant_reference


def layer_reference(layer: Layer | EltLayer, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The int8 result the NPU must store for ``layer`` on ``inputs`` (its variable inputs
    in the order of ``EltLayer.inputs``; a GEMM layer takes one)."""
    if isinstance(layer, EltLayer):
        return maxpool_reference(layer, inputs[0]) if layer.op == "MaxPool" else \
            add_reference(layer, inputs)
    return gemm_reference(layer, inputs[0])


def gemm_reference(layer: Layer, x: np.ndarray) -> np.ndarray:
    xf = x.astype(np.float64)
    w = layer.weight.astype(np.float64)
    if layer.op == "MatMul":
        k = x.shape[-1]
        acc = xf @ w[:k] + layer.bias
        co = int(layer.out_shape[-1])
        y = requant_reference(np.rint(acc).astype(np.int64), list(layer.requant),
                              layer.out_zp, layer.lo, layer.hi, axis=-1)
        return y[..., :co]
    if "co_s" in layer.conv or x.ndim == 3:  # grouped (super-groups) or 1-D: exact int64
        from vendor_sdk.codegen.layers import reference

        return reference(layer, x)
    kh, kw = layer.conv["kernel"]
    n, cin = x.shape[:2]
    cip = w.shape[0] // (kh * kw)
    w4 = w.reshape(kh, kw, cip, -1)[:, :, :cin, :]
    (sh, sw), (dh, dw), p = layer.conv["strides"], layer.conv["dilations"], layer.conv["pads"]
    oh, ow = int(layer.out_shape[2]), int(layer.out_shape[3])
    xp = np.pad(xf, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])),
                constant_values=float(layer.x_zp))
    acc = np.broadcast_to(layer.bias.astype(np.float64), (n, oh, ow, w.shape[1])).copy()
    for r in range(kh):
        for s in range(kw):
            patch = xp[:, :, r * dh:r * dh + sh * (oh - 1) + 1:sh,
                       s * dw:s * dw + sw * (ow - 1) + 1:sw]
            acc += np.tensordot(patch, w4[r, s], axes=([1], [0]))
    y = requant_reference(np.rint(acc).astype(np.int64).transpose(0, 3, 1, 2),
                          list(layer.requant), layer.out_zp, layer.lo, layer.hi, axis=1)
    return y[:, :int(layer.out_shape[1])]


def add_reference(layer: EltLayer, inputs: Sequence[np.ndarray]) -> np.ndarray:
    za, zb = layer.zps
    ma, mb = layer.mults
    a = inputs[0].astype(np.int64)
    acc = (a - za) * ma
    if layer.b_const is not None:
        chans = a.shape[1] if a.ndim == 4 else a.shape[-1]
        bc = layer.b_const[:chans].astype(np.int64)
        acc = acc + (bc.reshape(-1, 1, 1) if a.ndim == 4 else bc)
    else:
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
