"""cocotb driver for npu_sim_top: reset, register access, program runs.

DRAM and instructions reach the simulator through files and the DPI memory model,
never signal by signal; the clock is cocotb's GPI clock; Python only wakes up when
the NPU raises `done`.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer

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



@dataclass(frozen=True, slots=True)
class TbResult:
    dram: np.ndarray
    error_code: int
    error_pc: int
    status: int
    counters: dict[str, int]


class NpuTb:
    """One npu_sim_top instance under test."""

    def __init__(self, dut: object):
        self.driver = Driver(dut)  # starts cocotb's GPI clock

    async def start(self) -> None:
        await self.driver.reset()

    async def read(self, addr: int) -> int:
        return await self.driver.read(addr)

    async def run(self, insns: bytes, dram: np.ndarray, max_cycles: int = 500_000) -> TbResult:
        """Runs a program from reset; returns DRAM afterwards and the stop reason."""
        r = await self.driver.run(insns, np.ascontiguousarray(dram, np.uint8).tobytes(),
                                  max_cycles)
        counters = dict(r["counters"])
        if not r["dram"]:  # the testbench's watchdog: DRAM was never written back
            return TbResult(dram.copy(), ErrorCode.WATCHDOG, 0, 0, counters)
        out = np.frombuffer(self.driver.files["NPU_DRAM_OUT"].read_bytes(), np.uint8).copy()
        return TbResult(out, int(r["error_code"]), int(r["error_pc"]), int(r["status"]),
                        counters)
