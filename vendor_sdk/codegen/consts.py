"""The constants blob of a region and the tables in it: requantization descriptors (one
per row of accumulator channels) and the per-row multipliers of element-wise layers.
Weights and biases are laid out by vendor_sdk.codegen.layers.
"""

from __future__ import annotations

import numpy as np

from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.elementwise import EltLayer
from vendor_sdk.codegen.intrinsic_roles import RequantForm
from vendor_sdk.codegen.layers import Layer
from vendor_sdk.codegen.memories import memory_of
from vendor_sdk.target import Target

CONST_ALIGN = 64


class Consts:
    """The region's constants, each at a multiple of CONST_ALIGN bytes (little-endian)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, arr: np.ndarray) -> int:
        off = self.size
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        pad = -len(data) % CONST_ALIGN
        self.parts.append(data + b"\0" * pad)
        self.size += len(data) + pad
        return off


def descriptor_shape(target: Target, where: str) -> tuple[int, int]:
    """(channels per descriptor: an accumulator row, lanes of a param-memory row)."""
    lanes = memory_of(target, "accumulator").row_elems
    qp = memory_of(target, "param")
    if qp.row_elems < max(lanes, 3):
        raise CodegenError(f"{where}: a row of the param memory {qp.name} holds "
                           f"{qp.row_elems} lanes, a descriptor row needs one per accumulator "
                           f"lane ({lanes}) and 3 (zp, lo, hi); hint: widen {qp.name}")
    return lanes, qp.row_elems


def qp_table(layer: Layer, form: RequantForm, lanes: int, width: int) -> np.ndarray:
    """Descriptors, one per ``lanes`` channels (a row of the accumulator), rows of
    ``width``: [mult], [shift], [zp, lo, hi] (declaration order of the descriptor
    params: the first two are rows, the rest lanes of the third)."""
    if form.mode != "half_up":
        raise CodegenError(f"{form.intrinsic}: rounding {form.mode}; the SDK derives "
                           "(mult, shift) for half_up")
    blocks = layer.weight.shape[1] // lanes
    t = np.zeros((blocks, 3, width), np.int32)
    mult = np.array([fp.mult for fp in layer.requant], np.int64)
    shift = np.array([fp.shift for fp in layer.requant], np.int64)
    values = {form.mult: mult, form.shift: shift, form.zp: layer.out_zp, form.lo: layer.lo,
              form.hi: layer.hi}
    for slot, p in enumerate(form.descriptor):
        v = values[p]
        if slot < 2:
            t[:, slot, :lanes] = np.asarray(v).reshape(blocks, lanes)
        else:
            t[:, 2, slot - 2] = v
    return t


def mult_rows(elt: EltLayer, lanes: int) -> np.ndarray:
    return np.repeat(np.array(elt.mults, np.int32)[:, None], lanes, axis=1)


def elt_qp_table(elt: EltLayer, form: RequantForm, lanes: int, width: int,
                 blocks: int) -> np.ndarray:
    """Per-tensor descriptors, repeated for each block of ``lanes`` channels."""
    fp = elt.requant[0]
    values = {form.mult: fp.mult, form.shift: fp.shift, form.zp: elt.out_zp, form.lo: elt.lo,
              form.hi: elt.hi}
    t = np.zeros((blocks, 3, width), np.int32)
    for slot, p in enumerate(form.descriptor):
        if slot < 2:
            t[:, slot, :lanes] = values[p]
        else:
            t[:, 2, slot - 2] = values[p]
    return t
