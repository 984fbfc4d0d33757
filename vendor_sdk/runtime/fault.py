"""Which layer, ONNX node and intrinsic queued the instruction an NPU stopped at.

The device reports only an instruction index (vsdk_run_result.error_insn). The generated
region code marks every layer and every intrinsic call with the index vsdk_mark() gives
(codegen_templates/header.h.j2: VSDK_LAYER_, VSDK_SITE_), but records nothing unless the
model library's ``vsdk_fault`` is armed. After a failed run the session arms it with the
failing index and queues the region once more without running it (vsdk_open starts a new
program, so nothing of the failed one is reused): the last layer and intrinsic call that
started at or before the index are the ones that queued it. Recording only on the failure
path keeps the common path at one branch per call, and needs nothing from the target
beyond vsdk_mark() counting in the device's numbering.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

from vendor_sdk.codegen.code import RegionCode


class _FaultState(ctypes.Structure):
    # the layout of vsdk_fault_state in codegen_templates/header.h.j2
    _fields_ = [("armed", ctypes.c_uint32), ("insn", ctypes.c_uint32),
                ("site_first", ctypes.c_uint32), ("site_end", ctypes.c_uint32),
                ("layer", ctypes.c_char_p), ("site", ctypes.c_char_p)]


@dataclass(frozen=True)
class FaultSite:
    """Where instruction ``insn`` came from; empty strings when it is not known."""

    insn: int
    layer: str = ""        # the layer's C function
    pattern: str = ""      # the pattern that made the layer
    onnx_nodes: tuple[str, ...] = ()
    site: str = ""         # the intrinsic call (intrinsic name and what it computed)
    in_site: bool = False  # insn is one of the intrinsic call's own instructions
    lowering: str = ""     # how the layer was lowered ("template ...": a template kernel)

    def describe(self) -> str:
        if not self.layer:
            return (f"instruction {self.insn} was not queued by any layer of the region "
                    "(the glue's vsdk_open/vsdk_close, or vsdk_mark() does not count in "
                    "the device's error_insn numbering)")
        nodes = ", ".join(self.onnx_nodes) or "?"
        where = f"layer {self.layer} ({self.pattern}; ONNX node {nodes})"
        if not self.site:
            how = f" by {self.lowering}" if self.lowering.startswith("template") else ""
            return f"instruction {self.insn} was queued by {where}{how}, before its first " \
                   "intrinsic call: the glue's data movement or synchronisation " \
                   "(target templates: runtime glue, movement)"
        intrinsic = self.site.split(" ", 1)[0]
        if self.in_site:
            return f"instruction {self.insn} was queued by {where}, intrinsic call " \
                   f"{self.site}: the emit snippet of intrinsics.{intrinsic} in target.yaml"
        return f"instruction {self.insn} was queued by {where} after intrinsic call " \
               f"{self.site}: the glue's data movement or synchronisation (target " \
               "templates: runtime glue, movement)"


def locate(lib: ctypes.CDLL, region: RegionCode, insn: int,
           requeue: Callable[[], int]) -> FaultSite:
    """Arm the library's locator at ``insn``, run ``requeue`` (the region function with
    the failed call's arguments; its return value is ignored: the program it queues is
    never run), and say which layer and intrinsic call queued ``insn``."""
    try:
        state = _FaultState.in_dll(lib, "vsdk_fault")
    except ValueError:  # a library generated before the locator existed
        return FaultSite(insn)
    ctypes.memset(ctypes.addressof(state), 0, ctypes.sizeof(state))
    state.insn, state.armed = insn, 1
    try:
        requeue()
    finally:
        state.armed = 0
    layer = (state.layer or b"").decode()
    site = (state.site or b"").decode()
    code = next((lc for lc in region.layers if lc.function == layer), None)
    return FaultSite(
        insn, layer, str(code.layer.pattern) if code else "",
        code.onnx_nodes if code else (), site,
        bool(site) and state.site_first <= insn < state.site_end,
        code.explain.split("\n", 1)[0] if code else "")
