"""The lowerer table covers the code generator's dispatch: every op `validate` accepts as a
layer's core (lowerable.kind_of, the same dispatch) has its kind's own entry, so a new
kind in kind_of without a lowerer fails here rather than at a user's compile."""

from vendor_sdk.codegen.elementwise import ACTIVATIONS, ELT_OPS
from vendor_sdk.codegen.layers import GEMM_OPS
from vendor_sdk.codegen.lower_eltwise import lower_elementwise
from vendor_sdk.codegen.lower_gemm import lower_gemm
from vendor_sdk.codegen.lowerable import kind_of
from vendor_sdk.codegen.lowerers import LOWERERS


def test_every_core_op_has_its_kinds_lowerer() -> None:
    for ops, want in ((GEMM_OPS, lower_gemm), (ELT_OPS, lower_elementwise),
                      (ACTIVATIONS, lower_elementwise)):
        for op in ops:
            kind = kind_of({op})
            assert kind in LOWERERS, (op, kind)
            assert LOWERERS[kind] is want, (op, kind)


def test_a_gemm_composite_with_an_epilogue_is_lowered_as_gemm() -> None:
    # the bias Add and the Relu after a Conv do not make it an element-wise layer
    assert LOWERERS[kind_of({"Conv", "Add", "Relu", "QuantizeLinear"})] is lower_gemm
