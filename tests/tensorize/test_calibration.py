"""The cost model's unit costs against single instructions on the reference NPU.

fsim's timing reproduces the RTL's counters (tests/reference_npu/test_fsim_timing.py),
so the instruction costs are measured on fsim (fast) and once on the RTL; the model's
read/write/call formulas must give the same cycles. Whole layers are checked in
tests/e2e/test_tensorize_cycles.py.
"""

from __future__ import annotations

import pytest

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Gemm, Load, MemId, Store
from vendor_sdk.intrinsics.cost import DEFAULT_MODEL, fit_linear


def _busy(npu: Npu, insns: list, unit: str) -> int:
    npu.clear()
    npu.append(insns)
    return int(getattr(npu.run(), f"{unit}_busy"))


def _check_reads_and_writes(npu: Npu) -> None:
    model = DEFAULT_MODEL
    src = npu.alloc(64 * 1024)
    for rows in (1, 4, 8, 16, 64, 256, 1000):
        got = _busy(npu, [Load(mem_id=MemId.INP, dram_base=src, y_size=rows, x_size=1,
                               x_stride=1)], "ld")
        assert got == model.read(rows, 8), (rows, got)          # int8 rows: one beat
    for rows in (1, 4, 16, 64):
        got = _busy(npu, [Load(mem_id=MemId.ACC, dram_base=src, y_size=rows, x_size=1,
                               x_stride=1)], "ex")
        assert got == model.read(rows, 32), (rows, got)         # int32 rows: two beats
        got = _busy(npu, [Store(mem_id=MemId.OUT, dram_base=src, y_size=rows, x_size=1,
                                x_stride=1)], "st")
        assert got == model.write(rows, 8), (rows, got)


def test_reads_and_writes_match_fsim() -> None:
    with Npu("fsim", {"dim": 8}) as npu:
        _check_reads_and_writes(npu)


def test_reads_and_writes_match_rtl() -> None:
    from reference_npu.sim import build_reference_rtl

    with Npu("rtl", {"lib": build_reference_rtl()}) as npu:
        _check_reads_and_writes(npu)


def test_isolated_call_fit() -> None:
    """One GEMM with its weight load: fixed cost + a cycle per row (fitted)."""
    with Npu("fsim", {"dim": 8}) as npu:
        gemms = [(float(rows), float(_busy(npu, [Gemm(load_w=True, iter_out=rows, iter_in=1,
                                                      inp_fo=1, acc_fo=1)], "ex")))
                 for rows in (1, 8, 64, 256, 1000)]
    fixed, per_row = fit_linear(gemms)
    assert fixed == pytest.approx(DEFAULT_MODEL.call_fixed, abs=0.01)
    assert per_row == pytest.approx(DEFAULT_MODEL.call_per_row, abs=0.001)


@pytest.mark.parametrize(("n", "rows"), [(2, 16), (8, 16), (16, 16), (8, 64), (16, 128)])
def test_back_to_back_calls(n: int, rows: int) -> None:
    """Calls that each load weights overlap two weight banks deep (cost.CostModel.calls)."""
    with Npu("fsim", {"dim": 8}) as npu:
        got = _busy(npu, [Gemm(load_w=True, wgt_tile=k % 4, iter_out=rows, iter_in=1,
                               inp_fo=1, acc_fo=1) for k in range(n)], "ex")
    want = DEFAULT_MODEL.calls(n, rows)
    print(f"{n} calls of {rows} rows: fsim {got}, model {want:.1f}")
    assert abs(want - got) <= 0.03 * got
