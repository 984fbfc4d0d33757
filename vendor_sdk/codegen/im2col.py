"""Host-made im2col patches for convolutions over few input channels.

On the NPU an activation row is k channels of one pixel (k: the GEMM intrinsic's input
lanes, codegen.tiling), so a conv over C << k channels (a first layer: RGB) reduces over
kh * kw taps of k lanes of which C are real: 3x3 over 3 channels at k = 16 is 144
reduction lanes for 27 values. When the
conv's input comes from the host (a region input: the host converts its layout anyway),
the host can lay it out as im2col patches instead: row (n, oh, ow) holds the window's
taps (kh, kw, c) packed, K' = kh * kw * C padded to the channel multiple, and the layer
becomes a dense GEMM — on the code generator's side a 1x1 conv over a [N, K', OH, OW] input, so the
tensorizer, the bias fill and the requantization epilogue are the ones every conv uses.

Which mapping runs is decided per layer from its analysis: the patches must save
reduction steps (ceil(kh kw C / k) < kh kw ceil(C / k)), and the tensorizer's cost
model must rate the patch GEMM cheaper than the direct conv.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from core.tir.expr import Expr
from vendor_sdk.codegen.layers import Layer, pad_to, program
from vendor_sdk.codegen.tiling import Tiling
from vendor_sdk.intrinsics.tensorize import TensorizeResult, auto_tensorize
from vendor_sdk.target import Target


@dataclass(frozen=True, slots=True)
class Patches:
    """The im2col layout of a conv input in DRAM: ``[N, OH, OW, k]`` int8, row (n, oh, ow)
    holding input pixel ``(oh * sh + r * dh - pad_top, ow * sw + s * dw - pad_left)``,
    channel c at lane ``(r * kw + s) * channels + c``; lanes past ``kh * kw * channels``
    are 0 (their weights are 0), taps outside the image read ``pad_value`` (the input
    zero point, what the conv's spatial padding reads)."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]   # ONNX order: top, left, bottom, right
    channels: int
    out_hw: tuple[int, int]
    k: int                            # lanes per row: kh * kw * channels, padded
    pad_value: int

    def describe(self) -> str:
        (kh, kw), (sh, sw) = self.kernel, self.strides
        return (f"im2col patches of a {kh}x{kw}/{sh}x{sw} window over {self.channels} channels "
                f"(pads {list(self.pads)}, dilations {list(self.dilations)}, pad value "
                f"{self.pad_value}): row (n, oh, ow), lane (kh, kw, c), "
                f"{kh * kw * self.channels} -> {self.k} lanes")

    def gather(self, x: np.ndarray) -> np.ndarray:
        """Logical int8 NCHW input -> the ``[N, OH, OW, k]`` patches (host side)."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.strides, self.dilations
        (oh, ow), (pt, pl, pb, pr) = self.out_hw, self.pads
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"im2col input: expected [N, {self.channels}, H, W], got "
                             f"{list(x.shape)}")
        xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=self.pad_value)
        taps = [xp[:, :, r * dh:r * dh + sh * (oh - 1) + 1:sh, s * dw:s * dw + sw * (ow - 1) + 1:sw]
                for r in range(kh) for s in range(kw)]
        rows = np.stack(taps, axis=1).transpose(0, 3, 4, 1, 2)  # [N, OH, OW, taps, C]
        rows = rows.reshape(x.shape[0], oh, ow, kh * kw * self.channels)
        out = np.zeros((x.shape[0], oh, ow, self.k), x.dtype)
        out[..., :rows.shape[-1]] = rows
        return out


@dataclass(frozen=True)
class InputMapping:
    """The mapping a conv layer runs with: ``gemm`` is the layer the tensorizer and the
    constants see (the layer itself, or its 1x1 view over patches), ``layout`` the input
    slot's layout (None: channel-last), ``why`` the decision for the explain text."""

    gemm: Layer
    layout: Patches | None
    result: TensorizeResult | None
    why: str


def patches_of(layer: Layer, ch: int) -> Patches:
    kh, kw = layer.conv["kernel"]
    c = int(layer.in_shape[1])
    return Patches(tuple(layer.conv["kernel"]), tuple(layer.conv["strides"]),
                   tuple(layer.conv["dilations"]), tuple(layer.conv["pads"]),
                   c, (int(layer.out_shape[2]), int(layer.out_shape[3])),
                   pad_to(kh * kw * c, ch), layer.x_zp)


def patch_view(layer: Layer, p: Patches) -> Layer:
    """The conv as a 1x1 conv over the patches: weights repacked to ``[k, Np]`` in the
    patches' lane order. The folded bias stays: it subtracts ``zx * sum w`` over the same
    real weights, and the pad lanes meet zero weights."""
    kh, kw = p.kernel
    npad = layer.weight.shape[1]
    cip = layer.weight.shape[0] // (kh * kw)
    w = layer.weight.reshape(kh, kw, cip, npad)[:, :, :p.channels, :]
    packed = np.zeros((p.k, npad), np.int8)
    packed[:kh * kw * p.channels] = w.reshape(kh * kw * p.channels, npad)
    one = {"kernel": (1, 1), "strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
           "ceil_mode": False}
    n = layer.in_shape[0]
    return replace(layer, in_shape=(n, p.k, *p.out_hw), weight=packed, conv=one)


def reduction_steps(layer: Layer, p: Patches, tiling: Tiling) -> tuple[int, int]:
    """Reduction steps (of the GEMM's k input lanes) per output row: (direct, patches)."""
    kh, kw = p.kernel
    return kh * kw * (pad_to(p.channels, tiling.channels) // tiling.k), p.k // tiling.k


def choose_input(layer: Layer, target: Target, tiling: Tiling, batch: Expr,
                 hints: Mapping[str, int]) -> InputMapping:
    """Direct conv over channel-last input, or a GEMM over host-made patches: the patches
    when they save reduction steps and the cost model rates them cheaper."""
    if "group" in layer.conv:  # patches hold every channel of a tap: not a group's rows
        return InputMapping(layer, None, None, "input channel-last: grouped conv")
    if len(layer.in_shape) != 4:
        return InputMapping(layer, None, None, "input channel-last: 1-D conv")
    p = patches_of(layer, tiling.channels)
    direct, packed = reduction_steps(layer, p, tiling)
    if packed >= direct:
        return InputMapping(layer, None, None, f"input channel-last: im2col patches would "
                            f"take {packed} reduction steps per row, the conv {direct}")
    view = patch_view(layer, p)
    sizes = dict(hints)
    conv = auto_tensorize(program(layer, tiling, batch), target, sizes=sizes)
    gemm = auto_tensorize(program(view, tiling, batch), target, sizes=sizes)
    if not gemm.ok or gemm.estimate is None:
        return InputMapping(layer, None, conv, "input channel-last: the patch GEMM does not "
                            "tensorize")
    if not conv.ok or conv.estimate is None or gemm.estimate.cycles < conv.estimate.cycles:
        cost = (f"modelled {gemm.estimate.cycles:,.0f} vs {conv.estimate.cycles:,.0f} cycles"
                if conv.ok and conv.estimate else "the conv does not tensorize")
        return InputMapping(view, p, gemm, f"input im2col (host): {packed} reduction steps "
                            f"per row instead of {direct}, {cost}")
    return InputMapping(layer, None, conv, f"input channel-last: im2col patches modelled "
                        f"{gemm.estimate.cycles:,.0f} vs {conv.estimate.cycles:,.0f} cycles")
