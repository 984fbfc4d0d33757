"""cocotb tests of ex_core: the testbench is the core's environment (instruction memory
and a DRAM answering each request one cycle later, as the C++ harness does) and checks
the port protocol on every cycle. Expected values come from numpy, not from fsim."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from example_npu.isa.table import load_isa

ISA = load_isa()
N, K = int(os.environ["EX_N"]), int(os.environ["EX_K"])
DRAM_BYTES = 4096


class Env:
    """Serves ifetch and bus requests at each falling edge; records what it saw."""

    def __init__(self, dut: object, prog: list[int], dram: bytearray) -> None:
        self.dut, self.prog, self.dram = dut, prog, dram
        self.fetches: list[int] = []
        self.reads = self.writes = 0
        self.cycles = 0
        self.problems: list[str] = []

    async def run(self, max_cycles: int = 20000) -> None:
        dut = self.dut
        dut.rst.value = 1
        dut.start.value = 0
        dut.ifetch_valid.value = 0
        dut.bus_rvalid.value = 0
        await ClockCycles(dut.clk, 2)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        dut.n_insns.value = len(self.prog)
        dut.dram_bytes.value = len(self.dram)
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        while not dut.done.value:
            self.cycles += 1
            if self.cycles > max_cycles:
                self.problems.append("no done")
                return
            self.serve()
            await FallingEdge(dut.clk)

    def serve(self) -> None:
        dut = self.dut
        fetch = bool(dut.ifetch_req.value)
        dut.ifetch_valid.value = int(fetch)
        if fetch:
            pc = int(dut.ifetch_pc.value)
            self.fetches.append(pc)
            dut.ifetch_data.value = self.prog[pc]
        req, we = bool(dut.bus_req.value), bool(dut.bus_we.value)
        dut.bus_rvalid.value = int(req and not we)
        if req:
            addr = int(dut.bus_addr.value)
            if addr % 4 or addr + 4 > len(self.dram):
                self.problems.append(f"bus address {addr} misaligned or outside DRAM")
                return
            if we:
                self.dram[addr:addr + 4] = int(dut.bus_wdata.value).to_bytes(4, "little")
                self.writes += 1
            else:
                dut.bus_rdata.value = int.from_bytes(self.dram[addr:addr + 4], "little")
                self.reads += 1

    def counters(self) -> dict[str, int]:
        raw = int(self.dut.counters.value)
        return {name: (raw >> (64 * i)) & ((1 << 64) - 1) for i, name in enumerate(ISA.counters)}


def start_clock(dut: object) -> None:
    Clock(dut.clk, 10, unit="ns", impl="gpi").start()


@cocotb.test()
async def empty_program_ends_after_one_fetch_cycle(dut: object) -> None:
    start_clock(dut)
    env = Env(dut, [], bytearray(DRAM_BYTES))
    await env.run()
    assert not env.problems, env.problems
    assert int(dut.error.value) == 0
    assert env.counters()["cycles"] == 1 and env.counters()["insns"] == 0
    assert env.fetches == []


@cocotb.test()
async def dense_layer_matches_numpy(dut: object) -> None:
    """LOAD act/wts/prm, VDOT init + accumulate, VALU relu, REQ per channel, STORE res."""
    start_clock(dut)
    rng = np.random.default_rng(5)
    m = 6
    a = rng.integers(-128, 128, (m, K), dtype=np.int8)
    w = rng.integers(-128, 128, (2 * N, K), dtype=np.int8)
    mult = rng.integers(1 << 28, 1 << 31, N).astype(np.int32)
    shift = np.full(N, 36, np.int32)
    clamp = np.zeros(N, np.int32)
    clamp[:3] = 5, -128, 127
    dram = bytearray(DRAM_BYTES)
    dram[0:a.nbytes] = a.tobytes()
    dram[512:512 + w.nbytes] = w.tobytes()
    desc = np.stack([mult, shift, clamp])
    dram[1024:1024 + desc.nbytes] = desc.tobytes()
    enc = ISA.encode
    prog = [
        enc("LOAD", mem=ISA.memories["ACT"], sram=3, rows=m, dram=0),
        enc("LOAD", mem=ISA.memories["WTS"], sram=0, rows=2 * N, dram=512),
        enc("LOAD", mem=ISA.memories["PRM"], sram=0, rows=3, dram=1024),
        enc("VDOT", init=1, rows=m, a_row=3, a_step=1, tile=0, p_row=10, p_step=1),
        enc("VDOT", init=0, rows=m, a_row=3, a_step=1, tile=1, p_row=10, p_step=1),
        enc("VALU", fn=ISA.valu_fn["MAXI"], rows=m, dst=10, imm=0),
        enc("REQ", per_chan=1, rows=m, src=10, s_step=1, dst=20, d_step=1, desc=0),
        enc("STORE", mem=ISA.memories["RES"], sram=20, rows=m, dram=2048),
    ]
    env = Env(dut, prog, dram)
    await env.run()
    assert not env.problems, env.problems
    assert int(dut.error.value) == 0
    acc = np.maximum(a.astype(np.int64) @ (w[:N].T.astype(np.int64) + w[N:].T), 0)
    p = acc * mult
    want = np.clip(5 + ((p + (1 << 35)) >> 36), -128, 127).astype(np.int8)
    got = np.frombuffer(bytes(dram[2048:2048 + m * N]), dtype=np.int8).reshape(m, N)
    assert np.array_equal(got, want), (got, want)
    # the environment's own view of the run: fetches in order, one request per word
    assert env.fetches == list(range(len(prog)))
    counters = env.counters()
    row_words = K // 4
    assert env.reads == (m + 2 * N) * row_words + 3 * N
    assert env.writes == m * N // 4
    assert counters["dma_rd_bytes"] == 4 * env.reads
    assert counters["dma_wr_bytes"] == 4 * env.writes
    assert counters["dot_rows"] == 2 * m and counters["valu_rows"] == 2 * m
    assert counters["insns"] == len(prog)
    assert counters["cycles"] == env.cycles   # the edges the environment saw before done


@cocotb.test()
async def errors_stop_before_any_effect(dut: object) -> None:
    start_clock(dut)
    cases = [
        (ISA.encode("LOAD", mem=0, rows=1, dram=2), "DRAM_ALIGN"),
        (ISA.encode("STORE", mem=3, rows=1, dram=DRAM_BYTES - 2), "DRAM_ALIGN"),
        (ISA.encode("STORE", mem=3, rows=2, dram=DRAM_BYTES - N), "DRAM_RANGE"),
        (ISA.encode("LOAD", mem=6, rows=1), "BAD_MEM"),
        (ISA.encode("STORE", mem=ISA.memories["PSUM"], widen=1, rows=1), "BAD_MEM"),
        ((9 << 60), "BAD_OPCODE"),
        (ISA.encode("REQ", rows=1, desc=int(os.environ["EX_PRM_ROWS"]) - 2), "ROW_RANGE"),
    ]
    for word, name in cases:
        dram = bytearray(DRAM_BYTES)
        prog = [ISA.encode("FILL", mem=ISA.memories["RES"], rows=1, value=7),
                word, ISA.encode("STORE", mem=ISA.memories["RES"], rows=1, dram=0)]
        env = Env(dut, prog, dram)
        await env.run()
        assert not env.problems, env.problems
        assert (int(dut.error.value), int(dut.error_pc.value)) == (ISA.errors[name], 1), name
        assert env.reads == env.writes == 0 and dram == bytearray(DRAM_BYTES), name
        assert env.fetches == [0, 1], name
