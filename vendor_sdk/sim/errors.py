"""The sim stage's error type."""

from __future__ import annotations

import re

from core.errors import VendorSdkError

_DIAG = re.compile(r"^%(Error|Warning)[^:]*: (.*)$", re.MULTILINE)


class SimError(VendorSdkError, RuntimeError):
    """Building or running an RTL model failed.

    `diagnostics` holds Verilator's own lines (`file:line:col: message`) so
    callers can point at the RTL source rather than at a Python traceback.
    """

    def __init__(self, message: str, diagnostics: tuple[str, ...] = ()):
        super().__init__(message if not diagnostics else f"{message}\n" + "\n".join(diagnostics))
        self.diagnostics = diagnostics


def verilator_diagnostics(output: str) -> tuple[str, ...]:
    """The %Error lines of Verilator output (or compiler errors when there are none)."""
    errors = tuple(m.group(0) for m in _DIAG.finditer(output) if m.group(1) == "Error")
    if errors:
        return errors
    return tuple(line for line in output.splitlines() if "error" in line.lower())[:20]
