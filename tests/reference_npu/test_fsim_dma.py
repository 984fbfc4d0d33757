"""fsim LOAD/STORE: 2-D strides, padding, element types, against a numpy model of the README."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Gemm, Load, MemId, Store

DIM = 8


def ref_load(
    src: np.ndarray, ys: int, xs: int, stride: int, pads: tuple[int, int, int, int], pad: int
) -> np.ndarray:
    """SRAM rows a LOAD writes: src holds DRAM rows (elements) from dram_base on."""
    yp0, yp1, xp0, xp1 = pads
    out = np.full((yp0 + ys + yp1, xp0 + xs + xp1, src.shape[1]), pad, dtype=np.int32)
    for y in range(ys):
        for x in range(xs):
            out[yp0 + y, xp0 + x] = src[y * stride + x]
    return out.reshape(-1, src.shape[1])


def load_box(npu: Npu, mem: MemId, src: np.ndarray, ys: int, xs: int, stride: int,
             pads: tuple[int, int, int, int], pad: int) -> np.ndarray:
    """Run LOAD into `mem`, bring the rows back as int32 through ACC, return them."""
    addr = npu.put(src)
    rows = (pads[0] + ys + pads[1]) * (pads[2] + xs + pads[3])
    out = npu.alloc(rows * DIM * 4)
    box = dict(dram_base=addr, y_size=ys, x_size=xs, x_stride=stride, y_pad0=pads[0],
               y_pad1=pads[1], x_pad0=pads[2], x_pad1=pads[3], pad_val=pad)
    if mem == MemId.INP:
        # INP cannot be stored directly: an identity weight tile copies it into ACC.
        wgt = npu.put(np.eye(DIM, dtype=np.int8))
        npu.append([
            Load(mem_id=MemId.WGT, dram_base=wgt, y_size=1, x_size=DIM, x_stride=DIM),
            Load(mem_id=MemId.INP, sram_base=3, push_next=True, **box),
            Gemm(load_w=True, inp_base=3, iter_out=rows, iter_in=1, inp_fo=1, acc_fo=1,
                 pop_prev=True, push_next=True),
        ])
    else:
        npu.append([Load(mem_id=mem, push_next=True, **box)])
    npu.append([Store(mem_id=MemId.ACC, dram_base=out, y_size=1, x_size=rows, x_stride=rows,
                      pop_prev=True)])
    npu.run()
    return npu.read(out, (rows, DIM), np.int32)


box_params = st.tuples(
    st.integers(0, 4), st.integers(0, 5), st.integers(0, 3),
    st.tuples(*[st.integers(0, 3)] * 4), st.integers(-128, 127),
).filter(lambda p: (p[3][0] + p[0] + p[3][1]) * (p[3][2] + p[1] + p[3][3]) > 0)


@settings(max_examples=40, deadline=None)
@given(params=box_params, mem=st.sampled_from([MemId.INP, MemId.ACC, MemId.ACC8]),
       seed=st.integers(0, 2**32 - 1))
def test_load_matches_reference(params: tuple, mem: MemId, seed: int) -> None:
    ys, xs, extra, pads, pad = params
    stride = xs + extra
    rng = np.random.default_rng(seed)
    n_src = max(1, (ys - 1) * stride + xs) if ys and xs else 1
    if mem == MemId.ACC:
        src = rng.integers(-(2**31), 2**31, size=(n_src, DIM), dtype=np.int32)
    else:
        src = rng.integers(-128, 128, size=(n_src, DIM), dtype=np.int8)
    with Npu("fsim") as npu:
        got = load_box(npu, mem, src, ys, xs, stride, pads, pad)
    np.testing.assert_array_equal(got, ref_load(src.astype(np.int32), ys, xs, stride, pads, pad))


def test_stride_zero_repeats_one_row() -> None:
    bias = np.arange(DIM, dtype=np.int32) * -1000
    with Npu("fsim") as npu:
        got = load_box(npu, MemId.ACC, bias[None, :], 3, 1, 0, (0, 0, 0, 0), 0)
    np.testing.assert_array_equal(got, np.tile(bias, (3, 1)))


def test_store_writes_strided_rows_and_leaves_gaps() -> None:
    rng = np.random.default_rng(7)
    acc = rng.integers(-(2**31), 2**31, size=(6, DIM), dtype=np.int32)
    with Npu("fsim") as npu:
        src = npu.put(acc)
        sentinel = np.full((2 * 5, DIM), 0x5A5A5A5A, dtype=np.int32)
        dst = npu.put(sentinel)
        npu.append([
            Load(mem_id=MemId.ACC, dram_base=src, y_size=1, x_size=6, x_stride=6, push_next=True),
            # 2 rows of 3 elements, 5 elements apart in DRAM.
            Store(mem_id=MemId.ACC, dram_base=dst, y_size=2, x_size=3, x_stride=5, pop_prev=True),
        ])
        stats = npu.run()
        got = npu.read(dst, (10, DIM), np.int32)
    expected = sentinel.copy()
    expected[0:3] = acc[0:3]
    expected[5:8] = acc[3:6]
    np.testing.assert_array_equal(got, expected)
    assert stats.dma_rd_bytes == 6 * DIM * 4
    assert stats.dma_wr_bytes == 6 * DIM * 4


def test_zero_sized_transfers_touch_nothing() -> None:
    with Npu("fsim") as npu:
        dst = npu.put(np.full(DIM, 3, dtype=np.int32))
        npu.append([
            Load(mem_id=MemId.ACC, dram_base=10**6, y_size=0, x_size=4, push_next=True),
            Store(mem_id=MemId.ACC, dram_base=dst, y_size=1, x_size=0, pop_prev=True),
        ])
        stats = npu.run()
        assert stats.dma_rd_bytes == stats.dma_wr_bytes == 0
        np.testing.assert_array_equal(npu.read(dst, DIM, np.int32), 3)
