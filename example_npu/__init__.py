"""The example NPU: a vector dot-product unit plus a vector ALU, in-order, 64-bit ISA.

A second bundled NPU, different in kind from reference_npu (README.md here). It talks
to vendor-sdk only through the C contract (vendor_sdk/contract/) and its target.yaml.
"""

from __future__ import annotations

import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
DRIVER_DIR = PACKAGE_DIR / "driver"
RTL_DIR = PACKAGE_DIR / "rtl"
ISA_YAML = PACKAGE_DIR / "isa" / "isa.yaml"


def target() -> pathlib.Path:
    """The example NPU's target description (for a `vendor_sdk.targets` entry point)."""
    return PACKAGE_DIR / "target.yaml"
