"""cocotb driver for npu_sim_top: reset, register access, program runs.

The DRAM image and the instructions go to the simulator through files and
the DPI memory model (npu_dpi_mem.cpp), never signal by signal; the clock is
cocotb's GPI clock; Python only wakes up when the NPU raises `done`.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer

from reference_npu.isa.encoding import ErrorCode, Reg
from vendor_sdk.sim.abi import COUNTERS  # perf registers follow npu_stats order

INSN_WINDOW = 0xF000_0000


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
        self.dut = dut
        self.paths = {name: pathlib.Path(os.environ[name])
                      for name in ("NPU_DRAM_IN", "NPU_INSNS_IN", "NPU_DRAM_OUT")}
        self._clock_started = False

    async def start(self) -> None:
        if not self._clock_started:
            Clock(self.dut.clk, 10, unit="ns", impl="gpi").start()
            self._clock_started = True
        self.dut.reg_wen.value = 0
        self.dut.dram_ctl.value = 0
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def write(self, addr: int, value: int) -> None:
        await FallingEdge(self.dut.clk)
        self.dut.reg_addr.value = addr
        self.dut.reg_wdata.value = value
        self.dut.reg_wen.value = 1
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.reg_wen.value = 0

    async def read(self, addr: int) -> int:
        await FallingEdge(self.dut.clk)
        self.dut.reg_addr.value = addr
        await Timer(1, "ns")
        return int(self.dut.reg_rdata.value)

    async def read64(self, addr: int) -> int:
        return await self.read(addr) | await self.read(addr + 4) << 32

    async def _dram_ctl(self, cmd: int) -> None:
        await FallingEdge(self.dut.clk)
        self.dut.dram_ctl.value = cmd
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.dram_ctl.value = 0

    async def run(self, insns: bytes, dram: np.ndarray, max_cycles: int = 500_000) -> TbResult:
        """Runs a program from reset; returns DRAM afterwards and the stop reason."""
        self.paths["NPU_DRAM_IN"].write_bytes(np.ascontiguousarray(dram, np.uint8).tobytes())
        self.paths["NPU_INSNS_IN"].write_bytes(insns)
        await self.start()                       # reset also zeroes every SRAM
        await self._dram_ctl(1)
        await self.write(Reg.INSN_ADDR, INSN_WINDOW)
        await self.write(Reg.INSN_COUNT, len(insns) // 16)
        await self.write(Reg.DRAM_BYTES, dram.nbytes)
        await self.write(Reg.START, 1)
        if not self.dut.done.value:
            await First(RisingEdge(self.dut.done), Timer(10 * max_cycles, "ns"))
        counters = {name: await self.read64(Reg.CYCLES + 8 * i)
                    for i, name in enumerate(COUNTERS)}
        if not self.dut.done.value:              # the testbench's watchdog
            return TbResult(dram.copy(), ErrorCode.WATCHDOG, 0, 0, counters)
        status = await self.read(Reg.STATUS)
        code = (status >> 8) & 0xFF
        pc = await self.read(Reg.ERROR_PC) if code else 0
        await self._dram_ctl(2)
        out = np.frombuffer(self.paths["NPU_DRAM_OUT"].read_bytes(), dtype=np.uint8).copy()
        return TbResult(out, code, pc, status, counters)
