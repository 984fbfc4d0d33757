"""trace backend: a replayable directory whose expectations fsim reproduces."""

from __future__ import annotations

import json
import pathlib

import numpy as np

from reference_npu.bindings import Npu
from reference_npu.driver.replay import load_trace, trace_runs
from reference_npu.isa.encoding import (
    Alu,
    AluOp,
    ErrorCode,
    Gemm,
    Insn,
    Load,
    MemId,
    Queue,
    Req,
    Store,
    Sync,
    decode_program,
)

DIM = 8


def small_layer(npu: Npu) -> tuple[list[Insn], int, int]:
    rng = np.random.default_rng(21)
    x = npu.put(rng.integers(-128, 128, size=(4, DIM), dtype=np.int8))
    w = npu.put(rng.integers(-128, 128, size=(DIM, DIM), dtype=np.int8))
    third = np.zeros(DIM, dtype=np.int32)
    third[:3] = 0, -128, 127
    qp = npu.put(np.stack([np.full(DIM, 2**30, np.int32), np.full(DIM, 38, np.int32), third]))
    out = npu.alloc(4 * DIM)
    snap = npu.alloc(72)
    prog: list[Insn] = [
        Load(mem_id=MemId.INP, dram_base=x, y_size=1, x_size=4),
        Load(mem_id=MemId.WGT, dram_base=w, y_size=1, x_size=DIM, push_next=True),
        Load(mem_id=MemId.QP, dram_base=qp, y_size=1, x_size=3),
        Gemm(load_w=True, iter_out=4, iter_in=1, inp_fo=1, acc_fo=1, pop_prev=True),
        Alu(alu_op=AluOp.MAX, use_imm=True, imm=0, iter_out=4, iter_in=1, dst_fo=1),
        Req(iter_out=4, iter_in=1, src_fo=1, dst_fo=1, push_next=True),
        Store(mem_id=MemId.OUT, dram_base=out, y_size=1, x_size=4, pop_prev=True),
        Sync(queue=Queue.ST, perf_snap=True, snap_addr=snap, finish=True),
    ]
    return prog, out, snap


def test_trace_directory_replays_on_fsim(tmp_path: pathlib.Path) -> None:
    with Npu("trace", {"dir": tmp_path}) as npu:
        prog, out, snap = small_layer(npu)
        npu.append(prog)
        dram_before = npu.read(0, npu.dram_size, np.uint8).tobytes()
        stats = npu.run()
        dram_after = npu.read(0, npu.dram_size, np.uint8).tobytes()
        run_dir = npu.trace_dir
    assert run_dir == tmp_path / "run_0000"
    assert trace_runs(tmp_path) == [run_dir]
    run = load_trace(run_dir)
    assert decode_program(run.insns) == prog
    assert run.dram_in == dram_before
    assert run.dram_out == dram_after
    assert (run.error_code, run.error_pc) == (0, 0)
    assert run.hw_config["dim"] == DIM
    assert run.exact_counters == {"gemm_rows": 4, "dma_rd_bytes": stats.dma_rd_bytes,
                                  "dma_wr_bytes": 4 * DIM, "insns": 8}
    # Only what STOREs wrote is compared; the perf_snap record (timing) is not.
    assert [(r.offset, r.nbytes) for r in run.compare] == [(out, 4 * DIM)]
    assert snap not in range(out, out + 4 * DIM)

    with Npu("fsim") as fresh:
        dram, replayed = fresh.run_image(run.insns, run.dram_in)
    assert run.mismatches(dram, replayed.error_code, replayed.error_pc,
                          {"gemm_rows": replayed.gemm_rows, "insns": replayed.insns}) == []


def test_mismatches_are_reported(tmp_path: pathlib.Path) -> None:
    with Npu("trace", {"dir": tmp_path}) as npu:
        prog, out, _ = small_layer(npu)
        npu.append(prog)
        npu.run()
    run = load_trace(tmp_path / "run_0000")
    bad = bytearray(run.dram_out)
    bad[out + 5] ^= 1
    problems = run.mismatches(bytes(bad), 0, 0, {"gemm_rows": 3})
    assert problems[0].startswith(f"DRAM [{out}, {out + 4 * DIM}) differs first at byte {out + 5}")
    assert problems[1] == "counter gemm_rows = 3, expected 4"
    assert run.mismatches(run.dram_out, 6, 2)[0].startswith("stopped with (code 6, pc 2)")


def test_each_run_gets_its_own_directory_and_errors_are_recorded(tmp_path: pathlib.Path) -> None:
    with Npu("trace", f"dir={tmp_path},token_depth=2") as npu:
        npu.append([Sync(queue=Queue.EX)])
        npu.run()
        npu.clear()
        npu.append([Sync(queue=Queue.LD, push_next=True)] * 3)
        stats = npu.run(check=False)
    assert stats.error_code == ErrorCode.TOKEN_OVERFLOW
    runs = trace_runs(tmp_path)
    assert [p.name for p in runs] == ["run_0000", "run_0001"]
    manifest = json.loads((runs[1] / "manifest.json").read_text())
    assert manifest["expected"]["error_name"] == "TOKEN_OVERFLOW"
    assert manifest["expected"]["error_pc"] == 2
    assert manifest["hw_config"]["token_depth"] == 2
    assert manifest["compare"] == [] and manifest["expected"]["exact_counters"] is None
