"""numpy models of single instructions, written from reference_npu/README.md,
used as the oracle of the cocotb unit tests (independent of fsim)."""

from __future__ import annotations

import numpy as np


def wrap32(v: np.ndarray) -> np.ndarray:
    return (((np.asarray(v, dtype=np.int64) + 2**31) % 2**32) - 2**31).astype(np.int32)


def round_shift(p: int, s: int) -> int:
    """floor(p / 2^s) rounded half up, as an exact integer."""
    return p if s == 0 else (p + (1 << (s - 1))) >> s


def alu(op: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x64, y64 = x.astype(np.int64), y.astype(np.int64)
    if op == 0:
        return wrap32(x64 + y64)
    if op == 1:
        return wrap32(x64 - y64)
    if op == 2:
        return np.maximum(x, y)
    if op == 3:
        return np.minimum(x, y)
    if op == 4:
        return wrap32(x64 * y64)
    if op == 5:
        return np.array([round_shift(int(a), int(b) & 31) for a, b in zip(x, y, strict=True)],
                        dtype=np.int32)
    if op == 6:
        return wrap32(np.array([(int(a) << (int(b) & 31)) & 0xFFFFFFFF
                                for a, b in zip(x, y, strict=True)], dtype=np.int64))
    return y.astype(np.int32)


def requant(acc: int, mult: int, shift: int, zp: int, lo: int, hi: int) -> int:
    v = zp + round_shift(acc * mult, shift & 63)
    v = min(max(v, lo), hi)
    return min(max(v, -128), 127)


def padded_box(src: np.ndarray, y_pad: tuple[int, int], x_pad: tuple[int, int],
               pad: int) -> np.ndarray:
    """src[y, x, lane] surrounded by pad cells, as LOAD writes it row-major into SRAM."""
    return np.pad(src, ((y_pad[0], y_pad[1]), (x_pad[0], x_pad[1]), (0, 0)),
                  constant_values=pad)
