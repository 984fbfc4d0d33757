"""Build and run Verilator models: a target's RTL as a cached shared library (sim.rtl),
cocotb testbenches, and the build cache everything compiled goes through.

    from vendor_sdk.sim import build_rtl_library
    lib = build_rtl_library(target)   # cached; a second call builds nothing
"""

from vendor_sdk.sim.build import cache_root
from vendor_sdk.sim.cocotb_run import CocotbDesign, CocotbResult, build_cocotb, run_cocotb
from vendor_sdk.sim.errors import SimError
from vendor_sdk.sim.rtl import RtlDesign, build_rtl_library, rtl_design
from vendor_sdk.sim.toolchain import verilator_env, verilator_root

__all__ = [
    "CocotbDesign",
    "CocotbResult",
    "RtlDesign",
    "SimError",
    "build_cocotb",
    "build_rtl_library",
    "cache_root",
    "rtl_design",
    "run_cocotb",
    "verilator_env",
    "verilator_root",
]
