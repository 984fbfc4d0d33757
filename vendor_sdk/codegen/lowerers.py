"""The lowerer of each layer kind (lowerable.kind_of, the dispatch `validate` checks too):
adding a kind is one entry here and one module with its lowerer."""

from __future__ import annotations

from collections.abc import Callable

from vendor_sdk.codegen.code import LayerCode
from vendor_sdk.codegen.layer_job import LayerJob
from vendor_sdk.codegen.lower_eltwise import lower_elementwise
from vendor_sdk.codegen.lower_gemm import lower_gemm

Lowerer = Callable[[LayerJob], tuple[LayerCode, str]]  # -> its code, the C call of it

LOWERERS: dict[str, Lowerer] = {
    "gemm": lower_gemm,
    "eltwise": lower_elementwise,
    "activation": lower_elementwise,
}


def lowerer(kind: str) -> Lowerer:
    """A kind the code generator has no entry for ("": no op it lowers) goes to the
    element-wise analysis, whose error says which op it cannot lower."""
    return LOWERERS.get(kind, lower_elementwise)
