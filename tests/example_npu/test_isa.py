"""The example NPU's ISA table: the generated C header and SV package are current, the
table rejects inconsistent fields, and the Python encoder round-trips."""

from __future__ import annotations

import subprocess
import sys

import pytest

from example_npu.isa import table
from example_npu.isa.gen import emit_c, emit_sv, outputs
from example_npu.isa.table import Field, Insn, IsaError, load_isa


def test_generated_files_are_current() -> None:
    done = subprocess.run([sys.executable, "-m", "example_npu.isa.gen", "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for path, text in outputs().items():
        assert path.read_text() == text


def test_generated_c_and_sv_carry_every_field() -> None:
    isa = load_isa()
    c, sv = emit_c(isa), emit_sv(isa)
    for insn in isa.insns.values():
        assert f"ex_enc_{insn.name.lower()}(" in c
        for f in insn.fields:
            assert f"#define EX_{insn.name}_{f.name.upper()}_LSB {f.lsb}" in c
            assert f"{insn.name}_{f.name.upper()}_LSB = {f.lsb}, " \
                   f"{insn.name}_{f.name.upper()}_W = {f.width};" in sv


def test_encode_decode_round_trip_and_range() -> None:
    isa = load_isa()
    word = isa.encode("VDOT", init=1, rows=1023, a_row=16383, a_step=31, tile=255, p_row=7,
                      p_step=2)
    assert word >> 60 == isa.insns["VDOT"].opcode
    assert isa.decode(word) == ("VDOT", {"p_step": 2, "p_row": 7, "tile": 255, "a_step": 31,
                                         "a_row": 16383, "rows": 1023, "init": 1})
    assert isa.decode(isa.encode("VALU", imm=-5))[1]["imm"] == 0xFFFB   # two's complement
    with pytest.raises(IsaError, match="rows = 1024 does not fit 10 bits"):
        isa.encode("VDOT", rows=1024)
    with pytest.raises(IsaError, match="LOAD has no field 'tile'"):
        isa.encode("LOAD", tile=1)
    with pytest.raises(IsaError, match="opcode 9 is not an instruction"):
        isa.decode(9 << 60)


def test_overlapping_fields_are_rejected() -> None:
    isa = load_isa()
    bad = Insn("BAD", 9, "", (Field("a", 0, 8), Field("b", 4, 8)))
    broken = table.Isa(isa.bits, isa.opcode, isa.params, isa.memories, isa.valu_fn, isa.errors,
                       isa.counters, {**isa.insns, "BAD": bad})
    with pytest.raises(IsaError, match=r"BAD.b .* overlaps"):
        table._check(broken)
    over_opcode = Insn("BAD", 9, "", (Field("a", 58, 4),))
    with pytest.raises(IsaError, match="overlaps another field"):
        table._check(table.Isa(isa.bits, isa.opcode, isa.params, isa.memories, isa.valu_fn,
                               isa.errors, isa.counters, {"BAD": over_opcode}))
