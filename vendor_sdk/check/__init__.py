"""check-intrinsics: every declared intrinsic run on fsim and the RTL, compared
bit-exactly with the numpy reference of its declared semantics.

    from vendor_sdk.check import check_intrinsics
    report = check_intrinsics(resolve_target("reference_npu"), workdir)

Imports are lazy: the cocotb testbench (vendor_sdk.check.tb_replay) loads
inside the simulator and should not pull in the whole checker.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckOptions", "CheckReport", "check_intrinsics"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vendor_sdk.check import run

        return getattr(run, name)
    raise AttributeError(name)
