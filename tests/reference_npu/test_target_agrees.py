"""The reference NPU's target.yaml restates three facts of its ISA table (isa.yaml, the
one source its C header, SV package and Python encoder are generated from): the counter
record, the memory ids and the parameter defaults. They must agree, or the SDK would
read counters in the wrong order, name the wrong memory in C, or size the wrong SRAM."""

from __future__ import annotations

from reference_npu import target
from reference_npu.isa.table import load
from vendor_sdk.target import load_target

TABLE = load()
TARGET = load_target(target())


def test_counters_are_the_isa_counter_registers_in_order() -> None:
    isa = [r.name.lower() for r in TABLE.registers if r.counter]
    assert list(TARGET.spec.counters) == isa


def test_memory_ids_are_the_isa_mem_id_enum() -> None:
    enum = TABLE.enum("mem_id")
    ids = {f"NPU_{enum.prefix}_{name}" for name, _ in enum.values}
    for mem in TARGET.spec.memories.values():
        assert mem.id in ids, mem
        assert mem.widen_id is None or mem.widen_id in ids, mem


def test_params_are_the_isa_defaults() -> None:
    defaults = TABLE.defaults()
    for name, value in TARGET.spec.params.items():
        if name in defaults:
            assert value == defaults[name], name
    assert {"DIM", "INP_ROWS", "WGT_ROWS", "ACC_ROWS", "OUT_ROWS"} <= set(TARGET.spec.params)
