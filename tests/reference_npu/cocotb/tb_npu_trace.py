"""cocotb replay of a `trace` backend directory on the RTL.

Every run_* directory under $NPU_TRACE_DIR (insns.bin, dram_in.bin,
manifest.json, dram_out.bin) is run on npu_sim_top; the DRAM regions the
STOREs wrote, the stop reason and the exact counters must match what fsim
recorded. This is also how a vendor brings up their own RTL behind the same
top-level contract: point the design at it and replay traces.
"""

from __future__ import annotations

import os
import pathlib

import cocotb
import numpy as np
from npu_tb import NpuTb

from reference_npu.driver.replay import load_trace, trace_runs
from reference_npu.isa.encoding import Reg

EXACT = ("gemm_rows", "dma_rd_bytes", "dma_wr_bytes", "insns")


@cocotb.test()
async def replay_trace_directory(dut: object) -> None:
    runs = trace_runs(pathlib.Path(os.environ["NPU_TRACE_DIR"]))
    assert runs, "no trace runs to replay"
    tb = NpuTb(dut)
    await tb.start()
    dim = await tb.read(Reg.HW_DIM)
    for run_dir in runs:
        run = load_trace(run_dir)
        assert run.hw_config["dim"] == dim, f"{run_dir}: traced for DIM {run.hw_config['dim']}"
        res = await tb.run(run.insns, np.frombuffer(run.dram_in, dtype=np.uint8))
        counters = {name: res.counters[name] for name in EXACT}
        problems = run.mismatches(res.dram.tobytes(), res.error_code, res.error_pc, counters)
        assert not problems, f"{run_dir.name}: " + "; ".join(problems)
        dut._log.info("%s: %d instructions replayed, %d cycles", run_dir.name, run.n_insns,
                      res.counters["cycles"])
