"""ISA table checks and encoder round trips (Python and C encoders agree)."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_npu.bindings import Npu, NpuError
from reference_npu.isa import encoding as E
from reference_npu.isa.table import ISA_YAML, IsaError, load, parse

RAW = yaml.safe_load(ISA_YAML.read_text())


def _field_values(cls: type[E.Insn]) -> st.SearchStrategy[dict[str, int]]:
    specs = E.HEADER[1:] + cls.FIELDS
    strategies = {}
    for name, _, width, signed in specs:
        lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        strategies[name] = st.integers(lo, hi)
    return st.fixed_dictionaries(strategies)


@pytest.mark.parametrize("cls", list(E.BY_OPCODE.values()), ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_encode_decode_round_trip(cls: type[E.Insn], data: st.DataObject) -> None:
    values = data.draw(_field_values(cls))
    insn = cls(**values)
    raw = insn.encode()
    assert len(raw) == 16
    back = E.decode(raw)
    assert type(back) is cls
    assert back == insn
    assert back.encode() == raw


def test_bit_positions_follow_the_table() -> None:
    # dram_base[58:27] straddles the two 64-bit words; bit 0 is the LSB of byte 0.
    raw = E.Load(mem_id=E.MemId.ACC, dram_base=0xDEADBEEF).encode()
    word = int.from_bytes(raw, "little")
    assert word & 0b111 == E.Opcode.LOAD
    assert (word >> 8) & 0b111 == E.MemId.ACC
    assert (word >> 27) & 0xFFFFFFFF == 0xDEADBEEF
    assert raw[0] == E.Opcode.LOAD


def test_field_overflow_is_rejected() -> None:
    with pytest.raises(E.EncodeError, match=r"Gemm\.wgt_tile"):
        E.Gemm(wgt_tile=1 << 14).encode()
    with pytest.raises(E.EncodeError, match=r"Alu\.imm"):
        E.Alu(imm=40000).encode()
    with pytest.raises(ValueError, match="illegal opcode 7"):
        E.decode(bytes([7]) + bytes(15))


# One instance of every instruction, with the same values given to the C API.
C_CALLS = [
    (E.Load(mem_id=1, sram_base=5, dram_base=0x12345678, y_size=3, x_size=7, x_stride=9,
            y_pad0=1, y_pad1=2, x_pad0=3, x_pad1=4, pad_val=-5, pop_next=True, push_next=True),
     "load", (0b1010, 1, 5, 0x12345678, 3, 7, 9, 1, 2, 3, 4, -5)),
    (E.Store(mem_id=5, sram_base=77, dram_base=4096, y_size=2, x_size=3, x_stride=11,
             pop_prev=True, push_prev=True),
     "store", (0b0101, 5, 77, 4096, 2, 3, 11)),
    (E.Gemm(accum=True, load_w=True, wgt_tile=9, inp_base=1, acc_base=2, iter_out=3, iter_in=4,
            inp_fo=5, inp_fi=6, acc_fo=7, acc_fi=16383, push_next=True),
     "gemm", (0b1000, 1, 1, 9, 1, 2, 3, 4, 5, 6, 7, 16383)),
    (E.Alu(alu_op=E.AluOp.SHR, use_imm=True, dst=1, src=2, iter_out=3, iter_in=4, dst_fo=5,
           dst_fi=6, src_fo=7, src_fi=8, imm=-32768),
     "alu", (0, 5, 1, 1, 2, 3, 4, 5, 6, 7, 8, -32768)),
    (E.Req(src_acc=3, dst=4, qp_idx=63, iter_out=2, iter_in=5, src_fo=1, src_fi=2, dst_fo=3,
           dst_fi=4, per_chan=True, dst_inp=True, pop_prev=True),
     "requant", (0b0001, 3, 4, 63, 2, 5, 1, 2, 3, 4, 1, 1)),
    (E.Lut(src_acc=3, dst=4, table=2, iter_out=2, iter_in=5, src_fo=1, src_fi=2, dst_fo=3,
           dst_fi=4, dst_inp=False),
     "lut", (0, 3, 4, 2, 2, 5, 1, 2, 3, 4, 0)),
    (E.Sync(queue=E.Queue.ST, finish=True, perf_snap=True, snap_addr=0xFFFFFFF0, push_prev=True),
     "sync", (0b0100, 2, 1, 1, 0xFFFFFFF0)),
]


def test_c_encoders_match_python_encoders() -> None:
    with Npu("fsim") as npu:
        for insn, call, args in C_CALLS:
            npu.clear()
            npu.emit(call, *args)
            assert npu.program() == insn.encode(), call


def test_c_encoder_names_the_field_that_does_not_fit() -> None:
    with Npu("fsim") as npu:
        with pytest.raises(NpuError, match=r"gemm\.iter_out out of range"):
            npu.emit("gemm", 0, 0, 0, 0, 0, 0, 1024, 1, 0, 0, 0, 0)
        with pytest.raises(NpuError, match=r"alu\.imm out of range"):
            npu.emit("alu", 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1 << 15)
        with pytest.raises(NpuError, match="deps"):
            npu.emit("sync", 16, 0, 0, 0, 0)
        assert npu.insn_count == 0


def _mutated(edit: object) -> dict:
    raw = copy.deepcopy(RAW)
    edit(raw)  # type: ignore[operator]
    return raw


def test_table_loads_and_every_field_fits() -> None:
    table = load()
    for insn in table.instructions:
        for f in table.header + insn.fields:
            assert f.msb < table.insn_bits


def test_overlapping_fields_are_rejected() -> None:
    def overlap(raw: dict) -> None:
        raw["instructions"]["GEMM"]["fields"][2]["bits"] = [24, 10]  # wgt_tile into inp_base

    with pytest.raises(IsaError, match=r"GEMM\.inp_base: bit 24 overlaps field wgt_tile"):
        parse(_mutated(overlap))


def test_field_past_bit_127_is_rejected() -> None:
    def overflow(raw: dict) -> None:
        raw["instructions"]["ALU"]["fields"][-1]["bits"] = [128, 113]

    with pytest.raises(IsaError, match="pass bit 127"):
        parse(_mutated(overflow))


def test_address_field_too_narrow_for_memory_is_rejected() -> None:
    def bigger_acc(raw: dict) -> None:
        raw["params"]["ACC_ROWS"]["default"] = 32768  # 14-bit acc_base cannot reach it

    with pytest.raises(IsaError, match="cannot hold ACC_ROWS - 1 = 32767"):
        parse(_mutated(bigger_acc))


def test_enum_wider_than_its_field_is_rejected() -> None:
    def ninth_alu_op(raw: dict) -> None:
        raw["enums"]["opcode"]["values"]["EXTRA"] = 8

    with pytest.raises(IsaError, match="enum opcode"):
        parse(_mutated(ninth_alu_op))


def test_header_flags_must_be_consecutive() -> None:
    def swap(raw: dict) -> None:
        raw["header"][1]["bits"], raw["header"][2]["bits"] = [4, 4], [3, 3]

    with pytest.raises(IsaError, match="header must be opcode then pop_prev"):
        parse(_mutated(swap))


def test_config_check_in_c_matches_the_table() -> None:
    with pytest.raises(NpuError, match=r"field .*acc_base is too narrow"):
        Npu("fsim", {"acc_rows": 32768})
    with pytest.raises(NpuError, match="dim=12"):
        Npu("fsim", {"dim": 12})
    with Npu("fsim", {"dim": 16, "wgt_rows": 2048, "lut_rows": 64}) as npu:
        assert npu.hw_config.dim == 16
