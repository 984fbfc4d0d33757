"""Judge one case: fsim and RTL against the reference; write failing cases out.

Both results must equal the numpy reference of the declared semantics bit for bit,
the machine must stop cleanly, and the counters whose target.yaml role is an exact
count (instructions, DRAM bytes, MACs, rows) must be equal on fsim and the RTL. A
failing case leaves `failure.txt` (inputs, expected, what each backend gave, the
first differing element with its indices, the staging, the C of the check and the
command that re-runs just this case) and `failure.json` in its directory.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vendor_sdk.check.emit_c import function_name
from vendor_sdk.check.staging import Layout
from vendor_sdk.intrinsics.semantics import Case

LABELS = {"fsim": "fsim", "rtl": "RTL"}
EXACT_ROLES = ("instructions", "dram_read_bytes", "dram_write_bytes", "macs", "rows")


@dataclass
class CaseRun:
    """One case of one intrinsic variant: its staging, expectation and what ran."""

    id: str                      # "gemm_i8_i32.init/random3": the --only selector
    intrinsic: str
    variant: str
    case: Case
    layout: Layout
    expected: np.ndarray
    case_dir: pathlib.Path
    source: pathlib.Path | None = None   # the C of the check function
    setup_error: str = ""        # staging or compilation failed: nothing ran

    def record(self, backend: str) -> dict[str, Any] | None:
        """What execute.py wrote for the backend (JSON), or None if it never ran."""
        path = self.case_dir / f"{backend}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def got(self, backend: str) -> np.ndarray | None:
        rec = self.record(backend)
        if rec is None or "result" not in rec:
            return None
        return np.asarray(rec["result"], self.expected.dtype).reshape(self.layout.shape)


@dataclass
class Outcome:
    id: str
    intrinsic: str
    variant: str
    case: str
    problems: list[str] = field(default_factory=list)
    rtl_cycles: int | None = None   # the RTL's `cycles`-role counter for the whole program
    wall_s: float = 0.0             # RTL run time
    case_dir: pathlib.Path | None = None

    @property
    def passed(self) -> bool:
        return not self.problems


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


def _backend_problem(run: CaseRun, backend: str, rec: dict[str, Any] | None,
                     missing: str) -> str:
    label = LABELS[backend]
    if rec is None:
        return f"{label}: no result ({missing})"
    if "harness_error" in rec:
        return f"{label}: {rec['harness_error']}"
    if "build_error" in rec:
        return f"{label}: {rec['build_error']}"
    if rec["error_code"]:
        return (f"{label} stopped: {rec['error'] or 'error ' + str(rec['error_code'])} "
                f"(error code {rec['error_code']}, instruction {rec['error_insn']})")
    got = run.got(backend)
    d = first_difference(run.layout.result, run.expected, got) if got is not None else \
        "no result read back"
    return f"{label}: {d}" if d else ""


def judge(run: CaseRun, roles: Mapping[str, str], missing: str) -> Outcome:
    """Every way the case differs from its declared semantics (empty: it passed).
    ``roles``: counter name -> target.yaml role; ``missing``: why a record may be absent."""
    o = Outcome(run.id, run.intrinsic, run.variant, run.id.rpartition("/")[2],
                case_dir=run.case_dir)
    if run.setup_error:
        o.problems.append(run.setup_error)
        return o
    recs = {b: run.record(b) for b in LABELS}
    problems = [p for b in LABELS if (p := _backend_problem(run, b, recs[b], missing))]
    # The same program that did not build on both is one problem, not two.
    fsim, rtl = recs["fsim"], recs["rtl"]
    if fsim and rtl and "build_error" in fsim and fsim.get("build_error") == \
            rtl.get("build_error"):
        problems = [str(fsim["build_error"])]
    o.problems += problems
    if rtl and isinstance(rtl.get("counters"), dict):
        cycles = next((n for n, r in roles.items() if r == "cycles"), None)
        o.rtl_cycles = rtl["counters"].get(cycles) if cycles else None
        o.wall_s = float(rtl.get("wall_s", 0.0))
        if fsim and isinstance(fsim.get("counters"), dict) and not fsim["error_code"] \
                and not rtl["error_code"]:
            for name, role in roles.items():
                want, have = fsim["counters"].get(name), rtl["counters"].get(name)
                if role in EXACT_ROLES and want != have:
                    o.problems.append(f"RTL counter {name} ({role}) = {have}, fsim {want}")
    return o


def _array(a: np.ndarray | None) -> str:
    if a is None:
        return "(none)"
    return np.array2string(np.asarray(a), threshold=1 << 20, max_line_width=120)


def write_failure(run: CaseRun, outcome: Outcome, rerun: str) -> pathlib.Path:
    """failure.txt and failure.json in the case directory; returns the text file."""
    run.case_dir.mkdir(parents=True, exist_ok=True)
    fsim, rtl = run.got("fsim"), run.got("rtl")
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
              "fsim gave =", _array(fsim), "RTL gave =", _array(rtl)]
    source = None
    if run.source is not None and run.source.exists():
        source = run.case_dir / run.source.name  # the cache may be cleaned; keep a copy
        shutil.copyfile(run.source, source)
        lines += ["", f"the C under test (function {function_name(run.intrinsic, run.variant)}"
                      f"): {source}"]
    text = run.case_dir / "failure.txt"
    text.write_text("\n".join(lines) + "\n")

    def listed(a: np.ndarray | None) -> object:
        return None if a is None else np.asarray(a).tolist()

    (run.case_dir / "failure.json").write_text(json.dumps({
        "id": run.id, "problems": outcome.problems, "rerun": rerun,
        "extents": dict(run.case.extents),
        "inputs": {k: listed(v) for k, v in run.case.inputs.items()},
        "expected": listed(run.expected), "fsim": listed(fsim), "rtl": listed(rtl),
        "source": str(source) if source else None,
    }, indent=1))
    return text
