"""What the code generator produces for a region: its DRAM slots, the C of each layer and
of the region's entry function (the types the compiler, the runtime and the reports read).
"""

from __future__ import annotations

from dataclasses import dataclass

from core import symbolic as sym
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.elementwise import EltLayer
from vendor_sdk.codegen.im2col import Patches
from vendor_sdk.codegen.layers import Layer


@dataclass(frozen=True)
class Slot:
    """A DRAM tensor of a region call: the NPU layout of a graph value."""

    name: str              # graph variable
    shape: tuple[sym.Dim, ...]      # logical shape (dims may be symbolic)
    # channel-last, channels padded (codegen.tiling); im2col: [N, OH, OW, K']
    npu_shape: tuple[sym.Dim, ...]
    # None: channel-last; Patches: the host writes im2col rows (a conv's region input)
    layout: Patches | None = None

    def describe(self) -> str:
        """The layout in words (header comment, manifest)."""
        return self.layout.describe() if self.layout else "channel-last, channels padded"


@dataclass(frozen=True)
class LayerCode:
    layer: Layer | EltLayer  # a GEMM layer, or an element-wise / pooling one
    function: str          # C function name
    text: str              # C definition
    explain: str           # tensorize trace or "template ..."
    ideal_macs_note: str = ""
    estimate: float | None = None  # the tensorizer's cost-model cycles (None: template)
    onnx_nodes: tuple[str, ...] = ()  # the ONNX nodes of the composite (QDQ nodes left out)
    input_layout: str = ""  # which input layout a conv on a region input got, and why
    # The composite it lowers (its name and ONNX nodes, to send it to the host) and the
    # bytes of constants (weights, bias, descriptors) it adds to its region's blob.
    composite: str = ""
    nodes: tuple[str, ...] = ()
    const_bytes: int = 0


@dataclass(frozen=True)
class RegionCode:
    name: str
    target: str
    params: tuple[str, ...]   # region inputs (graph vars)
    outputs: tuple[str, ...]
    slots: tuple[Slot, ...]   # addr[1 + i]; addr[0] is the constants blob
    layers: tuple[LayerCode, ...]
    consts: bytes
    sizes: tuple[str, ...]    # symbolic extents, C arguments in this order
    body: str                 # C of the region entry function
    # Counter records the region writes, one after each layer but the last (whose end is
    # the region's), at addr[1 + len(slots)]; None: the target takes no snapshots.
    perf_records: int | None = None

    def slot_index(self, name: str) -> int:
        return 1 + next(i for i, s in enumerate(self.slots) if s.name == name)


class CompositeError(CodegenError):
    """A composite the code generator cannot lower; the compiler sends it to the host."""

    def __init__(self, composite: str, nodes: tuple[str, ...], reason: str) -> None:
        super().__init__(f"{composite}: {reason}")
        self.composite, self.nodes, self.reason = composite, nodes, reason
