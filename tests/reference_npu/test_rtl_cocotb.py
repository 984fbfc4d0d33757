"""cocotb testbenches on npu_sim_top, run through the cocotb Python runner with
one cached Verilator build per configuration (vendor_sdk.sim)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Alu, AluOp, Gemm, Load, MemId, Queue, Req, Store, Sync
from reference_npu.sim import DEFAULT_PARAMS, RtlParams, npu_cocotb_design
from vendor_sdk.sim import run_cocotb

TB_DIR = pathlib.Path(__file__).resolve().parent / "cocotb"
DIM = 8


def run_tb(module: str, tmp_path: pathlib.Path, params: RtlParams = DEFAULT_PARAMS,
           extra_env: dict[str, str] | None = None) -> None:
    env = {
        "NPU_DRAM_IN": str(tmp_path / "dram_in.bin"),
        "NPU_INSNS_IN": str(tmp_path / "insns.bin"),
        "NPU_DRAM_OUT": str(tmp_path / "dram_out.bin"),
        **(extra_env or {}),
    }
    result = run_cocotb(npu_cocotb_design(params), module, tmp_path, module_dirs=[TB_DIR],
                        extra_env=env)
    assert result.tests > 0, f"no cocotb tests ran ({result.results_xml})"
    assert not result.failures, "\n".join(result.failures)


@pytest.mark.parametrize("dim", [8, 4])
def test_units(dim: int, tmp_path: pathlib.Path) -> None:
    run_tb("tb_npu_units", tmp_path, RtlParams(dim=dim))


def write_traces(trace_dir: pathlib.Path) -> None:
    """Two traced runs: a small requantized layer, and a program that stops with an error."""
    rng = np.random.default_rng(7)
    with Npu("trace", {"dir": trace_dir}) as npu:
        x = npu.put(rng.integers(-128, 128, (16, DIM), dtype=np.int8))
        w = npu.put(rng.integers(-128, 128, (DIM, DIM), dtype=np.int8))
        zlh = np.zeros(DIM, np.int32)
        zlh[:3] = 3, -128, 127
        qp = npu.put(np.stack([rng.integers(2**29, 2**31, DIM, dtype=np.int32),
                               np.full(DIM, 37, np.int32), zlh]))
        out = npu.alloc(16 * DIM)
        npu.append([
            Load(mem_id=MemId.INP, dram_base=x, y_size=1, x_size=16, x_stride=16),
            Load(mem_id=MemId.WGT, dram_base=w, y_size=1, x_size=DIM, x_stride=DIM,
                 push_next=True),
            Load(mem_id=MemId.QP, dram_base=qp, y_size=1, x_size=3, x_stride=3),
            Gemm(pop_prev=True, load_w=True, iter_out=16, iter_in=1, inp_fo=1, acc_fo=1),
            Alu(alu_op=AluOp.MAX, use_imm=True, imm=0, iter_out=16, iter_in=1, dst_fo=1),
            Req(per_chan=True, iter_out=16, iter_in=1, src_fo=1, dst_fo=1, push_next=True),
            Store(mem_id=MemId.OUT, pop_prev=True, dram_base=out, y_size=1, x_size=16,
                  x_stride=16),
        ])
        npu.run()
        npu.clear()
        npu.append([Sync(queue=Queue.EX), Gemm(iter_out=2, iter_in=1, acc_base=2047, acc_fo=1)])
        npu.run(check=False)


def test_trace_replay(tmp_path: pathlib.Path) -> None:
    write_traces(tmp_path / "trace")
    run_tb("tb_npu_trace", tmp_path, extra_env={"NPU_TRACE_DIR": str(tmp_path / "trace")})
