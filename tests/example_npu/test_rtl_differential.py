"""The RTL and the functional model agree bit for bit on seeded random programs: DRAM
(including every SRAM row, stored at the end), the stop (error code and instruction)
and every counter, cycles included: fsim's timing model is exact for this in-order
machine. Both run through the runtime library's device interface, as vendor-sdk runs
them (the rtl backend dlopen()s the library built from target.yaml sim.rtl)."""

from __future__ import annotations

import functools
import pathlib
import sys

import pytest

from example_npu.bindings import Device
from example_npu.isa.table import load_isa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from programs import SMALL, Program, dump_all, random_program

BASE = {"N": 4, "K": 16, **SMALL}
WIDE = {"N": 8, "K": 32, **SMALL}
CHUNK = 60


@functools.cache
def device(backend: str, config: str) -> Device:
    return Device(backend, BASE if config == "base" else WIDE)


def outcome(dev: Device, program: Program, words: list[int]) -> tuple[object, bytes]:
    assert len(program.dram) == SMALL["DRAM_BYTES"]  # all of DRAM: nothing from before
    dev.write(0, program.dram)
    status = dev.run(words)
    return status, dev.read(0, len(program.dram))


def differences(config: str, program: Program, words: list[int]) -> list[str]:
    want, want_dram = outcome(device("fsim", config), program, words)
    got, got_dram = outcome(device("rtl", config), program, words)
    problems = []
    if (got.error, got.error_pc) != (want.error, want.error_pc):
        problems.append(f"stop: rtl {(got.error, got.error_pc)}, "
                        f"fsim {(want.error, want.error_pc)}")
    for name, value in want.counters.items():
        if got.counters[name] != value:
            problems.append(f"{name}: rtl {got.counters[name]}, fsim {value}")
    if got_dram != want_dram:
        first = next(i for i, (a, b) in enumerate(zip(got_dram, want_dram, strict=True)) if a != b)
        problems.append(f"DRAM differs, first at byte {first}")
    return problems


@pytest.mark.parametrize(("config", "chunk"), [("base", 0), ("base", 1), ("wide", 2)])
def test_random_legal_programs_agree(config: str, chunk: int) -> None:
    params = BASE if config == "base" else WIDE
    failures, cycles = [], 0
    for seed in range(chunk * CHUNK, (chunk + 1) * CHUNK):
        program = random_program(seed, params)
        words = list(program.words) + dump_all(params)
        problems = differences(config, program, words)
        if problems:
            failures.append(f"seed {seed}: {'; '.join(problems)}")
        cycles += device("fsim", config).run(words).counters["cycles"]
    assert not failures, "\n".join(failures[:10])
    assert cycles > 1000 * CHUNK  # the programs did real work


def test_random_illegal_programs_stop_alike() -> None:
    isa = load_isa()
    failures, stopped = [], set()
    for seed in range(1000, 1000 + CHUNK):
        program = random_program(seed, BASE, illegal=True)
        problems = differences("base", program, list(program.words))
        if problems:
            failures.append(f"seed {seed}: {'; '.join(problems)}")
        stopped.add(device("fsim", "base").run(list(program.words)).error)
    assert not failures, "\n".join(failures[:10])
    # the broken instructions reached every machine error
    assert stopped >= {code for name, code in isa.errors.items() if name != "OK"}
