"""Illegal programs stop with the documented (error code, instruction index), never hang."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_npu.bindings import Npu, NpuError
from reference_npu.isa.encoding import (
    Alu,
    ErrorCode,
    Gemm,
    Insn,
    Load,
    Lut,
    MemId,
    Queue,
    Req,
    Store,
    Sync,
)

DIM = 8
OK_LOAD = Load(mem_id=MemId.INP, y_size=1, x_size=1)  # reads DRAM [64, 72)


def run_program(prog: list[Insn | bytes], options: dict[str, int] | None = None) -> NpuError:
    """Run prog on fsim (with 1 KiB of DRAM allocated) and return the error it raised."""
    with Npu("fsim", options or {}) as npu:
        npu.alloc(1024)
        for insn in prog:
            npu.append(insn if isinstance(insn, bytes) else [insn])
        with pytest.raises(NpuError) as info:
            npu.run()
        return info.value


def expect(prog: list[Insn | bytes], code: ErrorCode, pc: int, **options: int) -> NpuError:
    err = run_program(prog, options)
    assert (err.code, err.pc) == (code, pc), str(err)
    assert f"{code.name} at instruction {pc}" in str(err)
    return err


def test_illegal_opcode() -> None:
    expect([OK_LOAD, OK_LOAD, bytes([7]) + bytes(15)], ErrorCode.ILLEGAL_OPCODE, 2)


@pytest.mark.parametrize(
    ("insn", "options"),
    [
        (Load(mem_id=MemId.INP, sram_base=2040, y_size=1, x_size=8, x_pad1=1), {}),
        (Load(mem_id=MemId.ACC, sram_base=0, y_size=3, x_size=1, y_pad0=15, x_pad0=15,
              x_pad1=15), {"acc_rows": 140}),
        (Store(mem_id=MemId.OUT, sram_base=2047, y_size=2, x_size=1), {}),
        (Gemm(load_w=True, wgt_tile=128, iter_out=0), {}),
        (Gemm(inp_base=10, iter_out=3, iter_in=2, inp_fo=1100, inp_fi=20), {}),
        (Gemm(acc_base=2047, iter_out=1, iter_in=2, acc_fi=1), {}),
        (Alu(dst=0, src=2000, iter_out=2, iter_in=1, src_fo=48), {}),
        (Req(qp_idx=2, iter_out=0), {"qp_rows": 6}),
        (Req(dst=2047, dst_inp=True, iter_out=1, iter_in=2, dst_fi=1), {}),
        (Lut(table=0, iter_out=0), {"lut_rows": 0}),
    ],
)
def test_sram_out_of_range(insn: Insn, options: dict[str, int]) -> None:
    expect([OK_LOAD, insn], ErrorCode.SRAM_RANGE, 1, **options)


def test_in_range_edges_are_accepted() -> None:
    with Npu("fsim", {"qp_rows": 6}) as npu:
        npu.alloc(2048 * DIM)
        npu.append([
            Load(mem_id=MemId.INP, sram_base=2047, y_size=1, x_size=1),
            Gemm(load_w=True, wgt_tile=127, acc_base=2047, inp_base=2047, iter_out=1, iter_in=1),
            Alu(dst=2047, use_imm=True, src=16383, iter_out=1, iter_in=1),  # src unused
            Req(qp_idx=1, iter_out=0),
        ])
        assert npu.run().error_code == ErrorCode.OK


def test_dram_out_of_range() -> None:
    # 1 KiB allocated at 64: DRAM is [0, 1088); the last row ends at 64 + (120 + 8) * 8.
    with Npu("fsim") as npu:
        npu.alloc(1024)
        npu.append([Load(mem_id=MemId.INP, dram_base=64, y_size=2, x_size=8, x_stride=120)])
        assert npu.run().dma_rd_bytes == 2 * 8 * DIM  # ends at exactly 1088
    expect([Load(mem_id=MemId.INP, dram_base=64, y_size=2, x_size=8, x_stride=130)],
           ErrorCode.DRAM_RANGE, 0)
    expect([OK_LOAD, Sync(queue=Queue.LD, perf_snap=True, snap_addr=1088 - 71)],
           ErrorCode.DRAM_RANGE, 1)


def test_token_overflow_counts_tokens_in_program_order() -> None:
    pushes = [Load(mem_id=MemId.INP, y_size=1, x_size=1, push_next=True)] * 5
    expect(pushes, ErrorCode.TOKEN_OVERFLOW, 4, token_depth=4)
    # Interleaved consumers keep the count down: the same pushes are fine.
    with Npu("fsim", {"token_depth": 4}) as npu:
        npu.alloc(1024)
        for insn in pushes:
            npu.append([insn, Sync(queue=Queue.EX, pop_prev=True)])
        assert npu.run().insns == 10


def test_deadlock_on_a_token_that_never_comes() -> None:
    err = expect([OK_LOAD, Gemm(pop_prev=True), Store(mem_id=MemId.OUT, pop_prev=True)],
                 ErrorCode.DEADLOCK, 1)
    assert "load->exec" in str(err)


def test_full_unit_queue_blocks_fetch_into_deadlock() -> None:
    """Stores wait for tokens that exec instructions later in the program would push."""
    waits = [Store(mem_id=MemId.OUT, pop_prev=True)] * 3
    pushes = [Sync(queue=Queue.EX, push_next=True)] * 3
    expect([*waits, *pushes], ErrorCode.DEADLOCK, 0, insn_queue_depth=2)
    with Npu("fsim", {"insn_queue_depth": 3}) as npu:
        npu.append([*waits, *pushes])
        assert npu.run().insns == 6


@pytest.mark.parametrize(
    "insn",
    [Load(mem_id=MemId.OUT), Load(mem_id=7), Store(mem_id=MemId.INP), Store(mem_id=MemId.ACC8)],
)
def test_illegal_mem(insn: Insn) -> None:
    expect([OK_LOAD, insn], ErrorCode.ILLEGAL_MEM, 1)


@pytest.mark.parametrize(
    "insn",
    [Load(mem_id=MemId.INP, pop_prev=True), Load(mem_id=MemId.WGT, push_prev=True),
     Store(mem_id=MemId.OUT, pop_next=True), Sync(queue=Queue.ST, push_next=True),
     Sync(queue=Queue.LD, pop_prev=True)],
)
def test_illegal_dep(insn: Insn) -> None:
    expect([insn], ErrorCode.ILLEGAL_DEP, 0)


@pytest.mark.parametrize(
    "insn",
    [Alu(alu_op=8), Alu(alu_op=15), Sync(queue=3), Store(mem_id=MemId.OUT, x_pad0=1),
     Store(mem_id=MemId.OUT, pad_val=-1)],
)
def test_illegal_field(insn: Insn) -> None:
    expect([insn], ErrorCode.ILLEGAL_FIELD, 0)


def test_first_failing_check_wins_within_an_instruction() -> None:
    # Illegal mem and illegal dep: ILLEGAL_MEM. SRAM and DRAM both out: SRAM_RANGE.
    expect([Store(mem_id=MemId.INP, push_next=True)], ErrorCode.ILLEGAL_MEM, 0)
    expect([Sync(queue=3, push_next=True)], ErrorCode.ILLEGAL_FIELD, 0)
    expect([Load(mem_id=MemId.INP, pop_prev=True, sram_base=5000)], ErrorCode.ILLEGAL_DEP, 0)
    expect([Load(mem_id=MemId.INP, sram_base=2048, y_size=1, x_size=1, dram_base=10**6)],
           ErrorCode.SRAM_RANGE, 0)


def test_errors_are_found_at_fetch_even_behind_a_stalled_unit() -> None:
    # Instruction 0 would deadlock, but fetch reaches the illegal instruction 1 first.
    expect([Gemm(pop_prev=True), bytes([7]) + bytes(15)], ErrorCode.ILLEGAL_OPCODE, 1)


def test_overflow_is_found_before_waiting_for_a_full_queue() -> None:
    # Instruction 0 blocks the 1-deep load queue forever; fetch still checks instruction 1.
    blocked = Load(mem_id=MemId.INP, pop_next=True, push_next=True)
    expect([blocked, Load(mem_id=MemId.INP, push_next=True)], ErrorCode.TOKEN_OVERFLOW, 1,
           token_depth=1, insn_queue_depth=1)
    expect([blocked, Load(mem_id=MemId.INP)], ErrorCode.DEADLOCK, 0, insn_queue_depth=1)


def test_finish_ends_the_program() -> None:
    with Npu("fsim") as npu:
        npu.alloc(1024)
        npu.append([OK_LOAD, Sync(queue=Queue.LD, finish=True)])
        npu.append(bytes([7]) + bytes(15))  # never fetched
        stats = npu.run()
        assert (stats.error_code, stats.insns, stats.status) == (ErrorCode.OK, 2, 1)


def test_status_register_layout() -> None:
    with Npu("fsim") as npu:
        npu.append([Alu(alu_op=9)])
        stats = npu.run(check=False)
    assert stats.status == 1 | 2 | (ErrorCode.ILLEGAL_FIELD << 8)
    assert stats.error_pc == 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=24),
       depth=st.integers(1, 4))
def test_random_programs_always_stop(program: list[bytes], depth: int) -> None:
    """Garbage in: the model stops with some defined code, never hangs or crashes."""
    opts = {"inp_rows": 64, "wgt_rows": 64, "acc_rows": 64, "out_rows": 64, "qp_rows": 12,
            "lut_rows": 64, "token_depth": depth, "insn_queue_depth": depth}
    with Npu("fsim", opts) as npu:
        npu.write(npu.alloc(4096), np.arange(4096, dtype=np.uint8))
        npu.append(b"".join(program))
        stats = npu.run(check=False)
    assert stats.error_code in set(ErrorCode) - {ErrorCode.WATCHDOG}
    assert stats.status & 1
    assert stats.error_pc < len(program)
