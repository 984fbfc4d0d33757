"""cocotb testbench of check-intrinsics: replay many traced cases in one simulation.

$CHECK_CASES names a JSON list of {"id", "run_dir", "max_cycles"}. Each case
runs from reset on npu_sim_top (program and DRAM image through the DPI memory
model, never signal by signal); the testbench only records what the RTL did
— `rtl_result.json` and `rtl_dram_out.bin` in the run directory, written as
each case finishes — and the checker compares afterwards. A case that does
not finish within its cycle budget is recorded as WATCHDOG and the next case
starts from reset, so one bad case never stops the others.
"""

from __future__ import annotations

import json
import os
import pathlib
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from reference_npu.driver.replay import load_trace
from reference_npu.isa.encoding import ErrorCode, Reg
from reference_npu.sim import COUNTERS  # perf registers follow npu_stats order

INSN_WINDOW = 0xF000_0000
CLOCK_NS = 10


class Driver:
    """Reset, register access and program runs on npu_sim_top."""

    def __init__(self, dut: object) -> None:
        self.dut = dut
        self.files = {name: pathlib.Path(os.environ[name])
                      for name in ("NPU_DRAM_IN", "NPU_INSNS_IN", "NPU_DRAM_OUT")}
        Clock(dut.clk, CLOCK_NS, unit="ns", impl="gpi").start()

    async def reset(self) -> None:
        self.dut.reg_wen.value = 0
        self.dut.dram_ctl.value = 0
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def pulse(self, signal: object, value: int) -> None:
        await FallingEdge(self.dut.clk)
        signal.value = value
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        signal.value = 0

    async def write(self, addr: int, value: int) -> None:
        await FallingEdge(self.dut.clk)
        self.dut.reg_addr.value = addr
        self.dut.reg_wdata.value = value
        await self.pulse(self.dut.reg_wen, 1)

    async def read(self, addr: int) -> int:
        await FallingEdge(self.dut.clk)
        self.dut.reg_addr.value = addr
        await Timer(1, "ns")
        return int(self.dut.reg_rdata.value)

    async def run(self, insns: bytes, dram: bytes, max_cycles: int) -> dict[str, object]:
        """One program from reset; the DRAM image afterwards lands in NPU_DRAM_OUT."""
        self.files["NPU_DRAM_IN"].write_bytes(dram)
        self.files["NPU_INSNS_IN"].write_bytes(insns)
        await self.reset()
        await self.pulse(self.dut.dram_ctl, 1)
        await self.write(Reg.INSN_ADDR, INSN_WINDOW)
        await self.write(Reg.INSN_COUNT, len(insns) // 16)
        await self.write(Reg.DRAM_BYTES, len(dram))
        await self.write(Reg.START, 1)
        if not self.dut.done.value:
            await First(RisingEdge(self.dut.done), Timer(CLOCK_NS * max_cycles, "ns"))
        counters = {}
        for i, name in enumerate(COUNTERS):
            addr = Reg.CYCLES + 8 * i
            counters[name] = await self.read(addr) | await self.read(addr + 4) << 32
        if not self.dut.done.value:
            return {"error_code": int(ErrorCode.WATCHDOG), "error_pc": 0, "counters": counters,
                    "dram": False, "status": 0}
        status = await self.read(Reg.STATUS)
        code = (status >> 8) & 0xFF
        pc = await self.read(Reg.ERROR_PC) if code else 0
        await self.pulse(self.dut.dram_ctl, 2)
        return {"error_code": code, "error_pc": pc, "counters": counters, "dram": True,
                "status": status}


@cocotb.test()
async def replay_cases(dut: object) -> None:
    cases = json.loads(pathlib.Path(os.environ["CHECK_CASES"]).read_text())
    tb = Driver(dut)
    await tb.reset()
    dim = await tb.read(Reg.HW_DIM)
    for case in cases:
        run_dir = pathlib.Path(case["run_dir"])
        trace = load_trace(run_dir)
        result: dict[str, object]
        start, sim_start = time.perf_counter(), get_sim_time("ns")
        if trace.hw_config["dim"] != dim:
            result = {"harness_error": f"the RTL has DIM {dim}, the case was traced for DIM "
                                       f"{trace.hw_config['dim']}"}
        else:
            result = await tb.run(trace.insns, trace.dram_in, int(case["max_cycles"]))
            if result.pop("dram"):
                (run_dir / "rtl_dram_out.bin").write_bytes(tb.files["NPU_DRAM_OUT"].read_bytes())
        result["wall_s"] = time.perf_counter() - start
        result["sim_cycles"] = int((get_sim_time("ns") - sim_start) // CLOCK_NS)
        tmp = run_dir / "rtl_result.json.tmp"
        tmp.write_text(json.dumps(result))
        tmp.replace(run_dir / "rtl_result.json")  # complete or absent, never half written
