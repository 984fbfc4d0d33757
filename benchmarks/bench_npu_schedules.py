"""Hand-written, realistic instruction schedules for the reference NPU:
an int8 GEMM and a 3x3 convolution, both requantized per channel, with
double-buffered INP/WGT/OUT tiles ordered by dependency tokens.

They feed benchmarks/bench_npu.py (cycles, utilization) and are checked
bit-exactly against numpy in tests/reference_npu/test_rtl_schedules.py, so
the utilization figures are measured on schedules known to compute the
right thing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from reference_npu.isa.encoding import Gemm, Insn, Load, MemId, Req, Store

DRAM_FIRST = 64


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    insns: tuple[Insn, ...]
    dram: np.ndarray          # uint8 image, inputs in place
    out_addr: int
    expected: np.ndarray      # int8 bytes the output region must hold afterwards
    useful_macs: int


class Dram:
    """Bump allocator over a growing image."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.top = DRAM_FIRST

    def put(self, array: np.ndarray) -> int:
        addr = self.alloc(array.nbytes)
        self.chunks.append((addr, np.ascontiguousarray(array).tobytes()))
        return addr

    def alloc(self, nbytes: int) -> int:
        addr = self.top
        self.top = (self.top + nbytes + 63) // 64 * 64
        return addr

    def image(self) -> np.ndarray:
        img = np.zeros(self.top, dtype=np.uint8)
        for addr, data in self.chunks:
            img[addr:addr + len(data)] = np.frombuffer(data, dtype=np.uint8)
        return img


def requant_ref(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, zp: int, lo: int,
                hi: int) -> np.ndarray:
    """README requant on int64 (|acc * mult| < 2^62), channels on the last axis."""
    p = acc.astype(np.int64) * mult.astype(np.int64)
    s = shift.astype(np.int64) & 63
    half = np.where(s > 0, (p >> np.maximum(s - 1, 0)) & 1, 0)
    v = zp + np.where(s > 0, (p >> s) + half, p)
    return np.clip(np.clip(v, lo, hi), -128, 127).astype(np.int8)


def qp_table(rng: np.random.Generator, channels: int, dim: int, zp: int, lo: int,
             hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel (mult, shift) for an output scale near 1/1000, and the QP rows."""
    mult = rng.integers(1 << 29, 1 << 30, channels).astype(np.int32)
    shift = rng.integers(39, 41, channels).astype(np.int32)
    rows = np.zeros((channels // dim, 3, dim), np.int32)
    rows[:, 0] = mult.reshape(-1, dim)
    rows[:, 1] = shift.reshape(-1, dim)
    rows[:, 2, :3] = zp, lo, hi
    return mult, shift, rows


def interleave(loads: list[list[Insn]], execs: list[list[Insn]],
               tails: dict[int, list[Insn]]) -> list[Insn]:
    """Program order with the loads of step s+1 ahead of the compute of step s, so
    the load unit prefetches one step ahead and token balances stay at most 2."""
    out = list(loads[0])
    for s in range(len(execs)):
        if s + 1 < len(loads):
            out += loads[s + 1]
        out += execs[s]
        out += tails.get(s, [])
    return out


def chain(insns: list[Insn], first: dict[str, bool], last: dict[str, bool]) -> list[Insn]:
    insns = list(insns)
    insns[0] = replace(insns[0], **{k: v for k, v in first.items() if v})
    insns[-1] = replace(insns[-1], **{k: v for k, v in last.items() if v})
    return insns


def gemm_workload(m: int, n: int, k: int, dim: int, seed: int = 0, m_tile: int = 128,
                  n_group: int = 8) -> Workload:
    """C = requant(A @ B): A int8 [m, k] row-major, B pre-packed in weight tiles,
    C int8 [m, n] row-major. Weight-stationary: each weight tile streams m_tile rows;
    ACC holds an m_tile x (n_group * dim) block, OUT is double-buffered."""
    rng = np.random.default_rng(seed)
    kb_n, nb_n = k // dim, n // dim
    n_group = min(n_group, nb_n)
    m_tile = min(m_tile, m)
    assert m % m_tile == 0 and nb_n % n_group == 0 and k % dim == 0
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    mult, shift, qp = qp_table(rng, n, dim, zp=-5, lo=-128, hi=127)
    packed = b.reshape(kb_n, dim, nb_n, dim).transpose(0, 2, 1, 3)   # [kb][nb][i][lane]
    dram = Dram()
    a_at, b_at, qp_at = dram.put(a), dram.put(packed), dram.put(qp)
    c_at = dram.alloc(m * n)
    block_rows = m_tile * n_group
    loads: list[list[Insn]] = []
    execs: list[list[Insn]] = []
    tails: dict[int, list[Insn]] = {}
    s = 0
    blocks = [(mb, ng) for ng in range(nb_n // n_group) for mb in range(m // m_tile)]
    for blk, (mb, ng) in enumerate(blocks):
        for kb in range(kb_n):
            buf = s % 2
            loads.append(chain([
                Load(mem_id=MemId.INP, sram_base=buf * m_tile,
                     dram_base=a_at + mb * m_tile * k + kb * dim,
                     y_size=m_tile, x_size=1, x_stride=kb_n),
                Load(mem_id=MemId.WGT, sram_base=buf * n_group * dim,
                     dram_base=b_at + (kb * nb_n + ng * n_group) * dim * dim,
                     y_size=1, x_size=n_group * dim, x_stride=n_group * dim),
            ], {"pop_next": s >= 2}, {"push_next": True}))
            execs.append(chain([
                Gemm(accum=kb > 0, load_w=True, wgt_tile=buf * n_group + j,
                     inp_base=buf * m_tile, acc_base=j, iter_out=m_tile, iter_in=1,
                     inp_fo=1, acc_fo=n_group)
                for j in range(n_group)], {"pop_prev": True}, {"push_prev": True}))
            s += 1
        obuf = (blk % 2) * block_rows
        tail: list[Insn] = []
        if blk == 0:
            tail.append(Load(mem_id=MemId.QP, dram_base=qp_at, y_size=1, x_size=3 * nb_n,
                             x_stride=3 * nb_n))
        tail += chain([
            Req(src_acc=j, dst=obuf + j, qp_idx=ng * n_group + j, per_chan=True,
                iter_out=m_tile, iter_in=1, src_fo=n_group, dst_fo=n_group)
            for j in range(n_group)], {"pop_next": blk >= 2}, {"push_next": True})
        tail.append(Store(mem_id=MemId.OUT, sram_base=obuf, pop_prev=True, push_prev=True,
                          dram_base=c_at + mb * m_tile * n + ng * n_group * dim,
                          y_size=m_tile, x_size=n_group, x_stride=nb_n))
        tails[s - 1] = tail
    acc = a.astype(np.int64) @ b.astype(np.int64)
    expected = requant_ref(acc, mult, shift, -5, -128, 127)
    return Workload(f"gemm {m}x{n}x{k}", tuple(interleave(loads, execs, tails)),
                    dram.image(), c_at, expected.reshape(-1).view(np.uint8), m * n * k)


def conv3x3_workload(h: int, w: int, c: int, co: int, dim: int, seed: int = 0,
                     th: int = 4, tw: int = 28) -> Workload:
    """3x3 conv, stride 1, zero padding 1, fused ReLU (clamp at the zero point).
    Activations in NCHWc layout ([c/dim][h][w][dim]) in and out; each input tile is
    loaded with the DMA's 2-D padding at the image border."""
    rng = np.random.default_rng(seed)
    cb_n, cob_n = c // dim, co // dim
    th, tw = min(th, h), min(tw, w)
    assert h % th == 0 and w % tw == 0 and c % dim == 0 and co % dim == 0
    x = rng.integers(-128, 128, (h, w, c), dtype=np.int8)
    wt = rng.integers(-128, 128, (3, 3, c, co), dtype=np.int8)
    zp = -3
    mult, shift, qp = qp_table(rng, co, dim, zp=zp, lo=zp, hi=127)
    x_nchwc = x.reshape(h, w, cb_n, dim).transpose(2, 0, 1, 3)
    # [cb][ky][kx][cob][i][lane]: one step (cb, ky) loads 3 * cob_n contiguous tiles
    w_packed = wt.reshape(3, 3, cb_n, dim, cob_n, dim).transpose(2, 0, 1, 4, 3, 5)
    dram = Dram()
    x_at, w_at, qp_at = dram.put(x_nchwc), dram.put(w_packed), dram.put(qp)
    y_at = dram.alloc(h * w * co)
    tile_px = th * tw
    acc_rows = cob_n * tile_px
    line = tw + 2
    loads: list[list[Insn]] = []
    execs: list[list[Insn]] = []
    tails: dict[int, list[Insn]] = {}
    s, n_inp = 0, 0
    tiles = [(ty, tx) for ty in range(h // th) for tx in range(w // tw)]
    for t, (ty, tx) in enumerate(tiles):
        y0, x0 = ty * th, tx * tw
        yp0, yp1 = int(y0 == 0), int(y0 + th == h)
        xp0, xp1 = int(x0 == 0), int(x0 + tw == w)
        for cb in range(cb_n):
            ibuf = (n_inp % 2) * (th + 2) * line
            n_inp += 1
            for ky in range(3):
                wbuf = (s % 2) * 3 * cob_n
                step_loads: list[Insn] = []
                if ky == 0:
                    step_loads.append(Load(
                        mem_id=MemId.INP, sram_base=ibuf,
                        dram_base=x_at + ((cb * h + y0 - 1 + yp0) * w + x0 - 1 + xp0) * dim,
                        y_size=th + 2 - yp0 - yp1, x_size=tw + 2 - xp0 - xp1, x_stride=w,
                        y_pad0=yp0, y_pad1=yp1, x_pad0=xp0, x_pad1=xp1))
                step_loads.append(Load(
                    mem_id=MemId.WGT, sram_base=wbuf * dim,
                    dram_base=w_at + ((cb * 3 + ky) * 3 * cob_n) * dim * dim,
                    y_size=1, x_size=3 * cob_n * dim, x_stride=3 * cob_n * dim))
                loads.append(chain(step_loads, {"pop_next": s >= 2}, {"push_next": True}))
                execs.append(chain([
                    Gemm(accum=(cb, ky, kx) != (0, 0, 0), load_w=True,
                         wgt_tile=wbuf + kx * cob_n + cob, inp_base=ibuf + ky * line + kx,
                         acc_base=cob * tile_px, iter_out=th, iter_in=tw, inp_fo=line,
                         inp_fi=1, acc_fo=tw, acc_fi=1)
                    for kx in range(3) for cob in range(cob_n)],
                    {"pop_prev": True}, {"push_prev": True}))
                s += 1
        obuf = (t % 2) * acc_rows
        tail: list[Insn] = []
        if t == 0:
            tail.append(Load(mem_id=MemId.QP, dram_base=qp_at, y_size=1, x_size=3 * cob_n,
                             x_stride=3 * cob_n))
        tail += chain([
            Req(src_acc=cob * tile_px, dst=obuf + cob * tile_px, qp_idx=cob, per_chan=True,
                iter_out=tile_px, iter_in=1, src_fo=1, dst_fo=1)
            for cob in range(cob_n)], {"pop_next": t >= 2}, {"push_next": True})
        tail += chain([
            Store(mem_id=MemId.OUT, sram_base=obuf + cob * tile_px,
                  dram_base=y_at + ((cob * h + y0) * w + x0) * dim,
                  y_size=th, x_size=tw, x_stride=w)
            for cob in range(cob_n)], {"pop_prev": True}, {"push_prev": True})
        tails[s - 1] = tail
    xp = np.pad(x.astype(np.int64), ((1, 1), (1, 1), (0, 0)))
    acc = np.zeros((h, w, co), np.int64)
    for ky in range(3):
        for kx in range(3):
            acc += xp[ky:ky + h, kx:kx + w] @ wt[ky, kx].astype(np.int64)
    y = requant_ref(acc, mult, shift, zp, zp, 127)
    expected = y.reshape(h, w, cob_n, dim).transpose(2, 0, 1, 3)
    return Workload(f"conv3x3 {h}x{w}x{c}->{co}", tuple(interleave(loads, execs, tails)),
                    dram.image(), y_at, expected.reshape(-1).view(np.uint8),
                    h * w * c * co * 9)
