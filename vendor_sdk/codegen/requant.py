"""Fixed-point requantization parameters from QDQ scales.

The NPU requantizes an int32 accumulator ``acc`` (in the scale ``s_in``) to
int8 (scale ``s_out``, zero point ``zp``) as

    y = clamp(zp + round_shift(acc * mult, shift), lo, hi)

with ``round_shift`` rounding halves towards +infinity (reference_npu/README.md,
REQ). The real multiplier ``M`` is written as ``mult * 2**-shift`` with ``mult`` a
31-bit integer in ``[2**30, 2**31)``: ``M = f * 2**e`` with ``f`` in ``[0.5, 1)``
(``math.frexp``), ``mult = round_half_even(f * 2**31)``, ``shift = 31 - e``.

``M`` is onnxruntime's own float32 factor (``ort_scale``: QLinearConv / QLinearMatMul /
QGemm compute ``f32(f32(sx * sw) / sy)``), which 31 bits hold exactly; onnxruntime then
computes ``round_half_even(f32(f32(acc) * M)) + zp``, so what differs is its float32
rounding of the product (a few elements in a million) and exact ties. Add follows
QLinearAdd's integers (``ort_add_multipliers``). docs/compile.md, "Numerics", has the
measurements.

Multipliers that need ``shift > 63`` (``M < 2**-32``) drop low bits of ``mult``
(still exact to within one LSB of the output, which is 0 or -1 for such
tiny factors); ``M >= 2**31`` is an error (no int8 model has it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import VendorSdkError

MAX_SHIFT = 63


class RequantError(VendorSdkError, ValueError):
    """A scale ratio the NPU's (mult, shift) requantization cannot represent."""


@dataclass(frozen=True, slots=True)
class FixedPoint:
    mult: int
    shift: int

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """``round_shift(acc * mult, shift)`` exactly as the NPU computes it (int64)."""
        p = np.asarray(acc, np.int64) * np.int64(self.mult)
        if self.shift == 0:
            return p
        return (p >> self.shift) + ((p >> (self.shift - 1)) & 1)


def fixed_point(real: float) -> FixedPoint:
    """``real ~= mult * 2**-shift`` with a 31-bit ``mult`` (see the module docstring)."""
    if not math.isfinite(real) or real < 0:
        raise RequantError(f"requantization factor {real!r} is not a finite non-negative number")
    if real == 0.0:
        return FixedPoint(0, 0)
    f, e = math.frexp(real)
    mult = round(f * (1 << 31))  # Python's round: half to even
    shift = 31 - e
    if mult == 1 << 31:
        mult, shift = mult >> 1, shift - 1
    if shift < 0:
        raise RequantError(f"requantization factor {real:.6g} >= 2**31 needs a left shift")
    if shift > MAX_SHIFT:
        drop = shift - MAX_SHIFT
        mult = (mult + (1 << (drop - 1))) >> drop
        shift = MAX_SHIFT
    return FixedPoint(int(mult), int(shift))


def requant_reference(acc: np.ndarray, fps: list[FixedPoint], zp: int, lo: int,
                      hi: int, axis: int = -1) -> np.ndarray:
    """The NPU's REQ on ``acc`` with one FixedPoint per channel along ``axis`` (or one)."""
    acc = np.asarray(acc, np.int64)
    moved = np.moveaxis(acc, axis, -1)
    out = np.empty(moved.shape, np.int64)
    for c in range(moved.shape[-1]):
        fp = fps[c] if len(fps) > 1 else fps[0]
        out[..., c] = fp.apply(moved[..., c])
    y = np.clip(np.clip(out + zp, lo, hi), -128, 127)
    return np.moveaxis(y, -1, axis).astype(np.int8)


# onnxruntime's QLinearAdd (what DQ -> Add -> Q fuses to at its default optimization
# level) computes in integers on x86 (MLAS qladd.cpp): the float32 ratios
# ``ra = f32(sa) / f32(sy)``, ``rb = f32(sb) / f32(sy)``, ``shift = 21 - exponent(max(ra,
# rb))`` (so the larger multiplier has 22 bits), ``Ma = rint_half_even(ra * 2**shift)``,
# ``Mb`` alike, then ``zy + round_half_away((a - za) Ma + (b - zb) Mb, shift)``. Using the
# same integers reproduces it exactly except on a negative exact tie (the NPU rounds half
# up), which needs ``acc = -2**(shift-1) (mod 2**shift)``: rare, see docs/compile.md.
ORT_ADD_SHIFTS = (13, 31)


@dataclass(frozen=True, slots=True)
class AddMultipliers:
    ma: int
    mb: int
    shift: int

    @property
    def requant(self) -> FixedPoint:
        """``round_half_up(acc * 2**-shift)`` as a (mult, shift) in the usual range."""
        return FixedPoint(1 << 30, self.shift + 30)


def ort_add_multipliers(sa: float, sb: float, sy: float) -> AddMultipliers | None:
    """onnxruntime's QLinearAdd integers for ``y = (sa (a - za) + sb (b - zb)) / sy``;
    None when its ratios leave the range its kernel handles (``shift`` in [13, 31])."""
    f32 = np.float32
    ra, rb = f32(sa) / f32(sy), f32(sb) / f32(sy)  # float32 division, as onnxruntime's
    big = max(ra, rb)
    if not (np.isfinite(big) and big > 0):
        return None
    exponent = int(np.frexp(big)[1]) - 1    # the float's unbiased exponent: big in [2^e, 2^e+1)
    shift = 21 - exponent
    if not ORT_ADD_SHIFTS[0] <= shift <= ORT_ADD_SHIFTS[1]:
        return None
    scale = f32(2.0 ** shift)
    # ra * 2**shift is exact in float32; lrintf rounds half to even like np.rint
    ma, mb = (int(np.rint(f32(r) * scale)) for r in (ra, rb))
    return AddMultipliers(ma, mb, shift)


def ort_scale(sx: float, sw: float, sy: float) -> float:
    """The requantization factor as onnxruntime's QLinearConv / QLinearMatMul / QGemm compute
    it, ``f32(f32(sx * sw) / sy)``: its float32 rounding moves ``M`` by up to 2**-24
    relative, which flips a few elements in a million; (mult, shift) from this value
    represent it exactly (24 significant bits), leaving only onnxruntime's float32 product
    ``f32(acc) * M`` rounding (about 4 elements in a million, docs/compile.md)."""
    f32 = np.float32
    return float(f32(f32(sx) * f32(sw)) / f32(sy))
