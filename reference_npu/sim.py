"""The reference NPU's simulation pieces: its RTL files, parameter sweeps, the npu_types.h
structs for ctypes, its cocotb design and raw-program access to its RTL harness library.

vendor-sdk itself builds and runs the RTL only from target.yaml `sim.rtl`
(vendor_sdk.sim.rtl) and the runtime library (vsdk_device.h); what is here serves the
reference's own tests, check-intrinsics' replay on this harness, and benchmarks that
sweep hardware parameters the target.yaml does not declare (bus width, memory latency).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import pathlib
from dataclasses import dataclass

import numpy as np

from reference_npu import DRIVER_DIR, PACKAGE_DIR, RTL_DIR
from vendor_sdk.sim.cocotb_run import CocotbDesign
from vendor_sdk.sim.errors import SimError
from vendor_sdk.sim.rtl import build_rtl_library
from vendor_sdk.target import Target, load_target

HARNESS_DIR = DRIVER_DIR / "rtl_harness"
SIM_TOP = "npu_sim_top"
_PACKAGES = ("npu_isa_pkg.sv", "npu_pkg.sv")  # before their users (Verilator needs that)

# npu_types.h, mirrored once for ctypes (tests/reference_npu/test_abi.py checks the layout).
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


def rtl_sources(rtl_dir: pathlib.Path = RTL_DIR) -> list[pathlib.Path]:
    files = sorted(rtl_dir.glob("*.sv"))
    first = [rtl_dir / name for name in _PACKAGES if (rtl_dir / name).exists()]
    return first + [f for f in files if f not in first]


def lint_vlt(rtl_dir: pathlib.Path = RTL_DIR) -> list[pathlib.Path]:
    """Lint waivers; the cocotb port-visibility file is kept out of the C++ harness build."""
    return [p for p in sorted(rtl_dir.glob("*.vlt")) if "cocotb" not in p.name]


@functools.cache
def reference_target() -> Target:
    return load_target(PACKAGE_DIR / "target.yaml")


@dataclass(frozen=True, slots=True)
class RtlParams:
    """Parameters of `npu_sim_top`: the hardware configuration plus the simulation-only
    memory model (bus width, latency); each becomes a Verilator -G override."""

    dim: int = 8
    bus_bytes: int = 16
    latency: int = 16
    inp_rows: int = 2048
    wgt_rows: int = 1024
    acc_rows: int = 2048
    out_rows: int = 2048
    qp_rows: int = 192
    lut_rows: int = 128
    queue_depth: int = 16
    token_depth: int = 16

    def __post_init__(self) -> None:
        if self.dim not in (4, 8, 16):
            raise ValueError(f"dim must be 4, 8 or 16, not {self.dim}")
        if self.bus_bytes not in (16, 32, 64):
            raise ValueError(f"bus_bytes must be 16, 32 or 64, not {self.bus_bytes}")
        if self.latency < 1:
            raise ValueError("latency must be at least 1 cycle")
        if self.queue_depth < 1 or self.queue_depth & (self.queue_depth - 1):
            raise ValueError("queue_depth must be a power of two")
        if self.token_depth + self.queue_depth > 255:
            raise ValueError("token_depth + queue_depth must stay below 256")
        if min(self.inp_rows, self.wgt_rows, self.acc_rows, self.out_rows, self.qp_rows) < 1:
            raise ValueError("every SRAM but LUT needs at least one row")

    def verilator_args(self) -> list[str]:
        """-G overrides of every field in a stable order (the cocotb design's parameters)."""
        return [f"-G{f.name.upper()}={getattr(self, f.name)}" for f in dataclasses.fields(self)]

    def key(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self))

    def overrides(self) -> dict[str, int]:
        """The -G overrides on top of the target's sim.rtl.params: the memories and DIM
        always, the rest only where they differ from npu_sim_top's own defaults (the values
        here), so RtlParams() builds the very library `run --backend rtl` builds."""
        always = {"dim", "inp_rows", "wgt_rows", "acc_rows", "out_rows", "qp_rows", "lut_rows"}
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name in always or getattr(self, f.name) != f.default}


DEFAULT_PARAMS = RtlParams()


def build_reference_rtl(params: RtlParams = DEFAULT_PARAMS) -> pathlib.Path:
    """The harness library (npu_rtl_run) of the reference RTL in this configuration."""
    return build_rtl_library(reference_target(), params.overrides())


def npu_cocotb_design(params: RtlParams = DEFAULT_PARAMS) -> CocotbDesign:
    """npu_sim_top for cocotb: ports public via npu_cocotb.vlt, DRAM through DPI."""
    return CocotbDesign(
        toplevel=SIM_TOP,
        sources=(*lint_vlt(), RTL_DIR / "npu_cocotb.vlt", *rtl_sources()),
        parameters=tuple((f.name.upper(), getattr(params, f.name))
                         for f in dataclasses.fields(params)),
        cpp_sources=(HARNESS_DIR / "npu_dpi_mem.cpp",),
        include_dirs=(HARNESS_DIR, DRIVER_DIR),
        extra_args=("-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast",
                    "--x-initial", "fast", "-CFLAGS", "-O2"),
    )


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
                                ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(NpuStatsC)]
    lib.npu_rtl_hw_config.restype = ctypes.c_int
    lib.npu_rtl_hw_config.argtypes = [ctypes.POINTER(HwConfigC)]
    return lib


class RtlModel:
    """One built configuration of the reference RTL, run on raw programs and DRAM images
    (no driver context: tests and benchmarks of the hardware itself)."""

    def __init__(self, params: RtlParams = DEFAULT_PARAMS):
        self.params = params
        self.library = build_reference_rtl(params)
        self._lib = _load(self.library)

    def hw_config(self) -> dict[str, int]:
        cfg = HwConfigC()
        if self._lib.npu_rtl_hw_config(ctypes.byref(cfg)) != 0:
            raise SimError("npu_rtl_hw_config failed")
        return {name: int(getattr(cfg, name)) for name in HW_FIELDS}

    def run(self, insns: bytes, dram: np.ndarray, max_cycles: int = 10_000_000) -> RunResult:
        """Runs the program; `dram` (uint8, C-contiguous) is updated in place."""
        if len(insns) % 16:
            raise SimError(f"instruction stream of {len(insns)} bytes is not a multiple of 16")
        if dram.dtype != np.uint8 or not dram.flags.c_contiguous or not dram.flags.writeable:
            raise SimError("dram must be a writeable C-contiguous uint8 array")
        stats = NpuStatsC()
        rc = self._lib.npu_rtl_run(insns, len(insns) // 16, dram.ctypes.data, dram.nbytes,
                                   max_cycles, ctypes.byref(stats))
        if rc < 0:
            raise SimError(f"npu_rtl_run failed before running (rc {rc})")
        return RunResult(**{name: int(getattr(stats, name)) for name in RunResult.__slots__})
