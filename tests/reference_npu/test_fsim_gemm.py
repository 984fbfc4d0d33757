"""fsim GEMM, REQ and LUT against numpy models written from the README semantics."""

from __future__ import annotations

import numpy as np
import pytest

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Gemm, Insn, Load, Lut, MemId, Req, Store

DIM = 8


def wrap32(v: np.ndarray) -> np.ndarray:
    return (((v.astype(np.int64) + 2**31) % 2**32) - 2**31).astype(np.int32)


def ref_requant(acc: int, mult: int, shift: int, zp: int, lo: int, hi: int) -> int:
    """README: clamp(zp + ((acc*mult + 2^(sh-1)) >> sh), lo, hi), sh = shift & 63, then int8."""
    sh = shift & 63
    p = acc * mult
    v = zp + ((p + (1 << (sh - 1))) >> sh if sh else p)
    v = min(max(v, lo), hi)
    return min(max(v, -128), 127)


def qp_rows(mult: np.ndarray, shift: np.ndarray, zp: int, lo: int, hi: int) -> np.ndarray:
    """One QP descriptor: rows mult[DIM], shift[DIM], {zp, lo, hi, 0...}."""
    third = np.zeros(DIM, dtype=np.int32)
    third[:3] = zp, lo, hi
    return np.stack([mult.astype(np.int32), shift.astype(np.int32), third])


def dense_program(x: int, w: int, bias: int, qp: int, out: int, m: int, kt: int, nt: int,
                  inp_base: int = 0) -> list[Insn]:
    """bias -> ACC, sum over k tiles of GEMM, per-channel REQ -> OUT (row m*nt + n_tile)."""
    prog: list[Insn] = [
        Load(mem_id=MemId.WGT, dram_base=w, y_size=1, x_size=kt * nt * DIM, x_stride=0),
        Load(mem_id=MemId.INP, sram_base=inp_base, dram_base=x, y_size=1, x_size=m * kt,
             push_next=True),
        Load(mem_id=MemId.QP, dram_base=qp, y_size=1, x_size=3 * nt),
        # x_stride = 0: every row of the box reads the same bias tiles.
        Load(mem_id=MemId.ACC, dram_base=bias, y_size=m, x_size=nt, x_stride=0),
    ]
    for n in range(nt):
        for k in range(kt):
            prog.append(Gemm(accum=True, load_w=True, wgt_tile=k * nt + n, inp_base=inp_base + k,
                             acc_base=n, iter_out=m, iter_in=1, inp_fo=kt, acc_fo=nt,
                             pop_prev=(n == 0 and k == 0)))
    for n in range(nt):
        prog.append(Req(src_acc=n, dst=n, qp_idx=n, iter_out=m, iter_in=1, src_fo=nt, dst_fo=nt,
                        per_chan=True, push_next=(n == nt - 1)))
    prog.append(Store(mem_id=MemId.OUT, dram_base=out, y_size=1, x_size=m * nt, x_stride=0,
                      pop_prev=True))
    return prog


def weight_tiles(wmat: np.ndarray) -> np.ndarray:
    """(K, N) -> WGT rows: tile (k, n) at rows (k*NT + n)*DIM.., row = input channel."""
    kt, nt = wmat.shape[0] // DIM, wmat.shape[1] // DIM
    return wmat.reshape(kt, DIM, nt, DIM).transpose(0, 2, 1, 3).copy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_layer_with_bias_and_per_channel_requant(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, kt, nt = 13, 3, 2
    xmat = rng.integers(-128, 128, size=(m, kt * DIM), dtype=np.int8)
    wmat = rng.integers(-128, 128, size=(kt * DIM, nt * DIM), dtype=np.int8)
    bias = rng.integers(-(2**20), 2**20, size=nt * DIM, dtype=np.int32)
    mult = rng.integers(2**29, 2**31, size=nt * DIM, dtype=np.int64).astype(np.int32)
    shift = rng.integers(36, 44, size=nt * DIM, dtype=np.int32)
    zp, lo, hi = -3, -128, 100
    qp = np.concatenate([qp_rows(mult[n * DIM:(n + 1) * DIM], shift[n * DIM:(n + 1) * DIM],
                                 zp, lo, hi) for n in range(nt)])
    with Npu("fsim") as npu:
        out = npu.alloc(m * nt * DIM)
        npu.append(dense_program(npu.put(xmat), npu.put(weight_tiles(wmat)), npu.put(bias),
                                 npu.put(qp), out, m, kt, nt))
        stats = npu.run()
        got = npu.read(out, (m, nt * DIM), np.int8)
    acc = wrap32(xmat.astype(np.int64) @ wmat.astype(np.int64) + bias)
    want = np.array([[ref_requant(int(acc[i, c]), int(mult[c]), int(shift[c]), zp, lo, hi)
                      for c in range(nt * DIM)] for i in range(m)], dtype=np.int8)
    np.testing.assert_array_equal(got, want)
    assert stats.gemm_rows == m * kt * nt
    assert stats.cycles_are_estimate and stats.cycles > stats.gemm_rows


def test_gemm_accumulator_wraps_and_accum_zero_overwrites() -> None:
    inp = np.full((2, DIM), 127, dtype=np.int8)
    wgt = np.full((DIM, DIM), 127, dtype=np.int8)
    start = np.full((2, DIM), 2**31 - 10, dtype=np.int32)
    with Npu("fsim") as npu:
        a_inp, a_wgt, a_acc = npu.put(inp), npu.put(wgt), npu.put(start)
        out = npu.alloc(2 * DIM * 4)
        npu.append([
            Load(mem_id=MemId.INP, dram_base=a_inp, y_size=1, x_size=2),
            Load(mem_id=MemId.WGT, dram_base=a_wgt, y_size=1, x_size=DIM, push_next=True),
            Load(mem_id=MemId.ACC, dram_base=a_acc, y_size=1, x_size=2),
            Gemm(accum=True, load_w=True, iter_out=1, iter_in=1, pop_prev=True),
            # Row 1, accum = 0: the old ACC value is dropped; the weights stay loaded.
            Gemm(accum=False, inp_base=1, acc_base=1, iter_out=1, iter_in=1, push_next=True),
            Store(mem_id=MemId.ACC, dram_base=out, y_size=1, x_size=2, pop_prev=True),
        ])
        npu.run()
        got = npu.read(out, (2, DIM), np.int32)
    dot = 127 * 127 * DIM
    np.testing.assert_array_equal(got[0], wrap32(np.full(DIM, 2**31 - 10 + dot)))
    np.testing.assert_array_equal(got[1], np.full(DIM, dot))


def test_weight_row_is_input_channel() -> None:
    # W[k][n] = 1 only for k = 2, n = 5: output channel 5 copies input channel 2.
    wgt = np.zeros((DIM, DIM), dtype=np.int8)
    wgt[2, 5] = 1
    inp = np.arange(1, DIM + 1, dtype=np.int8)[None, :]
    with Npu("fsim") as npu:
        a_inp, a_wgt, out = npu.put(inp), npu.put(wgt), npu.alloc(DIM * 4)
        npu.append([
            Load(mem_id=MemId.INP, dram_base=a_inp, y_size=1, x_size=1),
            Load(mem_id=MemId.WGT, dram_base=a_wgt, y_size=1, x_size=DIM, push_next=True),
            Gemm(load_w=True, iter_out=1, iter_in=1, pop_prev=True, push_next=True),
            Store(mem_id=MemId.ACC, dram_base=out, y_size=1, x_size=1, pop_prev=True),
        ])
        npu.run()
        got = npu.read(out, DIM, np.int32)
    want = np.zeros(DIM, dtype=np.int32)
    want[5] = inp[0, 2]
    np.testing.assert_array_equal(got, want)


# (acc, mult, shift, zp, lo, hi): ties, shift 0, shift >= 32, 63 and 64 (= 0), extremes.
REQ_CASES = [
    (-3, 1, 1, 0, -128, 127), (3, 1, 1, 0, -128, 127), (-1, 1, 1, 0, -128, 127),
    (-5, 1, 2, 0, -128, 127), (100, 1, 0, 0, -128, 127), (1000, 1, 0, 0, -128, 127),
    (-(2**31), -(2**31), 63, 0, -128, 127), (-(2**31), -(2**31), 62, 0, -128, 127),
    (2**31 - 1, 2**31 - 1, 40, 5, -128, 127), (7, 3, 64, 0, -1000, 1000),
    (50, 1, 0, 0, 10, 20), (50, 1, 0, 0, 30, 20), (0, 1, 0, -7, -300, 300),
    (-(2**31), 2**31 - 1, 33, 0, -128, 127), (12345, -77, 10, 1, -128, 127),
    (-12345, 2**30, 31, 0, -128, 127),
]


@pytest.mark.parametrize("per_chan", [True, False])
def test_requant_edge_cases(per_chan: bool) -> None:
    cases = REQ_CASES
    n = len(cases)
    with Npu("fsim") as npu:
        out = npu.alloc(n * DIM)
        qps, accs = [], []
        for acc, mult, shift, zp, lo, hi in cases:
            # Lane 0 carries the case; other lanes differ so per_chan matters.
            m_lane = np.array([mult] + [3] * (DIM - 1), dtype=np.int64).astype(np.int32)
            s_lane = np.array([shift] + [1] * (DIM - 1), dtype=np.int32)
            qps.append(qp_rows(m_lane, s_lane, zp, lo, hi))
            accs.append(np.full(DIM, acc, dtype=np.int32))
        a_qp, a_acc = npu.put(np.concatenate(qps)), npu.put(np.stack(accs))
        prog: list[Insn] = [
            Load(mem_id=MemId.QP, dram_base=a_qp, y_size=1, x_size=3 * n),
            Load(mem_id=MemId.ACC, dram_base=a_acc, y_size=1, x_size=n),
        ]
        prog += [Req(src_acc=i, dst=i, qp_idx=i, iter_out=1, iter_in=1, per_chan=per_chan)
                 for i in range(n)]
        prog[-1] = Req(src_acc=n - 1, dst=n - 1, qp_idx=n - 1, iter_out=1, iter_in=1,
                       per_chan=per_chan, push_next=True)
        prog.append(Store(mem_id=MemId.OUT, dram_base=out, y_size=1, x_size=n, pop_prev=True))
        npu.append(prog)
        npu.run()
        got = npu.read(out, (n, DIM), np.int8)
    for i, (acc, mult, shift, zp, lo, hi) in enumerate(cases):
        assert got[i, 0] == ref_requant(acc, mult, shift, zp, lo, hi), cases[i]
        other = ref_requant(acc, 3, 1, zp, lo, hi) if per_chan else got[i, 0]
        assert (got[i, 1:] == other).all(), cases[i]


def test_two_layers_chained_on_chip_through_inp() -> None:
    """REQ with dst_inp writes layer 1's int8 output where layer 2's GEMM reads it."""
    rng = np.random.default_rng(11)
    m = 5
    x = rng.integers(-128, 128, size=(m, DIM), dtype=np.int8)
    w1 = rng.integers(-128, 128, size=(DIM, DIM), dtype=np.int8)
    w2 = rng.integers(-128, 128, size=(DIM, DIM), dtype=np.int8)
    qp = qp_rows(np.full(DIM, 2**30), np.full(DIM, 40), 0, -128, 127)
    with Npu("fsim") as npu:
        a_x, a_w = npu.put(x), npu.put(np.concatenate([w1, w2]))
        a_qp, out = npu.put(qp), npu.alloc(m * DIM * 4)
        npu.append([
            Load(mem_id=MemId.INP, dram_base=a_x, y_size=1, x_size=m),
            Load(mem_id=MemId.WGT, dram_base=a_w, y_size=1, x_size=2 * DIM, push_next=True),
            Load(mem_id=MemId.QP, dram_base=a_qp, y_size=1, x_size=3),
            Gemm(load_w=True, wgt_tile=0, iter_out=m, iter_in=1, inp_fo=1, acc_fo=1,
                 pop_prev=True),
            Req(src_acc=0, dst=100, iter_out=m, iter_in=1, src_fo=1, dst_fo=1, dst_inp=True),
            Gemm(load_w=True, wgt_tile=1, inp_base=100, acc_base=50, iter_out=m, iter_in=1,
                 inp_fo=1, acc_fo=1, push_next=True),
            Store(mem_id=MemId.ACC, dram_base=out, sram_base=50, y_size=1, x_size=m,
                  pop_prev=True),
        ])
        npu.run()
        got = npu.read(out, (m, DIM), np.int32)
    h = (x.astype(np.int64) @ w1).astype(np.int64)
    h8 = np.array([[ref_requant(int(v), 2**30, 40, 0, -128, 127) for v in row] for row in h])
    np.testing.assert_array_equal(got, h8 @ w2.astype(np.int64))


def test_lut_indexes_with_the_low_byte() -> None:
    rng = np.random.default_rng(5)
    tables = rng.integers(-128, 128, size=(2, 256), dtype=np.int8)
    acc = rng.integers(-(2**31), 2**31, size=(4, DIM), dtype=np.int32)
    with Npu("fsim") as npu:
        a_lut, a_acc, out = npu.put(tables), npu.put(acc), npu.alloc(4 * DIM)
        npu.append([
            Load(mem_id=MemId.LUT, dram_base=a_lut, y_size=1, x_size=2 * 256 // DIM),
            Load(mem_id=MemId.ACC, dram_base=a_acc, y_size=1, x_size=4),
            Lut(src_acc=0, dst=0, table=1, iter_out=2, iter_in=2, src_fo=2, src_fi=1, dst_fo=2,
                dst_fi=1, push_next=True),
            Store(mem_id=MemId.OUT, dram_base=out, y_size=1, x_size=4, pop_prev=True),
        ])
        npu.run()
        got = npu.read(out, (4, DIM), np.int8)
    np.testing.assert_array_equal(got, tables[1][acc.view(np.uint32) & 0xFF])


def test_cycle_estimate_follows_the_token_chain() -> None:
    """A GEMM that waits for its load's token starts after it; one that does not, overlaps."""

    def cycles(wait: bool) -> int:
        with Npu("fsim") as npu:
            x = npu.put(np.zeros((64, DIM), dtype=np.int8))
            npu.append([
                Load(mem_id=MemId.INP, dram_base=x, y_size=1, x_size=64, push_next=wait),
                Gemm(iter_out=64, iter_in=1, inp_fo=1, acc_fo=1, pop_prev=wait),
            ])
            stats = npu.run()
            assert stats.cycles_are_estimate
            # 64 one-beat rows, 8 requests in flight over an 18-cycle round trip
            assert stats.ld_busy == 8 + 64 * 9 // 4
            assert stats.ex_busy == 1 + 64 + 2 * DIM  # issue, rows, pipeline drain
            return stats.cycles, stats.ld_busy + stats.ex_busy

    waited, serial = cycles(wait=True)
    assert waited >= serial
    assert cycles(wait=False)[0] < waited
