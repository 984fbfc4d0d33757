"""Judge one case: fsim and RTL against the reference; write failing cases out.

Both results must equal the numpy reference of the declared semantics bit for
bit, the machine must stop cleanly, and the RTL's exact counters must equal
fsim's. A failing case leaves `failure.txt` (inputs, expected, what each
backend gave, the first differing element with its indices, the command that
re-runs just this case) and `failure.json` in its directory.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field

import numpy as np

from reference_npu.driver.replay import load_trace
from reference_npu.isa.encoding import ErrorCode
from vendor_sdk.check.staging import decode, dram_bytes
from vendor_sdk.check.trace import CaseRun, snap_cycles

EXACT_COUNTERS = ("gemm_rows", "dma_rd_bytes", "dma_wr_bytes", "insns")


@dataclass
class Outcome:
    id: str
    intrinsic: str
    variant: str
    case: str
    problems: list[str] = field(default_factory=list)
    rtl_cycles: int = 0             # the program's CYCLES counter
    sim_cycles: int = 0             # clock cycles simulated for the case, harness included
    wall_s: float = 0.0
    snap_cycles: int | None = None  # timed cases: cycles between the two snapshots
    case_dir: pathlib.Path | None = None
    waves: pathlib.Path | None = None

    @property
    def passed(self) -> bool:
        return not self.problems


def _stop(code: int, pc: int) -> str:
    try:
        name = ErrorCode(code).name
    except ValueError:
        name = f"error {code}"
    return f"{name} at instruction {pc}" if code != ErrorCode.WATCHDOG else name


def first_difference(name: str, expected: np.ndarray, got: np.ndarray) -> str:
    if expected.shape != got.shape:
        return f"{name} has shape {got.shape}, expected {expected.shape}"
    bad = np.argwhere(expected != got)
    if not len(bad):
        return ""
    where = tuple(int(i) for i in bad[0])
    index = ", ".join(map(str, where))
    return (f"{name}[{index}] = {got[where]}, expected {expected[where]} "
            f"({len(bad)} of {expected.size} elements differ)")


def rtl_result(run: CaseRun, row_elems: dict[str, int]) -> tuple[dict[str, object] | None,
                                                                   np.ndarray | None]:
    """What the testbench recorded for this case, and the result operand it stored."""
    assert run.run_dir is not None
    path = run.run_dir / "rtl_result.json"
    if not path.exists():
        return None, None
    result = json.loads(path.read_text())
    dram = run.run_dir / "rtl_dram_out.bin"
    if result.get("harness_error") or result["error_code"] or not dram.exists() or \
            not run.layout.result:
        return result, None
    out = run.layout.placement(run.layout.result)
    raw = dram.read_bytes()[out.dram:out.dram + dram_bytes(out, row_elems[out.memory])]
    return result, decode(out, raw, run.layout.shape)


def judge(run: CaseRun, row_elems: dict[str, int], sim_failure: str) -> Outcome:
    """Every way the case differs from its declared semantics (empty: it passed)."""
    o = Outcome(run.id, run.intrinsic, run.variant, run.id.rpartition("/")[2],
                case_dir=run.case_dir)
    if run.setup_error:
        o.problems.append(run.setup_error)
        return o
    result_name = run.layout.result
    if run.fsim_error != (0, 0):
        o.problems.append(f"fsim stopped with {_stop(*run.fsim_error)}")
    elif run.fsim is not None and (d := first_difference(result_name, run.expected, run.fsim)):
        o.problems.append(f"fsim: {d}")
    result, got = rtl_result(run, row_elems)
    if result is None:
        o.problems.append(f"RTL: no result ({sim_failure or 'the simulation skipped the case'})")
        return o
    o.wall_s = float(result.get("wall_s", 0.0))
    o.sim_cycles = int(result.get("sim_cycles", 0))
    if result.get("harness_error"):
        o.problems.append(f"RTL: {result['harness_error']}")
        return o
    counters = result["counters"]
    o.rtl_cycles = int(counters["cycles"])
    if result["error_code"]:
        o.problems.append(f"RTL stopped with {_stop(result['error_code'], result['error_pc'])}")
        return o
    if got is not None and (d := first_difference(result_name, run.expected, got)):
        o.problems.append(f"RTL: {d}")
    assert run.run_dir is not None
    trace = load_trace(run.run_dir)
    for name in EXACT_COUNTERS:
        want = (trace.exact_counters or {}).get(name)
        if want is not None and counters[name] != want:
            o.problems.append(f"RTL counter {name} = {counters[name]}, fsim {want}")
    if run.snap_addr and (run.run_dir / "rtl_dram_out.bin").exists():
        o.snap_cycles = snap_cycles((run.run_dir / "rtl_dram_out.bin").read_bytes(),
                                    run.snap_addr)
    return o


def _array(a: np.ndarray | None) -> str:
    if a is None:
        return "(none)"
    return np.array2string(np.asarray(a), threshold=1 << 20, max_line_width=120)


def write_failure(run: CaseRun, outcome: Outcome, rerun: str,
                  row_elems: dict[str, int]) -> pathlib.Path:
    """failure.txt and failure.json in the case directory; returns the text file."""
    run.case_dir.mkdir(parents=True, exist_ok=True)
    rtl = rtl_result(run, row_elems)[1] if run.run_dir is not None else None
    lines = [f"case {run.id}: FAILED", *(f"  {p}" for p in outcome.problems), "",
             f"re-run this case: {rerun}", ""]
    lines.append(f"extents: {dict(run.case.extents)}; loops: iter_out={run.layout.iter_out}, "
                 f"iter_in={run.layout.iter_in}")
    for p in run.layout.placements:
        lines.append(f"  {p.name}: {p.kind} in {p.memory or '(immediate)'} row={p.row} "
                     f"tile={p.tile} fo={p.fo} fi={p.fi} value={p.value}")
    lines.append("")
    for name, value in run.case.inputs.items():
        lines += [f"input {name} =", _array(value)]
    lines += [f"expected {run.layout.result} =", _array(run.expected),
              "fsim gave =", _array(run.fsim), "RTL gave =", _array(rtl)]
    if outcome.waves is not None:
        lines.append(f"waveform: {outcome.waves}")
    text = run.case_dir / "failure.txt"
    text.write_text("\n".join(lines) + "\n")

    def listed(a: np.ndarray | None) -> object:
        return None if a is None else np.asarray(a).tolist()

    (run.case_dir / "failure.json").write_text(json.dumps({
        "id": run.id, "problems": outcome.problems, "rerun": rerun,
        "extents": dict(run.case.extents),
        "inputs": {k: listed(v) for k, v in run.case.inputs.items()},
        "expected": listed(run.expected), "fsim": listed(run.fsim), "rtl": listed(rtl),
        "waves": str(outcome.waves) if outcome.waves else None,
    }, indent=1))
    return text
