"""Build and run Verilator models: cached C++ harness libraries and cocotb testbenches.

    from vendor_sdk.sim import RtlParams, build_rtl_library
    lib = build_rtl_library(RtlParams(dim=16))   # cached; a second call builds nothing
"""

from vendor_sdk.sim.build import build_rtl_library, cache_root
from vendor_sdk.sim.cocotb_run import CocotbDesign, CocotbResult, build_cocotb, run_cocotb
from vendor_sdk.sim.errors import SimError
from vendor_sdk.sim.params import DEFAULT_PARAMS, RtlParams
from vendor_sdk.sim.toolchain import verilator_env, verilator_root

__all__ = [
    "DEFAULT_PARAMS",
    "CocotbDesign",
    "CocotbResult",
    "RtlParams",
    "SimError",
    "build_cocotb",
    "build_rtl_library",
    "cache_root",
    "run_cocotb",
    "verilator_env",
    "verilator_root",
]
