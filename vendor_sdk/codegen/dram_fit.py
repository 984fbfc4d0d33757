"""Whether a compiled model fits the NPU's DRAM, decided at compile time.

The runtime places every region's constants blob and every region's DRAM buffers in one
DRAM image (a bump allocator, vendor_sdk/runtime/npu.py), so a model whose weights are
larger than the chip's DRAM (VGG-19's fc6: 103 MB against 64 MB) cannot run as
partitioned. A target that declares ``DRAM_BYTES`` in its params gets the check: when the
footprint does not fit, the layer with the most constants goes back to the host with the
reason (CompositeError), and the compiler partitions again, until it fits. A target that
does not declare it is not checked (its runtime still refuses an allocation that does
not fit, as a clean error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core import symbolic as sym
from vendor_sdk.codegen.perf import record_bytes
from vendor_sdk.codegen.region import CompositeError, RegionCode
from vendor_sdk.target import Target

DRAM_PARAM = "DRAM_BYTES"
DRAM_FIRST = 64   # the driver's allocator starts here (address 0 is never handed out)
DRAM_ALIGN = 64   # every allocation of the runtime is 64-byte aligned


def dram_capacity(target: Target) -> int | None:
    """The DRAM bytes the target declares, or None."""
    value = getattr(target, "params", {}).get(DRAM_PARAM)
    return None if value is None else int(value)


def _aligned(n: int) -> int:
    return -(-max(n, DRAM_ALIGN) // DRAM_ALIGN) * DRAM_ALIGN


def footprint(codes: Sequence[RegionCode], hints: Mapping[str, int], record: int) -> int:
    """DRAM bytes the runtime allocates for these regions at the hinted sizes (1 for an
    unhinted symbol): as NpuSession does, constants then buffers, each aligned; ``record``
    is the bytes of one counter record."""
    total = DRAM_FIRST
    for r in codes:
        if r.consts:
            total += _aligned(len(r.consts))
        for s in r.slots:
            shape = [d if isinstance(d, int) else
                     int(sym.evaluate(d, {v: hints.get(v, 1) for v in sym.free_vars(d)}))
                     for d in s.npu_shape]
            total += _aligned(int(np.prod(shape)))
        if r.perf_records is not None:
            total += _aligned(record * r.perf_records)
    return total


def check_dram(codes: Sequence[RegionCode], target: Target, hints: Mapping[str, int]) -> None:
    """Raise CompositeError for the layer with the most constants when the regions do not
    fit the target's declared DRAM."""
    cap = dram_capacity(target)
    if cap is None:
        return
    need = footprint(codes, hints, record_bytes(target))
    if need <= cap:
        return
    layers = [lc for r in codes for lc in r.layers if lc.composite]
    if not layers:
        return
    big = max(layers, key=lambda lc: lc.const_bytes)
    raise CompositeError(
        big.composite, big.nodes,
        f"the NPU regions need {_size(need)} of DRAM, the target's {DRAM_PARAM} is "
        f"{_size(cap)}; this layer has the most constants ({_size(big.const_bytes)}), so it "
        "runs on the host")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"
