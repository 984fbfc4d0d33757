"""ctypes access to a built RTL harness library (npu_rtl_run / npu_rtl_hw_config).

The driver (reference_npu/driver/npu.c) loads the same library for its "rtl"
backend; this thin wrapper lets tests and benchmarks run raw instruction
streams on the RTL without going through a driver context.
"""

from __future__ import annotations

import ctypes
import functools
import pathlib
from dataclasses import dataclass

import numpy as np

from vendor_sdk.sim.abi import HW_FIELDS
from vendor_sdk.sim.abi import HwConfigC as _HwConfig
from vendor_sdk.sim.abi import NpuStatsC as _Stats
from vendor_sdk.sim.build import build_rtl_library
from vendor_sdk.sim.errors import SimError
from vendor_sdk.sim.params import DEFAULT_PARAMS, RtlParams


@dataclass(frozen=True, slots=True)
class RunResult:
    """Counters and stop reason of one RTL run (cycles are measured, not estimated)."""

    cycles: int
    gemm_rows: int
    gemm_busy: int
    ld_busy: int
    st_busy: int
    ex_busy: int
    dma_rd_bytes: int
    dma_wr_bytes: int
    insns: int
    status: int
    error_code: int
    error_pc: int


@functools.cache
def _load(path: pathlib.Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    lib.npu_rtl_run.restype = ctypes.c_int
    lib.npu_rtl_run.argtypes = [ctypes.c_char_p, ctypes.c_uint32, ctypes.c_void_p,
                                ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(_Stats)]
    lib.npu_rtl_hw_config.restype = ctypes.c_int
    lib.npu_rtl_hw_config.argtypes = [ctypes.POINTER(_HwConfig)]
    return lib


class RtlModel:
    """One built configuration of the reference NPU RTL."""

    def __init__(self, params: RtlParams = DEFAULT_PARAMS):
        self.params = params
        self.library = build_rtl_library(params)
        self._lib = _load(self.library)

    def hw_config(self) -> dict[str, int]:
        cfg = _HwConfig()
        if self._lib.npu_rtl_hw_config(ctypes.byref(cfg)) != 0:
            raise SimError("npu_rtl_hw_config failed")
        return {name: int(getattr(cfg, name)) for name in HW_FIELDS}

    def run(self, insns: bytes, dram: np.ndarray, max_cycles: int = 10_000_000) -> RunResult:
        """Runs the program; `dram` (uint8, C-contiguous) is updated in place."""
        if len(insns) % 16:
            raise SimError(f"instruction stream of {len(insns)} bytes is not a multiple of 16")
        if dram.dtype != np.uint8 or not dram.flags.c_contiguous or not dram.flags.writeable:
            raise SimError("dram must be a writeable C-contiguous uint8 array")
        stats = _Stats()
        rc = self._lib.npu_rtl_run(insns, len(insns) // 16, dram.ctypes.data, dram.nbytes,
                                   max_cycles, ctypes.byref(stats))
        if rc < 0:
            raise SimError(f"npu_rtl_run failed before running (rc {rc})")
        return RunResult(**{name: int(getattr(stats, name)) for name in RunResult.__slots__})
