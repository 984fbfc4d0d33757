"""cocotb driver for npu_sim_top: reset, register access, program runs.

A thin layer over the driver that check-intrinsics ships
(vendor_sdk.check.tb_replay.Driver): DRAM and instructions reach the simulator
through files and the DPI memory model, never signal by signal; the clock is
cocotb's GPI clock; Python only wakes up when the NPU raises `done`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference_npu.isa.encoding import ErrorCode
from vendor_sdk.check.tb_replay import Driver


@dataclass(frozen=True, slots=True)
class TbResult:
    dram: np.ndarray
    error_code: int
    error_pc: int
    status: int
    counters: dict[str, int]


class NpuTb:
    """One npu_sim_top instance under test, on the driver check-intrinsics ships."""

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
