"""fsim ALU: every op, immediate and register forms, rounding shift, loop strides."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Alu, AluOp, Insn, Load, MemId, Queue, Store, Sync

DIM = 8


def ref_alu(op: AluOp, x: int, y: int) -> int:
    """README semantics on Python ints, then wrapped to int32."""
    if op == AluOp.ADD:
        v = x + y
    elif op == AluOp.SUB:
        v = x - y
    elif op == AluOp.MAX:
        v = max(x, y)
    elif op == AluOp.MIN:
        v = min(x, y)
    elif op == AluOp.MUL:
        v = x * y
    elif op == AluOp.SHR:
        s = y & 31
        v = (x + (1 << (s - 1))) >> s if s else x
    elif op == AluOp.SHL:
        v = x << (y & 31)
    else:
        v = y
    return ((v + 2**31) % 2**32) - 2**31


def run_acc_program(acc: np.ndarray, body: list[Insn]) -> np.ndarray:
    """Load acc into ACC rows 0.., run body (exec queue), return ACC rows 0..len(acc)."""
    n = len(acc)
    with Npu("fsim") as npu:
        src, out = npu.put(acc.astype(np.int32)), npu.alloc(n * DIM * 4)
        npu.append([Load(mem_id=MemId.ACC, dram_base=src, y_size=1, x_size=n), *body])
        npu.append([Sync(queue=Queue.EX, push_next=True),
                    Store(mem_id=MemId.ACC, dram_base=out, y_size=1, x_size=n, pop_prev=True)])
        npu.run()
        return npu.read(out, (n, DIM), np.int32)


int32s = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(list(AluOp)), xs=st.lists(int32s, min_size=DIM, max_size=DIM),
       ys=st.lists(int32s, min_size=DIM, max_size=DIM), imm=st.integers(-(2**15), 2**15 - 1))
def test_alu_ops_register_and_immediate(op: AluOp, xs: list[int], ys: list[int], imm: int) -> None:
    acc = np.array([xs, ys, xs], dtype=np.int32)
    got = run_acc_program(acc, [
        Alu(alu_op=op, dst=0, src=1, iter_out=1, iter_in=1),
        Alu(alu_op=op, use_imm=True, imm=imm, dst=2, iter_out=1, iter_in=1),
    ])
    assert got[0].tolist() == [ref_alu(op, x, y) for x, y in zip(xs, ys, strict=True)]
    assert got[1].tolist() == ys
    assert got[2].tolist() == [ref_alu(op, x, imm) for x in xs]


@pytest.mark.parametrize(
    ("x", "shift", "want"),
    [(-3, 1, -1), (3, 1, 2), (-1, 1, 0), (-5, 2, -1), (-6, 2, -1), (-7, 2, -2), (5, 0, 5),
     (2**31 - 1, 1, 2**30), (-(2**31), 31, -1), (-(2**31), 32, -(2**31)), (1, 33, 1),
     (-(2**30), 31, 0)],
)
def test_rounding_shift_right(x: int, shift: int, want: int) -> None:
    """Halves round towards +infinity; the amount is taken mod 32."""
    got = run_acc_program(np.full((1, DIM), x), [
        Alu(alu_op=AluOp.SHR, use_imm=True, imm=shift, iter_out=1, iter_in=1)])
    assert (got == want).all()
    assert ref_alu(AluOp.SHR, x, shift) == want


def test_max_pool_and_relu_with_loop_strides() -> None:
    """2x2 max-pool over a 4x4 grid of rows into rows 16..19, then relu (MAX imm 0)."""
    rng = np.random.default_rng(3)
    grid = rng.integers(-1000, 1000, size=(16, DIM), dtype=np.int32)
    acc = np.concatenate([grid, np.full((4, DIM), -(2**31), dtype=np.int32)])
    body: list[Insn] = []
    for py in range(2):
        for px in range(2):
            # dst stays put (fo = fi = 0); src walks the 2x2 window.
            body.append(Alu(alu_op=AluOp.MAX, dst=16 + 2 * py + px, src=8 * py + 2 * px,
                            iter_out=2, iter_in=2, src_fo=4, src_fi=1))
    body.append(Alu(alu_op=AluOp.MAX, use_imm=True, imm=0, dst=16, iter_out=2, iter_in=2,
                    dst_fo=2, dst_fi=1))
    got = run_acc_program(acc, body)
    g = grid.reshape(2, 2, 2, 2, DIM).max(axis=(1, 3)).reshape(4, DIM)
    np.testing.assert_array_equal(got[16:], np.maximum(g, 0))
    np.testing.assert_array_equal(got[:16], grid)


def test_in_place_ops_run_in_loop_order() -> None:
    """src overlapping dst reads values already updated by earlier iterations (prefix sum)."""
    acc = np.tile(np.arange(1, 6, dtype=np.int32)[:, None], (1, DIM))
    got = run_acc_program(acc, [Alu(alu_op=AluOp.ADD, dst=1, src=0, iter_out=1, iter_in=4,
                                    dst_fi=1, src_fi=1)])
    np.testing.assert_array_equal(got[:, 0], [1, 3, 6, 10, 15])
