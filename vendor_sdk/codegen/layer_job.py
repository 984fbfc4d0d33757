"""One composite to lower: everything a layer kind's lowerer (vendor_sdk.codegen.lowerers)
reads, and where it adds constants and DRAM slots."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core import symbolic as sym
from core.graph import Function
from core.tir.expr import Expr
from vendor_sdk.codegen.code import Slot
from vendor_sdk.codegen.consts import Consts
from vendor_sdk.codegen.tiling import Tiling
from vendor_sdk.target import Target
from vendor_sdk.target.lowering import Lowering, Tensorize


@dataclass(frozen=True)
class LayerJob:
    comp: Function           # the composite
    fn: str                  # C name of the layer's function
    lowering: Lowering       # its pattern's `lower`
    target: Target           # as the lowering sees it (only its `tensorize` intrinsics)
    tiling: Tiling
    batch: Expr              # the leading extent (a C size argument when symbolic)
    batch_dim: sym.Dim
    names: Mapping[str, int]  # size arguments so far -> their hinted values
    size_args: str           # ", n" per size argument, for the call
    xs: list[Slot]           # the composite's inputs
    yi: Slot                 # its output
    var: str                 # the graph variable it binds
    consts: Consts           # the region's constants blob (a lowerer appends to it)
    slots: dict[str, Slot]   # the region's DRAM slots (a lowerer may add or re-lay one)
    at: Callable[[str], str]  # slot name -> its C address expression
    host_input: bool         # its first input is the host's to lay out (region.region_code)

    @property
    def intrinsics(self) -> list[str] | None:
        """The pattern's `tensorize` list (None: a template kernel)."""
        return list(self.lowering.intrinsics) if isinstance(self.lowering, Tensorize) else None
