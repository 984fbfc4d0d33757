"""Sim configuration of the bundled reference NPU (a worked example for vendors)."""

from __future__ import annotations

import dataclasses

from vendor_sdk.sim.build import DRIVER_DIR, HARNESS_DIR, RTL_DIR, SIM_TOP, lint_vlt, rtl_sources
from vendor_sdk.sim.cocotb_run import CocotbDesign
from vendor_sdk.sim.params import DEFAULT_PARAMS, RtlParams

# Where npu_sim_top's DPI memory finds its images in cocotb runs (npu_dpi_mem.cpp).
DRAM_ENV = ("NPU_DRAM_IN", "NPU_INSNS_IN", "NPU_DRAM_OUT")


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
