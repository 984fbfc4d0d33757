"""Instruction streams for the RTL tests: seeded random legal programs and
small hand-written ones, each with the DRAM image it runs on.

Random programs are rounds of (load phase, exec phase, store phase) chained
with dependency tokens the way a compiler would: every unit only touches
SRAM another unit wrote after popping the token that orders it, loads read
an input region and stores write a disjoint output region. So the final DRAM
is the same on any correct implementation, however the units interleave.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from reference_npu.isa.encoding import (
    Alu,
    AluOp,
    Gemm,
    Insn,
    Load,
    Lut,
    MemId,
    Queue,
    Req,
    Store,
    Sync,
    encode_program,
)

DRAM_FIRST = 64          # the driver never hands out addresses below this
IN_BYTES = 8192
OUT_BYTES = 8192
ROWS = 48                # SRAM rows the random programs use (small: lots of reuse)
TILES = 4                # weight tiles used


@dataclass(frozen=True, slots=True)
class Program:
    insns: tuple[Insn, ...]
    dram: np.ndarray      # uint8 image the program starts from
    name: str

    def encoded(self) -> bytes:
        return encode_program(list(self.insns))


QP_TABLE = DRAM_FIRST + IN_BYTES - 1024   # realistic requant descriptors live here


def qp_descriptor(rng: np.random.Generator, dim: int) -> np.ndarray:
    """mult ~ 2^30, shift 20..45, zp/lo/hi around the int8 range (so both clamps fire)."""
    d = np.zeros((3, dim), dtype=np.int32)
    d[0] = rng.integers(1 << 28, 1 << 31, dim) * rng.choice([-1, 1], dim)
    d[1] = rng.integers(20, 46, dim)
    lo, hi = sorted(int(v) for v in rng.integers(-200, 200, 2))
    d[2, :3] = int(rng.integers(-20, 20)), lo, hi
    return d


def dram_layout(rng: np.random.Generator, dim: int = 8) -> np.ndarray:
    """Random bytes, except the second half of the input region: small int32s (so
    ALU shifts and QP fields loaded from there are in a useful range) ending in a
    table of four realistic QP descriptors at QP_TABLE."""
    dram = np.zeros(DRAM_FIRST + IN_BYTES + OUT_BYTES, dtype=np.uint8)
    dram[DRAM_FIRST:] = rng.integers(0, 256, IN_BYTES + OUT_BYTES, dtype=np.uint8)
    small = rng.integers(-300, 300, IN_BYTES // 8, dtype=np.int32)
    dram[DRAM_FIRST + IN_BYTES // 2:DRAM_FIRST + IN_BYTES] = small.view(np.uint8)
    table = np.concatenate([qp_descriptor(rng, dim) for _ in range(4)])
    dram[QP_TABLE:QP_TABLE + table.nbytes] = table.view(np.uint8).ravel()
    return dram


def _elem_bytes(mem: int, dim: int) -> int:
    return 4 * dim if mem in (MemId.ACC, MemId.QP) else dim


def _box(rng: np.random.Generator, rows: int, pads: bool) -> dict[str, int]:
    """A (y, x) box with optional padding that fits in `rows` SRAM rows."""
    while True:
        ys, xs = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        p = [int(rng.integers(0, 3)) if pads and rng.random() < 0.4 else 0 for _ in range(4)]
        if (ys + p[0] + p[1]) * (xs + p[2] + p[3]) <= rows:
            break
    stride = 0 if pads and rng.random() < 0.1 else xs + int(rng.integers(0, 3))
    return dict(y_size=ys, x_size=xs, x_stride=stride, y_pad0=p[0], y_pad1=p[1],
                x_pad0=p[2], x_pad1=p[3])


def random_load(rng: np.random.Generator, mem: int, dim: int, rows: int) -> Load:
    box = _box(rng, rows, pads=True)
    total = (box["y_size"] + box["y_pad0"] + box["y_pad1"]) * (
        box["x_size"] + box["x_pad0"] + box["x_pad1"])
    eb = _elem_bytes(mem, dim)
    span = ((box["y_size"] - 1) * box["x_stride"] + box["x_size"]) * eb
    low = IN_BYTES // 2 if mem == MemId.QP and rng.random() < 0.7 else 0
    return Load(mem_id=mem, sram_base=int(rng.integers(0, rows - total + 1)),
                dram_base=DRAM_FIRST + int(rng.integers(low, IN_BYTES - span + 1)),
                pad_val=int(rng.integers(-128, 128)), **box)


def random_store(rng: np.random.Generator, dim: int) -> Store:
    mem = MemId.ACC if rng.random() < 0.5 else MemId.OUT
    box = _box(rng, ROWS, pads=False)
    box["x_stride"] = max(box["x_stride"], 1)
    eb = _elem_bytes(mem, dim)
    span = ((box["y_size"] - 1) * box["x_stride"] + box["x_size"]) * eb
    total = box["y_size"] * box["x_size"]
    keep = {k: box[k] for k in ("y_size", "x_size", "x_stride")}
    return Store(mem_id=mem, sram_base=int(rng.integers(0, ROWS - total + 1)),
                 dram_base=DRAM_FIRST + IN_BYTES + int(rng.integers(0, OUT_BYTES - span + 1)),
                 **keep)


def _loop(rng: np.random.Generator, rows: int) -> tuple[int, int, int, int, int]:
    """(iter_out, iter_in, base, fo, fi) whose rows stay below `rows`."""
    no, ni = int(rng.integers(0, 5)), int(rng.integers(0, 5))
    if rng.random() < 0.9:
        no, ni = max(no, 1), max(ni, 1)
    fo, fi = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    last = (max(no, 1) - 1) * fo + (max(ni, 1) - 1) * fi
    return no, ni, int(rng.integers(0, rows - last)), fo, fi


def _second(rng: np.random.Generator, no: int, ni: int, rows: int) -> tuple[int, int, int]:
    """(base, fo, fi) of a second address stream over the same loop."""
    fo, fi = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    last = (max(no, 1) - 1) * fo + (max(ni, 1) - 1) * fi
    while last >= rows:
        fo, fi = fo // 2, fi // 2
        last = (max(no, 1) - 1) * fo + (max(ni, 1) - 1) * fi
    return int(rng.integers(0, rows - last)), fo, fi


def random_exec(rng: np.random.Generator, dim: int) -> Insn | list[Insn]:
    kind = rng.choice(["gemm", "gemm", "alu", "alu", "req", "lut", "load"])
    if kind == "load":
        mem = rng.choice([MemId.ACC, MemId.ACC8, MemId.QP, MemId.LUT])
        rows = {MemId.QP: 12, MemId.LUT: 2 * 256 // dim}.get(mem, ROWS)
        return random_load(rng, int(mem), dim, rows)
    no, ni, base, fo, fi = _loop(rng, ROWS)
    sb, sfo, sfi = _second(rng, no, ni, ROWS)
    if kind == "gemm":
        return Gemm(accum=bool(rng.random() < 0.6), load_w=bool(rng.random() < 0.5),
                    wgt_tile=int(rng.integers(0, TILES)), acc_base=base, acc_fo=fo, acc_fi=fi,
                    inp_base=sb, inp_fo=sfo, inp_fi=sfi, iter_out=no, iter_in=ni)
    if kind == "alu":
        return Alu(alu_op=int(rng.integers(0, 8)), use_imm=bool(rng.random() < 0.5),
                   imm=int(rng.integers(-2**15, 2**15)), dst=base, dst_fo=fo, dst_fi=fi,
                   src=sb, src_fo=sfo, src_fi=sfi, iter_out=no, iter_in=ni)
    if kind == "req":
        if rng.random() < 0.5:   # a real layer: load the descriptors first
            return [Load(mem_id=MemId.QP, dram_base=QP_TABLE, y_size=1, x_size=12,
                         x_stride=12),
                    Req(src_acc=sb, src_fo=sfo, src_fi=sfi, dst=base, dst_fo=fo, dst_fi=fi,
                        qp_idx=int(rng.integers(0, 4)), per_chan=bool(rng.random() < 0.5),
                        dst_inp=bool(rng.random() < 0.3), iter_out=no, iter_in=ni)]
        return Req(src_acc=sb, src_fo=sfo, src_fi=sfi, dst=base, dst_fo=fo, dst_fi=fi,
                   qp_idx=int(rng.integers(0, 4)), per_chan=bool(rng.random() < 0.5),
                   dst_inp=bool(rng.random() < 0.3), iter_out=no, iter_in=ni)
    return Lut(src_acc=sb, src_fo=sfo, src_fi=sfi, dst=base, dst_fo=fo, dst_fi=fi,
               table=int(rng.integers(0, 2)), dst_inp=bool(rng.random() < 0.3),
               iter_out=no, iter_in=ni)


def _chain(insns: list[Insn], queue: int, first: dict[str, bool],
           last: dict[str, bool]) -> list[Insn]:
    """Puts the phase's token pops on its first and pushes on its last instruction."""
    if not insns:
        insns = [Sync(queue=queue)]
    insns[0] = replace(insns[0], **first)
    insns[-1] = replace(insns[-1], **last)
    return insns


def mini_layer(rng: np.random.Generator, dim: int) -> tuple[list[Insn], list[Insn], list[Insn]]:
    """(loads, execs, stores) of a realistic GEMM -> requant -> store layer."""
    m, tile = int(rng.integers(1, 17)), int(rng.integers(0, TILES))
    loads: list[Insn] = [
        Load(mem_id=MemId.INP, dram_base=DRAM_FIRST + int(rng.integers(0, 2048)), y_size=1,
             x_size=m, x_stride=m),
        Load(mem_id=MemId.WGT, sram_base=tile * dim, dram_base=DRAM_FIRST + 2048, y_size=1,
             x_size=dim, x_stride=dim),
    ]
    execs: list[Insn] = [
        Load(mem_id=MemId.QP, dram_base=QP_TABLE, y_size=1, x_size=12, x_stride=12),
        Gemm(load_w=True, wgt_tile=tile, iter_out=m, iter_in=1, inp_fo=1, acc_fo=1),
        Req(qp_idx=int(rng.integers(0, 4)), per_chan=bool(rng.random() < 0.7), iter_out=m,
            iter_in=1, src_fo=1, dst_fo=1),
    ]
    stores: list[Insn] = [Store(mem_id=MemId.OUT, y_size=1, x_size=m, x_stride=m,
                                dram_base=DRAM_FIRST + IN_BYTES + int(rng.integers(0, 4096)))]
    return loads, execs, stores


def random_program(seed: int, dim: int = 8) -> Program:
    rng = np.random.default_rng(seed)
    rounds = int(rng.integers(1, 4))
    program: list[Insn] = []
    for r in range(rounds):
        loads = [random_load(rng, int(rng.choice([MemId.INP, MemId.WGT])), dim,
                             ROWS if rng.random() < 0.5 else TILES * dim)
                 for _ in range(int(rng.integers(0, 4)))]
        execs: list[Insn] = []
        for _ in range(int(rng.integers(0, 7))):
            one = random_exec(rng, dim)
            execs += one if isinstance(one, list) else [one]
        stores = [random_store(rng, dim) for _ in range(int(rng.integers(0, 4)))]
        if rng.random() < 0.4:
            layer = mini_layer(rng, dim)
            loads, execs, stores = layer[0] + loads, layer[1] + execs, layer[2] + stores
        more = r < rounds - 1
        program += _chain(loads, Queue.LD, {"pop_next": r > 0}, {"push_next": True})
        program += _chain(execs, Queue.EX, {"pop_prev": True, "pop_next": r > 0},
                          {"push_next": True, "push_prev": more})
        program += _chain(stores, Queue.ST, {"pop_prev": True}, {"push_prev": more})
    if rng.random() < 0.3:
        program.append(Sync(queue=int(rng.integers(0, 3)), finish=True))
        program.append(Alu(alu_op=99 % 8, iter_out=1, iter_in=1))  # never fetched
    return Program(tuple(program), dram_layout(rng, dim), f"random-{seed}")


__all__ = ["AluOp", "Program", "dram_layout", "random_program"]
