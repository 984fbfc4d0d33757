"""fsim and the RTL give bit-identical DRAM, stop reason and exact counters on
seeded random legal programs, on illegal ones, and through the driver's rtl
backend (npu.c dlopen()ing the harness library)."""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import sys

import numpy as np
import pytest

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Alu, ErrorCode, Gemm, Insn, Load, Lut, MemId, Store, Sync
from reference_npu.sim import RtlModel, RtlParams, RunResult, build_reference_rtl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "cocotb"))
from npu_programs import Program, random_program

EXACT = ("gemm_rows", "dma_rd_bytes", "dma_wr_bytes", "insns")
CHUNK = 150


def fsim_options(params: RtlParams) -> dict[str, int]:
    """The fsim configuration that mirrors an RTL build."""
    return {"dim": params.dim, "inp_rows": params.inp_rows, "wgt_rows": params.wgt_rows,
            "acc_rows": params.acc_rows, "out_rows": params.out_rows,
            "qp_rows": params.qp_rows, "lut_rows": params.lut_rows,
            "token_depth": params.token_depth, "insn_queue_depth": params.queue_depth}


def fsim_run(program: Program, params: RtlParams) -> tuple[bytes, object]:
    with Npu("fsim", fsim_options(params)) as npu:
        return npu.run_image(program.encoded(), program.dram.tobytes())


def compare(model: RtlModel, program: Program) -> list[str]:
    """What differs between fsim and the RTL on `program` (empty when identical)."""
    want_dram, want = fsim_run(program, model.params)
    dram = program.dram.copy()
    got: RunResult = model.run(program.encoded(), dram, max_cycles=2_000_000)
    problems = []
    if (got.error_code, got.error_pc) != (want.error_code, want.error_pc):
        problems.append(f"stop (code, pc): rtl {(got.error_code, got.error_pc)}, "
                        f"fsim {(int(want.error_code), want.error_pc)}")
    # After an error the units stopped wherever timing had them (fsim runs units
    # eagerly, the RTL concurrently), so DRAM is only defined for clean runs.
    if got.error_code == ErrorCode.OK and dram.tobytes() != want_dram:
        diff = np.flatnonzero(dram != np.frombuffer(want_dram, dtype=np.uint8))
        problems.append(f"DRAM differs at {diff.size} bytes, first {diff[0]}")
    if got.error_code == ErrorCode.OK:
        for name in EXACT:
            if getattr(got, name) != getattr(want, name):
                problems.append(f"{name}: rtl {getattr(got, name)}, fsim {getattr(want, name)}")
    return problems


@functools.cache
def model_for(params: RtlParams) -> RtlModel:
    return RtlModel(params)


DIM4, DIM8, DIM16 = RtlParams(dim=4), RtlParams(dim=8), RtlParams(dim=16)
WIDE_BUS = RtlParams(bus_bytes=64, latency=1)
SLOW_MEMORY = RtlParams(bus_bytes=32, latency=40)
# Shallow queues: fetch blocks often, and the random programs' token balance of
# up to 2 per queue sits close to the limit.
SHALLOW = RtlParams(queue_depth=4, token_depth=2, inp_rows=64, wgt_rows=64, acc_rows=64,
                    out_rows=64, qp_rows=12, lut_rows=64)

# 1200 programs at DIM 8, 300 each at DIM 4 and 16, 150 on each other configuration,
# in chunks so xdist spreads them.
CHUNKS = ([(DIM8, c) for c in range(8)] + [(DIM4, 0), (DIM4, 1), (DIM16, 0), (DIM16, 1)]
          + [(WIDE_BUS, 2), (SLOW_MEMORY, 3), (SHALLOW, 4)])


def case_id(value: object) -> str:
    if isinstance(value, RtlParams):
        changed = [f"{f.name}{getattr(value, f.name)}" for f in dataclasses.fields(value)
                   if getattr(value, f.name) != getattr(DIM8, f.name)]
        return "-".join(changed) or "default"
    return str(value)


@pytest.mark.parametrize(("params", "chunk"), CHUNKS, ids=case_id)
def test_random_programs_bit_identical(params: RtlParams, chunk: int) -> None:
    model = model_for(params)
    failures = {}
    for seed in range(chunk * CHUNK, (chunk + 1) * CHUNK):
        problems = compare(model, random_program(seed, params.dim))
        if problems:
            failures[seed] = problems
    assert not failures, f"{len(failures)} programs differ, e.g. {next(iter(failures.items()))}"


def illegal_variant(program: Program, rng: np.random.Generator, dim: int) -> Program:
    """The program with one broken instruction inserted or one token push dropped."""
    insns = list(program.insns)
    at = int(rng.integers(0, len(insns) + 1))
    kind = int(rng.integers(0, 7))
    bad: Insn
    if kind == 6:   # drop a push: the consumer waits forever -> DEADLOCK
        pushes = [i for i, x in enumerate(insns) if x.push_next or x.push_prev]
        if pushes:
            k = pushes[int(rng.integers(0, len(pushes)))]
            insns[k] = dataclasses.replace(insns[k], push_next=False, push_prev=False)
            return Program(tuple(insns), program.dram, program.name + "-nopush")
        kind = 0
    bad = [
        Store(mem_id=MemId.WGT, y_size=1, x_size=1),                         # ILLEGAL_MEM
        Alu(alu_op=int(rng.integers(8, 16))),                                # ILLEGAL_FIELD
        Load(mem_id=MemId.INP, y_size=1, x_size=1, pop_prev=True),           # ILLEGAL_DEP
        Gemm(iter_out=3, iter_in=1, inp_base=2046, inp_fo=1),                # SRAM_RANGE
        Load(mem_id=MemId.ACC, dram_base=program.dram.size - 8, y_size=1, x_size=1),  # DRAM
        Sync(queue=3),                                                       # ILLEGAL_FIELD
    ][kind]
    insns.insert(at, bad)
    return Program(tuple(insns), program.dram, f"{program.name}-bad{kind}@{at}")


@pytest.mark.parametrize("params", [DIM8, DIM4, DIM16, SHALLOW], ids=["dim8", "dim4", "dim16",
                                                                     "shallow"])
def test_illegal_programs_same_error_on_both(params: RtlParams) -> None:
    model = model_for(params)
    rng = np.random.default_rng(99)
    seeds = range(200 if model.params.dim == 8 else 40)
    codes = set()
    for seed in seeds:
        program = illegal_variant(random_program(10_000 + seed, model.params.dim), rng,
                                  model.params.dim)
        problems = compare(model, program)
        assert not problems, f"{program.name}: {problems}"
        want_code = fsim_run(program, params)[1].error_code
        codes.add(ErrorCode(want_code))
    assert {ErrorCode.ILLEGAL_MEM, ErrorCode.ILLEGAL_FIELD, ErrorCode.ILLEGAL_DEP,
            ErrorCode.SRAM_RANGE, ErrorCode.DRAM_RANGE} <= codes


def test_driver_rtl_backend_matches_fsim() -> None:
    """npu.c's rtl backend (dlopen of the harness library) on random programs."""
    lib = build_reference_rtl(RtlParams())
    for seed in range(20_000, 20_020):
        program = random_program(seed)
        want_dram, want = fsim_run(program, DIM8)
        with Npu("rtl", {"lib": lib}) as npu:
            assert npu.hw_config.dim == 8
            dram, got = npu.run_image(program.encoded(), program.dram.tobytes())
        assert not got.cycles_are_estimate and got.cycles > 0
        assert (got.error_code, got.error_pc) == (want.error_code, want.error_pc)
        assert dram == want_dram, f"seed {seed}"
        assert [getattr(got, n) for n in EXACT] == [getattr(want, n) for n in EXACT]


def test_watchdog_stops_runaway_program() -> None:
    model = model_for(DIM8)
    prog = Program((Alu(alu_op=0, use_imm=True, imm=1, iter_out=1023, iter_in=1023),),
                   np.zeros(4096, np.uint8), "long")
    got = model.run(prog.encoded(), prog.dram.copy(), max_cycles=5000)
    assert got.error_code == ErrorCode.WATCHDOG and got.cycles >= 5000


def test_build_without_lut_memory() -> None:
    """LUT_ROWS = 0: every LUT access is SRAM_RANGE, everything else unchanged."""
    params = RtlParams(dim=4, lut_rows=0)
    model = model_for(params)
    assert model.hw_config()["lut_rows"] == 0
    for insn in (Lut(iter_out=1, iter_in=1),
                 Load(mem_id=MemId.LUT, y_size=1, x_size=1, x_stride=1)):
        program = Program((Sync(queue=1), insn), np.zeros(4096, np.uint8), "lut")
        got = model.run(program.encoded(), program.dram.copy())
        assert (got.error_code, got.error_pc) == (ErrorCode.SRAM_RANGE, 1)
        assert not compare(model, program)
    for seed in range(30_000, 30_060):
        assert not compare(model, random_program(seed, 4)), seed
