"""Seeded random instruction streams for the example NPU (differential and cocotb tests).

Mostly legal programs over small memories, so rows collide and results feed later
instructions; with `illegal`, a few instructions break one rule each (bad opcode or
memory, a row or DRAM address out of range, a misaligned address).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from example_npu.isa.table import load_isa

SMALL = {"ACT_ROWS": 64, "WTS_ROWS": 32, "PSUM_ROWS": 64, "RES_ROWS": 64, "PRM_ROWS": 12,
         "DRAM_BYTES": 8192}


@dataclass(frozen=True, slots=True)
class Program:
    words: tuple[int, ...]
    dram: bytes


def _rows(rng: random.Random, limit: int, most: int) -> tuple[int, int]:
    """(first row, rows) inside [0, limit)."""
    rows = rng.randint(1, min(most, limit))
    return rng.randrange(0, limit - rows + 1), rows


def random_program(seed: int, params: dict[str, int], length: int = 40,
                   illegal: bool = False) -> Program:
    isa = load_isa()
    rng = random.Random(seed)
    n, k = params["N"], params["K"]
    limit = {0: params["ACT_ROWS"], 1: params["WTS_ROWS"], 2: params["PSUM_ROWS"],
             3: params["RES_ROWS"], 4: params["PRM_ROWS"]}
    row_bytes = {0: k, 1: k, 2: 4 * n, 3: n, 4: 4 * n}
    dram_bytes = params["DRAM_BYTES"]
    image = bytearray(rng.randbytes(dram_bytes))
    # Requant descriptors that land inside int8 (random words would saturate every
    # result): the program starts by loading them into every prm row.
    prm = [_descriptor_row(rng, n, r % 3) for r in range(params["PRM_ROWS"])]
    image[:len(b"".join(prm))] = b"".join(prm)
    words = [isa.encode("LOAD", mem=4, rows=params["PRM_ROWS"], dram=0)]
    for _ in range(length):
        kind = rng.choice(["LOAD", "LOAD", "LOAD", "STORE", "FILL", "VDOT", "VDOT", "VDOT",
                           "REQ", "REQ", "VALU", "VALU", "NOP", "SNAP"])
        if kind in ("LOAD", "STORE"):
            mem = rng.randrange(5)
            widen = int(kind == "LOAD" and mem == 2 and rng.random() < 0.4)
            nbytes = n if widen else row_bytes[mem]
            sram, rows = _rows(rng, limit[mem], 12)
            dram = 4 * rng.randrange(0, (dram_bytes - rows * nbytes) // 4 + 1)
            words.append(isa.encode(kind, mem=mem, widen=widen, sram=sram, rows=rows, dram=dram))
        elif kind == "FILL":
            mem = rng.randrange(5)
            sram, rows = _rows(rng, limit[mem], 8)
            words.append(isa.encode("FILL", mem=mem, sram=sram, rows=rows,
                                    value=rng.getrandbits(32)))
        elif kind == "VDOT":
            rows = rng.randint(1, 10)
            a_step, p_step = rng.choice([0, 1, 1, 2, 3]), rng.choice([0, 1, 1, 2])
            a_row = rng.randrange(0, params["ACT_ROWS"] - (rows - 1) * a_step)
            p_row = rng.randrange(0, params["PSUM_ROWS"] - (rows - 1) * p_step)
            words.append(isa.encode("VDOT", init=rng.randrange(2), rows=rows, a_row=a_row,
                                    a_step=a_step, p_row=p_row, p_step=p_step,
                                    tile=rng.randrange(params["WTS_ROWS"] // n)))
        elif kind == "REQ":
            rows = rng.randint(1, 10)
            s_step, d_step = rng.choice([0, 1, 1, 2]), rng.choice([0, 1, 1, 3])
            words.append(isa.encode(
                "REQ", per_chan=rng.randrange(2), rows=rows,
                src=rng.randrange(0, params["PSUM_ROWS"] - (rows - 1) * s_step), s_step=s_step,
                dst=rng.randrange(0, params["RES_ROWS"] - (rows - 1) * d_step), d_step=d_step,
                desc=rng.randrange(0, params["PRM_ROWS"] - 2)))
        elif kind == "VALU":
            dst, rows = _rows(rng, params["PSUM_ROWS"], 10)
            words.append(isa.encode("VALU", fn=rng.randrange(8), rows=rows, dst=dst,
                                    src=rng.randrange(0, params["PSUM_ROWS"] - rows + 1),
                                    imm=rng.getrandbits(16)))
        elif kind == "SNAP":
            record = 8 * len(isa.counters)
            words.append(isa.encode("SNAP", dram=4 * rng.randrange(0, (dram_bytes - record) // 4)))
        else:
            words.append(isa.encode("NOP"))
        if illegal and rng.random() < 0.05:
            words[-1] = _break(rng, words[-1], params)
    return Program(tuple(words), bytes(image))


def _descriptor_row(rng: random.Random, n: int, which: int) -> bytes:
    """Row `which` of a requant descriptor: 0 mult, 1 shift, 2 {zp, lo, hi}."""
    if which == 0:
        lanes = [rng.randint(1 << 20, (1 << 31) - 1) for _ in range(n)]
    elif which == 1:  # psums reach ~2^18, mults 2^20..2^31: shifts near 40 land in int8
        lanes = [rng.randint(30, 50) if rng.random() < 0.9 else rng.randrange(64)
                 for _ in range(n)]
    else:
        lo, hi = rng.randint(-128, 0), rng.randint(0, 127)
        if rng.random() < 0.15:  # an empty range: hi wins
            lo, hi = rng.randint(1, 127), rng.randint(-128, 0)
        lanes = [rng.randint(-128, 127), lo, hi]
        lanes += [rng.getrandbits(31) for _ in range(n - 3)]
    return b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in lanes)


def _break(rng: random.Random, word: int, params: dict[str, int]) -> int:
    isa = load_isa()
    how = rng.choice(["opcode", "mem", "rows", "dram", "align", "widen", "snap"])
    if how == "opcode":
        return (word & ~(0xF << 60)) | (rng.randint(8, 15) << 60)
    if how == "mem":
        return isa.encode("LOAD", mem=rng.randint(5, 7), rows=1)
    if how == "widen":
        return isa.encode("STORE", mem=2, widen=1, rows=1)
    if how == "rows":
        return isa.encode("VDOT", rows=2, a_row=params["ACT_ROWS"] - 1, a_step=1)
    if how == "snap":
        return isa.encode("SNAP", dram=params["DRAM_BYTES"] - 8 * len(isa.counters) + 4)
    if how == "align":
        return isa.encode("LOAD", mem=0, rows=1, dram=4 * rng.randrange(100) + rng.randint(1, 3))
    return isa.encode("STORE", mem=3, rows=2, dram=params["DRAM_BYTES"] - params["N"])


def dump_all(params: dict[str, int]) -> list[int]:
    """STOREs of every row of every memory to DRAM from address 0 (after a program, so a
    comparison of DRAM compares all SRAM state too). Needs DRAM room for all of it."""
    isa = load_isa()
    n, k = params["N"], params["K"]
    sizes = [(0, params["ACT_ROWS"], k), (1, params["WTS_ROWS"], k),
             (2, params["PSUM_ROWS"], 4 * n), (3, params["RES_ROWS"], n),
             (4, params["PRM_ROWS"], 4 * n)]
    words, at = [], 0
    for mem, rows, nbytes in sizes:
        for first in range(0, rows, 255):
            count = min(255, rows - first)
            words.append(isa.encode("STORE", mem=mem, sram=first, rows=count, dram=at))
            at += count * nbytes
    return words
