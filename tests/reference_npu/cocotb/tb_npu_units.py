"""cocotb unit tests of npu_sim_top, one or more per instruction kind and
per error code. Expected values come from numpy models (npu_ref.py) and, for
the random programs, from fsim."""

from __future__ import annotations

import cocotb
import numpy as np
from npu_programs import DRAM_FIRST, random_program
from npu_ref import alu, padded_box, requant
from npu_tb import NpuTb

from reference_npu.isa.encoding import (
    Alu,
    ErrorCode,
    Gemm,
    Load,
    Lut,
    MemId,
    Reg,
    Req,
    Store,
    Sync,
    encode_program,
)

OUT = 8192  # DRAM offset of the output region in these tests


async def setup(dut: object) -> tuple[NpuTb, int]:
    tb = NpuTb(dut)
    await tb.start()
    return tb, await tb.read(Reg.HW_DIM)


def image(*chunks: tuple[int, np.ndarray], size: int = 16384) -> np.ndarray:
    dram = np.zeros(size, dtype=np.uint8)
    for at, data in chunks:
        raw = np.ascontiguousarray(data).view(np.uint8).ravel()
        dram[at:at + raw.size] = raw
    return dram


def read(dram: np.ndarray, at: int, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return dram[at:at + n].view(dtype).reshape(shape)


@cocotb.test()
async def load_store_strides_and_padding(dut: object) -> None:
    """ACC8 with 2-D padding and a row stride, ACC with stride 0 (row repeat), stored strided."""
    tb, dim = await setup(dut)
    rng = np.random.default_rng(1)
    src = rng.integers(-128, 128, (3, 5, dim), dtype=np.int8)      # 3 lines of 5 cells
    bias = rng.integers(-2**31, 2**31, (2, dim), dtype=np.int32)
    dram = image((DRAM_FIRST, src), (4096, bias))
    box = padded_box(src[:, :3], (1, 2), (2, 1), -7)                # 6 x 6 cells
    prog = [
        Load(mem_id=MemId.ACC8, sram_base=3, dram_base=DRAM_FIRST, y_size=3, x_size=3,
             x_stride=5, y_pad0=1, y_pad1=2, x_pad0=2, x_pad1=1, pad_val=-7),
        Load(mem_id=MemId.ACC, sram_base=60, dram_base=4096, y_size=3, x_size=2, x_stride=0),
        Alu(alu_op=0, use_imm=True, imm=0, iter_out=0, iter_in=0, push_next=True),
        Store(mem_id=MemId.ACC, pop_prev=True, sram_base=3, dram_base=OUT, y_size=6,
              x_size=6, x_stride=7),
        Store(mem_id=MemId.ACC, sram_base=60, dram_base=OUT + 6000, y_size=1, x_size=6,
              x_stride=6),
    ]
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    got = read(res.dram, OUT, (6, 7, dim), np.int32)[:, :6]
    assert np.array_equal(got, box.astype(np.int32))
    assert np.array_equal(read(res.dram, OUT + 6000, (6, dim), np.int32), np.tile(bias, (3, 1)))
    assert read(res.dram, OUT, (6, 7, dim), np.int32)[:, 6].sum() == 0   # stride gap untouched


@cocotb.test()
async def inp_padding_through_identity_gemm(dut: object) -> None:
    """INP/WGT loads (load queue) with padding, observed through GEMM with W = I."""
    tb, dim = await setup(dut)
    rng = np.random.default_rng(2)
    src = rng.integers(-128, 128, (2, 2, dim), dtype=np.int8)
    eye = np.eye(dim, dtype=np.int8)
    dram = image((DRAM_FIRST, src), (2048, eye))
    prog = [
        Load(mem_id=MemId.INP, sram_base=0, dram_base=DRAM_FIRST, y_size=2, x_size=2,
             x_stride=2, y_pad0=1, x_pad1=2, pad_val=5),
        Load(mem_id=MemId.WGT, sram_base=dim, dram_base=2048, y_size=1, x_size=dim,
             x_stride=dim, push_next=True),
        Gemm(pop_prev=True, load_w=True, wgt_tile=1, iter_out=12, iter_in=1, inp_fo=1,
             acc_fo=1, push_next=True),
        Store(mem_id=MemId.ACC, pop_prev=True, dram_base=OUT, y_size=12, x_size=1, x_stride=1),
    ]
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    want = padded_box(src, (1, 0), (0, 2), 5).reshape(12, dim).astype(np.int32)
    assert np.array_equal(read(res.dram, OUT, (12, dim), np.int32), want)


@cocotb.test()
async def gemm_tiles_accumulate_and_reuse_weights(dut: object) -> None:
    """C = A @ W over K = 2*DIM (two accumulating GEMMs), weights reused, strided addressing."""
    tb, dim = await setup(dut)
    rng = np.random.default_rng(3)
    m = 12
    a = rng.integers(-128, 128, (m, 2 * dim), dtype=np.int8)
    w = rng.integers(-128, 128, (2 * dim, dim), dtype=np.int8)
    a_rows = np.concatenate([a[:, :dim], a[:, dim:]])             # k-block major
    dram = image((DRAM_FIRST, a_rows), (4096, w))
    prog = [
        Load(mem_id=MemId.INP, dram_base=DRAM_FIRST, y_size=1, x_size=2 * m, x_stride=2 * m),
        Load(mem_id=MemId.WGT, dram_base=4096, y_size=1, x_size=2 * dim, x_stride=2 * dim,
             push_next=True),
        Gemm(pop_prev=True, load_w=True, wgt_tile=0, iter_out=3, iter_in=4, inp_fo=4,
             inp_fi=1, acc_fo=4, acc_fi=1),
        Gemm(accum=True, load_w=True, wgt_tile=1, inp_base=m, iter_out=m, iter_in=1,
             inp_fo=1, acc_fo=1),
        Gemm(accum=True, iter_out=1, iter_in=0, push_next=True),   # empty, keeps weights
        Store(mem_id=MemId.ACC, pop_prev=True, dram_base=OUT, y_size=m, x_size=1, x_stride=1),
    ]
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    want = a.astype(np.int32) @ w.astype(np.int32)
    assert np.array_equal(read(res.dram, OUT, (m, dim), np.int32), want)
    assert res.counters["gemm_rows"] == 2 * m


@cocotb.test()
async def alu_every_op_immediate_and_vector(dut: object) -> None:
    tb, dim = await setup(dut)
    rng = np.random.default_rng(4)
    x = rng.integers(-2**31, 2**31, (16, dim), dtype=np.int32)
    y = rng.integers(-2**31, 2**31, (16, dim), dtype=np.int32)
    y[8:] = rng.integers(-40, 40, (8, dim))                        # shift amounts
    dram = image((DRAM_FIRST, x), (4096, y), size=32768)
    prog: list = [Load(mem_id=MemId.ACC, dram_base=4096, sram_base=1000, y_size=1, x_size=16,
                       x_stride=16)]
    want = []
    for op in range(8):
        for use_imm, imm in ((False, 0), (True, int(rng.integers(-2**15, 2**15)))):
            base = len(want) * 16
            src = 1000 + (8 if op in (5, 6) else 0)
            prog += [
                Load(mem_id=MemId.ACC, dram_base=DRAM_FIRST, sram_base=base, y_size=1,
                     x_size=16, x_stride=16),
                Alu(alu_op=op, use_imm=use_imm, imm=imm, dst=base, src=src, iter_out=2,
                    iter_in=4, dst_fo=4, dst_fi=1, src_fo=4, src_fi=1),
            ]
            b = np.full((8, dim), imm, np.int32) if use_imm else y[src - 1000:src - 992]
            want.append(np.concatenate([alu(op, x[r], b[r])[None] for r in range(8)] + [x[8:]]))
    prog.append(Sync(queue=1, push_next=True))
    prog.append(Store(mem_id=MemId.ACC, pop_prev=True, dram_base=OUT, y_size=1,
                      x_size=16 * len(want), x_stride=16 * len(want)))
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    got = read(res.dram, OUT, (len(want), 16, dim), np.int32)
    for k, w in enumerate(want):
        assert np.array_equal(got[k], w), f"op {k // 2} use_imm {k % 2}"


@cocotb.test()
async def requant_per_channel_and_shared(dut: object) -> None:
    tb, dim = await setup(dut)
    rng = np.random.default_rng(5)
    acc = rng.integers(-2**31, 2**31, (4, dim), dtype=np.int32)
    acc[0] = [2**31 - 1, -2**31, 0, 1, -1, 77, -77, 2**30][:dim] * (dim // min(dim, 8))
    mult = rng.integers(-2**31, 2**31, dim, dtype=np.int32)
    shift = rng.integers(0, 70, dim, dtype=np.int32)
    zlh = np.zeros(dim, np.int32)
    zlh[:3] = -3, -200, 200          # wider than int8: the final saturation matters
    dram = image((DRAM_FIRST, acc), (4096, np.stack([mult, shift, zlh])))
    prog = [
        Load(mem_id=MemId.ACC, dram_base=DRAM_FIRST, y_size=1, x_size=4, x_stride=4),
        Load(mem_id=MemId.QP, sram_base=3, dram_base=4096, y_size=1, x_size=3, x_stride=3),
        Req(src_acc=0, dst=0, qp_idx=1, per_chan=True, iter_out=4, iter_in=1, src_fo=1,
            dst_fo=1),
        Req(src_acc=0, dst=4, qp_idx=1, per_chan=False, iter_out=4, iter_in=1, src_fo=1,
            dst_fo=1, push_next=True),
        Store(mem_id=MemId.OUT, pop_prev=True, dram_base=OUT, y_size=1, x_size=8, x_stride=8),
    ]
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    got = read(res.dram, OUT, (8, dim), np.int8)
    for r in range(4):
        for c in range(dim):
            z, lo, hi = (int(v) for v in zlh[:3])
            assert got[r, c] == requant(int(acc[r, c]), int(mult[c]), int(shift[c]), z, lo, hi)
            assert got[4 + r, c] == requant(int(acc[r, c]), int(mult[0]), int(shift[0]), z, lo,
                                            hi)


@cocotb.test()
async def lut_lookup_into_inp_and_out(dut: object) -> None:
    tb, dim = await setup(dut)
    rng = np.random.default_rng(6)
    tables = rng.integers(-128, 128, (2, 256), dtype=np.int8)
    acc = rng.integers(-2**31, 2**31, (3, dim), dtype=np.int32)
    eye = np.eye(dim, dtype=np.int8)
    dram = image((DRAM_FIRST, acc), (4096, tables), (6000, eye))
    per = 256 // dim
    prog = [
        Load(mem_id=MemId.ACC, dram_base=DRAM_FIRST, y_size=1, x_size=3, x_stride=3),
        Load(mem_id=MemId.LUT, dram_base=4096, y_size=1, x_size=2 * per, x_stride=2 * per),
        Lut(src_acc=0, dst=0, table=1, iter_out=3, iter_in=1, src_fo=1, dst_fo=1),
        Lut(src_acc=0, dst=5, table=0, iter_out=3, iter_in=1, src_fo=1, dst_fo=1, dst_inp=True),
        Sync(queue=1, push_prev=True),
        Load(mem_id=MemId.WGT, pop_next=True, dram_base=6000, y_size=1, x_size=dim,
             x_stride=dim, push_next=True),
        Gemm(pop_prev=True, load_w=True, inp_base=5, acc_base=10, iter_out=3, iter_in=1,
             inp_fo=1, acc_fo=1, push_next=True),
        Store(mem_id=MemId.OUT, pop_prev=True, dram_base=OUT, y_size=1, x_size=3, x_stride=3),
        Store(mem_id=MemId.ACC, sram_base=10, dram_base=OUT + 1024, y_size=1, x_size=3,
              x_stride=3),
    ]
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    idx = (acc & 0xFF).astype(np.int64)
    assert np.array_equal(read(res.dram, OUT, (3, dim), np.int8), tables[1][idx])
    assert np.array_equal(read(res.dram, OUT + 1024, (3, dim), np.int32),
                          tables[0][idx].astype(np.int32))


@cocotb.test()
async def sync_perf_snap_and_finish(dut: object) -> None:
    """perf_snap writes the exact counters; finish ends fetch (the ALU after it never runs)."""
    tb, dim = await setup(dut)
    dram = image((DRAM_FIRST, np.ones((8, dim), np.int8)))
    prog = [
        Load(mem_id=MemId.INP, dram_base=DRAM_FIRST, y_size=1, x_size=8, x_stride=8,
             push_next=True),
        Gemm(pop_prev=True, iter_out=8, iter_in=1, inp_fo=1, acc_fo=1, push_next=True),
        Store(mem_id=MemId.ACC, pop_prev=True, dram_base=OUT, y_size=1, x_size=8, x_stride=8,
              push_prev=True),
        Sync(queue=1, pop_next=True, perf_snap=True, snap_addr=OUT + 4096, finish=True),
        Alu(alu_op=7, use_imm=True, imm=1, iter_out=1, iter_in=1),
    ]
    res = await tb.run(encode_program(prog), dram)
    assert res.error_code == ErrorCode.OK
    snap = read(res.dram, OUT + 4096, (9,), np.uint64)
    names = ("cycles", "gemm_rows", "gemm_busy", "ld_busy", "st_busy", "ex_busy",
             "dma_rd_bytes", "dma_wr_bytes", "insns")
    rec = dict(zip(names, (int(v) for v in snap), strict=True))
    assert rec["gemm_rows"] == 8 and rec["insns"] == 3
    assert rec["dma_rd_bytes"] == 8 * dim and rec["dma_wr_bytes"] == 8 * 4 * dim
    assert 0 < rec["cycles"] <= res.counters["cycles"]
    assert res.counters["insns"] == 4                    # the ALU after finish never ran
    assert res.counters["dma_wr_bytes"] == 8 * 4 * dim   # the snap record is not counted


ERROR_CASES = [
    (ErrorCode.ILLEGAL_OPCODE, [Sync(queue=1), bytes(15) + b"\x00"], 1),
    (ErrorCode.ILLEGAL_MEM, [Store(mem_id=MemId.INP, y_size=1, x_size=1)], 0),
    (ErrorCode.ILLEGAL_FIELD, [Sync(queue=3)], 0),
    (ErrorCode.ILLEGAL_FIELD, [Alu(alu_op=8)], 0),
    (ErrorCode.ILLEGAL_DEP, [Sync(queue=0), Load(mem_id=MemId.INP, push_prev=True)], 1),
    (ErrorCode.SRAM_RANGE, [Gemm(iter_out=2, iter_in=1, acc_base=2047, acc_fo=1)], 0),
    (ErrorCode.DRAM_RANGE, [Load(mem_id=MemId.INP, dram_base=16382, y_size=1, x_size=1)], 0),
    (ErrorCode.TOKEN_OVERFLOW, [Sync(queue=0, push_next=True)] * 17, 16),
    (ErrorCode.DEADLOCK, [Sync(queue=0), Sync(queue=1, pop_prev=True)], 1),
]


@cocotb.test()
async def every_error_code_with_its_pc(dut: object) -> None:
    tb, _ = await setup(dut)
    for code, insns, pc in ERROR_CASES:
        raw = b"".join(i if isinstance(i, bytes) else encode_program([i]) for i in insns)
        if code == ErrorCode.ILLEGAL_OPCODE:
            raw = raw[:16] + bytes([7]) + raw[17:]
        res = await tb.run(raw, np.zeros(16384, np.uint8))
        assert (res.error_code, res.error_pc) == (code, pc), f"{code.name}: {res}"
        assert res.status & 0b11 == 0b11


@cocotb.test()
async def watchdog_stops_a_long_program(dut: object) -> None:
    tb, _ = await setup(dut)
    prog = [Alu(alu_op=0, use_imm=True, imm=1, iter_out=1000, iter_in=1000)]
    res = await tb.run(encode_program(prog), np.zeros(4096, np.uint8), max_cycles=2000)
    assert res.error_code == ErrorCode.WATCHDOG


@cocotb.test()
async def random_programs_match_fsim(dut: object) -> None:
    from reference_npu.bindings import Npu

    tb, dim = await setup(dut)
    for seed in range(5000, 5012):
        program = random_program(seed, dim)
        with Npu("fsim", {"dim": dim}) as npu:
            want, stats = npu.run_image(program.encoded(), program.dram.tobytes())
        res = await tb.run(program.encoded(), program.dram)
        assert (res.error_code, res.error_pc) == (stats.error_code, stats.error_pc), seed
        assert res.dram.tobytes() == want, f"seed {seed}: DRAM differs"
