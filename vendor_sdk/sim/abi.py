"""The NPU contract's C structs (reference_npu/driver/npu_types.h), mirrored once for ctypes.

Every harness behind the fixed top-level contract fills these, so the SDK's
RTL wrapper and the reference driver's bindings share one Python definition;
tests/reference_npu/test_abi.py checks it against the C compiler's layout.
"""

from __future__ import annotations

import ctypes

COUNTERS = ("cycles", "gemm_rows", "gemm_busy", "ld_busy", "st_busy", "ex_busy",
            "dma_rd_bytes", "dma_wr_bytes", "insns")
HW_FIELDS = ("dim", "inp_rows", "wgt_rows", "acc_rows", "out_rows", "qp_rows", "lut_rows",
             "token_depth", "insn_queue_depth")


class NpuStatsC(ctypes.Structure):
    """``npu_stats``: counters, then the stop reason."""

    _fields_ = [
        *((name, ctypes.c_uint64) for name in COUNTERS),
        ("status", ctypes.c_uint32),
        ("error_code", ctypes.c_uint32),
        ("error_pc", ctypes.c_uint32),
        ("cycles_are_estimate", ctypes.c_int),
    ]


class HwConfigC(ctypes.Structure):
    """``npu_hw_config``: what the hardware reports about itself."""

    _fields_ = [(name, ctypes.c_uint32) for name in HW_FIELDS]
