"""cocotb speed probe: runs one program (files named by $NPU_BENCH_*) on
npu_sim_top and writes simulated cycles and wall time to $NPU_BENCH_RESULT."""

from __future__ import annotations

import json
import os
import pathlib
import time

import cocotb
import numpy as np
from npu_tb import NpuTb


@cocotb.test()
async def run_program(dut: object) -> None:
    insns = pathlib.Path(os.environ["NPU_BENCH_INSNS"]).read_bytes()
    dram = np.fromfile(os.environ["NPU_BENCH_DRAM"], dtype=np.uint8)
    tb = NpuTb(dut)
    await tb.start()
    start = time.perf_counter()
    res = await tb.run(insns, dram, max_cycles=50_000_000)
    wall = time.perf_counter() - start
    pathlib.Path(os.environ["NPU_BENCH_RESULT"]).write_text(json.dumps(
        {"cycles": res.counters["cycles"], "wall": wall, "error_code": int(res.error_code),
         "dram_out": os.environ["NPU_DRAM_OUT"]}))
    assert res.error_code == 0
