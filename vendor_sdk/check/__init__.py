"""check-intrinsics: every declared intrinsic run through the target's own glue on its
functional model and RTL, compared bit-exactly with the numpy reference of its declared
semantics.

    from vendor_sdk.check import CheckOptions, check_intrinsics
    report = check_intrinsics(resolve_target("my_npu"), CheckOptions(workdir))

Imports are lazy: the process that runs the cases (vendor_sdk.check.execute) should not
pull in the whole checker.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckOptions", "CheckReport", "check_intrinsics"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vendor_sdk.check import run

        return getattr(run, name)
    raise AttributeError(name)
