"""The benchmark schedules (double-buffered GEMM and 3x3 conv with requant)
compute bit-exactly what numpy computes, on the RTL and on fsim."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import ErrorCode, encode_program
from reference_npu.sim import RtlModel, RtlParams

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_npu_schedules import Workload, conv3x3_workload, gemm_workload

CASES = {
    "gemm-8": (8, lambda: gemm_workload(96, 64, 48, 8, seed=1, m_tile=32, n_group=4)),
    "gemm-16": (16, lambda: gemm_workload(64, 64, 64, 16, seed=2, m_tile=32, n_group=2)),
    "conv-8": (8, lambda: conv3x3_workload(8, 12, 16, 24, 8, seed=3, th=4, tw=6)),
    "conv-4": (4, lambda: conv3x3_workload(6, 6, 8, 8, 4, seed=4, th=3, tw=6)),
}


def output(workload: Workload, dram: bytes | np.ndarray) -> np.ndarray:
    data = np.frombuffer(bytes(dram), dtype=np.uint8)
    return data[workload.out_addr:workload.out_addr + workload.expected.size]


@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_matches_numpy_on_rtl_and_fsim(case: str) -> None:
    dim, make = CASES[case]
    workload = make()
    insns = encode_program(list(workload.insns))
    dram = workload.dram.copy()
    result = RtlModel(RtlParams(dim=dim)).run(insns, dram)
    assert result.error_code == ErrorCode.OK
    assert np.array_equal(output(workload, dram), workload.expected)
    assert result.gemm_rows * dim * dim == workload.useful_macs   # no padded rows issued
    with Npu("fsim", {"dim": dim}) as npu:
        fsim_dram, stats = npu.run_image(insns, workload.dram.tobytes())
    assert stats.error_code == ErrorCode.OK
    assert np.array_equal(output(workload, fsim_dram), workload.expected)
