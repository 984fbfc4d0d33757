"""ONNX window attributes (kernel, strides, dilations, pads) as the 2-D window the NPU
layers take; a 1-D conv's is the window of a height-1 image."""

from __future__ import annotations

from core.graph import Attrs
from core.ops.window import window_of
from vendor_sdk.codegen.cexpr import CodegenError


def window_dict(attrs: Attrs, kernel: tuple[int, int] | None, op: str,
                where: str) -> dict:
    """Kernel, strides, dilations, pads of a 2-D window with ONNX defaults resolved."""
    win = window_of(attrs, kernel, 2, op)
    if win.auto_pad not in ("NOTSET", "VALID"):
        raise CodegenError(f"{where}: {op} with auto_pad {win.auto_pad}")
    return {"kernel": win.kernel, "strides": win.strides, "dilations": win.dilations,
            "pads": win.pads, "ceil_mode": win.ceil_mode}


def window_1d(attrs: Attrs, k: int, where: str) -> dict:
    """A 1-D conv window as the 2-D window of a height-1 image."""
    win = window_of(attrs, (k,), 1, "Conv")
    if win.auto_pad not in ("NOTSET", "VALID"):
        raise CodegenError(f"{where}: Conv with auto_pad {win.auto_pad}")
    return {"kernel": (1, win.kernel[0]), "strides": (1, win.strides[0]),
            "dilations": (1, win.dilations[0]), "pads": (0, win.pads[0], 0, win.pads[1]),
            "ceil_mode": win.ceil_mode}
