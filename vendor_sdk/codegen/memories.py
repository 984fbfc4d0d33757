"""The code generator's view of on-chip memories: by role, never by name.

A buffer's scope is the name of the memory an intrinsic operand declared
(target.yaml `scope:`); what the generator itself allocates (accumulator
tiles, requantized copies, descriptors) goes to the memory of a role
(vendor_sdk.target.roles). The C that names a memory is the memory's `id`.
"""

from __future__ import annotations

from core.types import itemsize
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.target import Target
from vendor_sdk.target.checks import MemoryInfo


def memory_of(target: Target, role: str) -> MemoryInfo:
    """The target's memory of ``role``; validate guarantees the roles a tensorize
    pattern needs, so a miss is a target built around the loader."""
    mems = target.memories
    found = next((m for m in mems.values() if m.role == role), None)
    if found is None:
        raise CodegenError(f"target {getattr(target, 'name', '?')} has no memory with role "
                           f"'{role}'; hint: add `role: {role}` to one of its memories "
                           f"({', '.join(mems)})")
    return found


def scope_of(target: Target, role: str) -> str:
    """The name (buffer scope) of the memory of ``role``."""
    return memory_of(target, role).name


def mem_c(target: Target, scope: str) -> str:
    """The C id of the memory named ``scope`` for runtime load/store/access calls."""
    mem = target.memories.get(scope)
    if mem is None or not mem.c_id:
        raise CodegenError(f"scope '{scope}' is not a memory with an `id` in target "
                           f"{getattr(target, 'name', '?')}; hint: give it `id:` in "
                           "target.yaml (the C name of the memory in runtime calls)")
    return mem.c_id


def widen_c(target: Target, scope: str) -> str:
    """The C id that loads int8 DRAM rows sign-extended into the memory ``scope``."""
    mem = target.memories.get(scope)
    if mem is None or not mem.widen_id:
        raise CodegenError(f"int8 rows cannot be loaded into memory '{scope}' of target "
                           f"{getattr(target, 'name', '?')}: it has no `widen_id`; hint: "
                           "declare the C id that loads int8 rows sign-extended into it")
    return mem.widen_id


def load_rows_c(target: Target, scope: str, sram: str, dram: str, rows: int | str) -> str:
    """C that loads ``rows`` consecutive rows of memory ``scope`` from contiguous DRAM, one
    vsdk_load_row per row (the target's glue merges them into its own transfers)."""
    mem = target.memories[scope]
    row_bytes = itemsize(mem.dtype) * mem.row_elems
    return (f"for (uint32_t r_ = 0; r_ < (uint32_t)({rows}); r_++) "
            f"vsdk_load_row(rt, {mem_c(target, scope)}, (uint32_t)({sram}) + r_, "
            f"(uint32_t)({dram}) + r_ * {row_bytes}u);")
