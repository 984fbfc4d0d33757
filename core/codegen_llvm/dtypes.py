"""Tensor IR dtypes as LLVM types.

Signedness is not part of an LLVM integer type, so every operation that cares
(division, shifts, comparisons, widening, int <-> float) asks :func:`signed`.
``bool`` is ``i1`` in registers and one byte in memory, as numpy stores it.
"""

from __future__ import annotations

from llvmlite import ir

from core.codegen_llvm.error import CodegenError
from core.tir.expr import dtype_bits, is_float, is_int

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I64 = ir.IntType(64)
PTR = ir.PointerType()
_FLOATS: dict[str, ir.Type] = {
    "float16": ir.HalfType(), "float32": ir.FloatType(), "float64": ir.DoubleType()}


def value_type(dtype: str) -> ir.Type:
    """The type of a value of ``dtype`` in registers."""
    if dtype == "bool":
        return I1
    if is_int(dtype):
        return ir.IntType(dtype_bits(dtype))
    if dtype in _FLOATS:
        return _FLOATS[dtype]
    raise CodegenError(f"dtype {dtype!r} has no host representation")


def memory_type(dtype: str) -> ir.Type:
    """The type of an element of a ``dtype`` buffer in memory."""
    return I8 if dtype == "bool" else value_type(dtype)


def byte_size(dtype: str) -> int:
    return 1 if dtype == "bool" else dtype_bits(dtype) // 8


def signed(dtype: str) -> bool:
    return is_int(dtype) and not dtype.startswith("u")


def const_value(value: int | float, dtype: str) -> ir.Constant:
    """A literal; integers wrap to the dtype's width, as numpy stores them."""
    ty = value_type(dtype)
    if is_float(dtype):
        return ir.Constant(ty, float(value))
    bits = 1 if dtype == "bool" else dtype_bits(dtype)
    v = int(value) & ((1 << bits) - 1)
    # LLVM reads integer literals as signed; write the two's-complement value.
    return ir.Constant(ty, v - (1 << bits) if bits > 1 and v >> (bits - 1) else v)


def declare_intrinsic(module: ir.Module, name: str, types: list[ir.Type],
                      fnty: ir.FunctionType) -> ir.Function:
    """``module.declare_intrinsic`` that also names vector overloads (``llvm.fma.v16f32``),
    which llvmlite's own cannot."""
    if not any(isinstance(t, ir.VectorType) for t in types):
        return module.declare_intrinsic(name, types, fnty)
    suffix = ".".join(f"v{t.count}{t.element.intrinsic_name}" if isinstance(t, ir.VectorType)
                      else t.intrinsic_name for t in types)
    full = f"{name}.{suffix}"
    existing = module.globals.get(full)
    return existing if isinstance(existing, ir.Function) else ir.Function(module, fnty, full)
