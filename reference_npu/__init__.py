"""The bundled reference NPU: ISA, C driver with fsim/rtl/trace backends, RTL."""

from __future__ import annotations

import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
ISA_DIR = PACKAGE_DIR / "isa"
DRIVER_DIR = PACKAGE_DIR / "driver"
RTL_DIR = PACKAGE_DIR / "rtl"
ISA_YAML = ISA_DIR / "isa.yaml"


def target() -> pathlib.Path:
    """The reference NPU's target description (entry point `vendor_sdk.targets`)."""
    return PACKAGE_DIR / "target.yaml"
