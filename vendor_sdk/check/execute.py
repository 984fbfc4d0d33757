"""Run check cases on a target's devices, in a process of their own.

    python -m vendor_sdk.check.execute REQUEST.pkl

The request holds the target.yaml path and, per case, the compiled check library, the
staging and the RTL cycle budget. Each case runs on Device(target, "fsim") and then on
Device(target, "rtl") (vendor_sdk/runtime/device.py): its DRAM images are written,
the case's C function queues the program through the target's glue on
`device.context`, `run()` executes it and the result rows are read back. What each
backend did lands in the case directory as `fsim.json` / `rtl.json` as soon as it is
known (complete or absent, never half written); the checker judges afterwards.

A process of its own because the code under test is the vendor's C (snippets, glue,
runtime, Verilated RTL) called in-process through ctypes: the checker can kill it at a
wall-clock limit, and a crash loses only the cases not yet run.
"""

from __future__ import annotations

import ctypes
import json
import pathlib
import pickle
import sys
import time
from dataclasses import dataclass

import numpy as np

from vendor_sdk.check.emit_c import OPEN_FAILED, ChkOperand, check_function
from vendor_sdk.check.staging import Layout, decode, dram_bytes
from vendor_sdk.runtime.device import Device, DeviceError
from vendor_sdk.target import Target, load_target

BACKENDS = ("fsim", "rtl")
BUDGET_OPTION = "max_cycles"  # the device option check-intrinsics passes as the watchdog
MIN_CYCLE_BUDGET = 20_000     # per-case watchdog, at least; else 20x fsim's cycles


@dataclass(frozen=True, slots=True)
class Job:
    """One case as the executing process needs it."""

    id: str
    case_dir: pathlib.Path
    library: pathlib.Path
    intrinsic: str
    variant: str
    layout: Layout


@dataclass(frozen=True, slots=True)
class Request:
    target: pathlib.Path
    jobs: tuple[Job, ...]
    cycle_budget: int | None      # fixed per-case budget, else derived from fsim's cycles
    cycles_counter: str | None    # the counter with role `cycles`


def _operands(layout: Layout) -> ctypes.Array[ChkOperand]:
    arr = (ChkOperand * max(1, len(layout.placements)))()
    for slot, p in zip(arr, layout.placements, strict=False):
        for name in ("row", "tile", "fo", "fi", "value", "sram", "rows", "dram"):
            setattr(slot, name, int(getattr(p, name)))
        slot.load, slot.store = int(p.load), int(p.store)
    return arr


def run_case(dev: Device, job: Job) -> dict[str, object]:
    """Stage, build the program through the glue, run, read the result back."""
    addresses = {}
    for p in job.layout.placements:
        if p.load or p.store:
            addresses[p.name] = dev.alloc(dram_bytes(p))
            if p.image is not None:
                dev.write(addresses[p.name], p.image.astype(np.dtype(p.dtype)))
    layout = job.layout.with_dram(addresses)
    fn = check_function(job.library, job.intrinsic, job.variant)
    rc = fn(dev.context, _operands(layout), layout.iter_out, layout.iter_in)
    if rc != 0:
        why = "vsdk_open() returned NULL" if rc == OPEN_FAILED else \
            f"vsdk_close() returned {rc}"
        detail = dev.error()
        return {"build_error": f"the program did not build: {why}"
                               + (f" ({detail})" if detail else "")}
    start = time.perf_counter()
    result = dev.run()
    record: dict[str, object] = {
        "wall_s": time.perf_counter() - start, "counters": result.counters,
        "error_code": result.error_code, "error_insn": result.error_insn,
        "error": dev.error() if result.error_code else "",
        "cycles_estimated": result.cycles_estimated}
    if not result.error_code:
        out = layout.placement(layout.result)
        raw = dev.read(out.dram, dram_bytes(out), np.uint8).tobytes()
        record["result"] = decode(out, raw, layout.shape).tolist()
    return record


def _write(path: pathlib.Path, record: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def budget(request: Request, fsim: dict[str, object]) -> int:
    if request.cycle_budget is not None:
        return request.cycle_budget
    counters = fsim.get("counters")
    cycles = counters.get(request.cycles_counter, 0) if isinstance(counters, dict) and \
        request.cycles_counter else 0
    return max(MIN_CYCLE_BUDGET, 20 * int(cycles))


def execute(request: Request) -> None:
    target: Target = load_target(request.target)
    fsim = Device(target, "fsim")
    rtl: dict[int, Device] = {}  # by cycle budget (a device option)
    for job in request.jobs:
        job.case_dir.mkdir(parents=True, exist_ok=True)
        records: dict[str, dict[str, object]] = {}
        for backend in BACKENDS:
            try:
                if backend == "fsim":
                    dev = fsim
                else:
                    b = budget(request, records["fsim"])
                    if b not in rtl:
                        rtl[b] = Device(target, "rtl", {BUDGET_OPTION: b})
                    dev = rtl[b]
                records[backend] = run_case(dev, job)
            except DeviceError as e:
                records[backend] = {"harness_error": str(e)}
            _write(job.case_dir / f"{backend}.json", records[backend])


def main(argv: list[str]) -> int:
    request = pickle.loads(pathlib.Path(argv[1]).read_bytes())
    try:
        execute(request)
    except DeviceError as e:  # a device that does not open: every case says so
        print(f"error: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
