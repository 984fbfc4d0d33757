"""Run every case's C program on the driver's `trace` backend.

Each case gets its own directory: the trace backend runs fsim on the
program the compiled emit function appended and writes `run_0000/`
(instructions, DRAM before and after, expected counters), which the cocotb
testbench replays on the RTL. fsim's result is read back here as well, so
one program yields the fsim result now and the RTL result later.
"""

from __future__ import annotations

import ctypes
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reference_npu.bindings import Npu, NpuError, driver_library
from reference_npu.sim import RtlParams
from vendor_sdk.check.emit_c import EMIT_FAILED, SNAP_BYTES, CheckLibrary, ChkOperand
from vendor_sdk.check.staging import Layout, decode, dram_bytes
from vendor_sdk.intrinsics.semantics import Case

CALIBRATION = "_calibration"


def hw_options(params: RtlParams) -> dict[str, int]:
    """Driver options giving fsim exactly the configuration the RTL is built with."""
    return {"dim": params.dim, "inp_rows": params.inp_rows, "wgt_rows": params.wgt_rows,
            "acc_rows": params.acc_rows, "out_rows": params.out_rows,
            "qp_rows": params.qp_rows, "lut_rows": params.lut_rows,
            "token_depth": params.token_depth, "insn_queue_depth": params.queue_depth}


@dataclass
class CaseRun:
    """One case of one intrinsic variant, from stimulus to the fsim result."""

    id: str                      # "gemm_i8_i32.init/random3": the --only selector
    intrinsic: str
    variant: str
    case: Case
    layout: Layout
    expected: np.ndarray
    case_dir: pathlib.Path
    timed: bool = False
    run_dir: pathlib.Path | None = None
    fsim: np.ndarray | None = None
    fsim_error: tuple[int, int] = (0, 0)
    fsim_cycles: int = 0
    setup_error: str = ""        # the program could not be built
    snap_addr: int = 0


def _operands(layout: Layout) -> ctypes.Array[ChkOperand]:
    arr = (ChkOperand * max(1, len(layout.placements)))()
    for slot, p in zip(arr, layout.placements, strict=False):
        for name in ("row", "tile", "fo", "fi", "value", "mem_id", "sram", "rows", "dram"):
            setattr(slot, name, int(getattr(p, name)))
        slot.load, slot.store = int(p.load), int(p.store)
    return arr


def trace_case(run: CaseRun, lib: CheckLibrary, params: RtlParams,
               row_elems: Mapping[str, int]) -> None:
    """Builds the case's program through the emit function and runs it on `trace`."""
    run.case_dir.mkdir(parents=True, exist_ok=True)
    with Npu("trace", {"dir": run.case_dir, **hw_options(params)}) as npu:
        addresses = {}
        for p in run.layout.placements:
            if p.load or p.store:
                addresses[p.name] = npu.alloc(dram_bytes(p, row_elems[p.memory]))
                if p.image is not None:
                    npu.write(addresses[p.name], p.image.astype(np.dtype(p.dtype)))
        if run.timed:
            run.snap_addr = npu.alloc(2 * SNAP_BYTES)
        layout = run.layout.with_dram(addresses)
        fn = lib.function(run.intrinsic, run.variant)
        rc = fn(npu.ctx, _operands(layout), layout.iter_out, layout.iter_in, run.snap_addr)
        if rc != 0:
            run.setup_error = f"{EMIT_FAILED.get(rc, f'returned {rc}')}: {npu_error(npu)}"
            return
        run.layout = layout
        stats = npu.run(check=False)
        run.fsim_error = (int(stats.error_code), stats.error_pc)
        run.fsim_cycles = stats.cycles
        run.run_dir = npu.trace_dir
        out = layout.placement(layout.result)
        raw = npu.read(out.dram, dram_bytes(out, row_elems[out.memory]), np.uint8).tobytes()
        run.fsim = decode(out, raw, layout.shape)


def trace_calibration(lib: CheckLibrary, params: RtlParams, case_dir: pathlib.Path) -> CaseRun:
    """Two back-to-back counter snapshots: the cost of a snapshot pair."""
    case_dir.mkdir(parents=True, exist_ok=True)
    run = CaseRun(CALIBRATION, CALIBRATION, "", Case(CALIBRATION, {}, {}),
                  Layout((), 1, 1, "", ()), np.zeros(0), case_dir, timed=True)
    with Npu("trace", {"dir": case_dir, **hw_options(params)}) as npu:
        run.snap_addr = npu.alloc(2 * SNAP_BYTES)
        if lib.calibrate(npu.ctx, run.snap_addr) != 0:
            raise NpuError(f"calibration program did not encode: {npu_error(npu)}")
        stats = npu.run(check=False)
        run.fsim_error = (int(stats.error_code), stats.error_pc)
        run.run_dir = npu.trace_dir
    return run


def npu_error(npu: Npu) -> str:
    return str(driver_library().npu_last_error(npu.ctx).decode())


def snap_cycles(dram: bytes, snap_addr: int) -> int:
    """Cycles between the two snapshots a timed program wrote at snap_addr."""
    first, second = (int.from_bytes(dram[snap_addr + k * SNAP_BYTES:][:8], "little")
                     for k in (0, 1))
    return second - first
