"""check_intrinsics: the whole flow for one target.

    emit snippets --render, gcc + glue + runtime--> C per intrinsic (load -> emit -> store)
    stimulus per variant --staging--> DRAM images, rows, loop counts
    one process --Device(target, "fsim"), Device(target, "rtl")--> every case on both
    fsim, RTL <--bit-exact--> Semantics.reference

Everything reaches the NPU through the target's own contract (vsdk_glue.h, its runtime
library implementing vsdk_device.h, its Verilated sim.rtl): nothing here knows a
particular NPU. Failing cases are written out with the command that re-runs them.
"""

from __future__ import annotations

import math
import os
import pathlib
import pickle
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from vendor_sdk.check.compare import CaseRun, Outcome, judge, write_failure
from vendor_sdk.check.emit_c import CheckLibrary, EmitError, compile_intrinsic, toolchain
from vendor_sdk.check.execute import MIN_CYCLE_BUDGET, Job, Request
from vendor_sdk.check.report import Row, write_junit
from vendor_sdk.check.staging import CheckError, Layout, layout
from vendor_sdk.check.stimulus import all_cases
from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.runtime.device import Device
from vendor_sdk.sim.rtl import build_rtl_library
from vendor_sdk.target import Target

SIM_CYCLES_PER_S = 100_000    # pessimistic RTL speed for the wall-clock limit
_EMPTY = Layout((), 1, 1, "", ())  # the staging of a case that could not be staged
_NONE = np.zeros(0, np.int64)


@dataclass(frozen=True)
class CheckOptions:
    workdir: pathlib.Path
    only: tuple[str, ...] = ()        # case selectors: "gemm", "gemm.init", "gemm/random3"
    target_spec: str = ""             # how the user named the target (for re-run commands)
    timeout_s: float | None = None    # wall-clock limit of all runs (default: derived)
    cycle_budget: int | None = None   # per-case RTL watchdog in cycles (default: derived)
    junit: pathlib.Path | None = None
    progress: Callable[[str], None] = print


@dataclass
class CheckReport:
    target: str
    outcomes: list[Outcome]
    rows: list[Row]
    seconds: dict[str, float] = field(default_factory=dict)
    reruns: dict[str, str] = field(default_factory=dict)   # failing case -> command
    failure_files: dict[str, pathlib.Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)


def case_id(intrinsic: str, variant: str, case: str) -> str:
    return f"{intrinsic}{'.' + variant if variant else ''}/{case}"


def selected(cid: str, only: tuple[str, ...]) -> bool:
    return not only or any(cid == s or cid.startswith((s + "/", s + ".")) for s in only)


def rerun_command(options: CheckOptions, target: Target, cid: str) -> str:
    spec = options.target_spec or str(target.path)
    return (f"vendor-sdk check-intrinsics {shlex.quote(spec)} --only {shlex.quote(cid)} "
            f"--workdir {shlex.quote(str(options.workdir / 'rerun'))}")


def _plan(target: Target, sem: Semantics, options: CheckOptions,
          cases_dir: pathlib.Path) -> list[CaseRun]:
    """Every selected case of every variant, staged; a case that cannot be staged is a
    CaseRun with its setup error (it fails, the others still run)."""
    runs = []
    for variant in sem.variants:
        for index, case in enumerate(all_cases(target, sem)):
            cid = case_id(sem.name, variant, case.name)
            if not selected(cid, options.only):
                continue
            run_dir = cases_dir / cid.replace("/", "__")
            try:
                lay = layout(target, sem, variant, case, index)
            except (CheckError, ValueError) as e:
                runs.append(CaseRun(cid, sem.name, variant, case, _EMPTY, _NONE, run_dir,
                                    setup_error=str(e)))
                continue
            runs.append(CaseRun(cid, sem.name, variant, case, lay,
                                sem.reference(case.inputs, variant), run_dir))
    return runs


def _all_ids(target: Target, sem: Semantics, only: tuple[str, ...]) -> list[str]:
    names = [c.name for c in all_cases(target, sem)]
    ids = [case_id(sem.name, v, n) for v in sem.variants for n in names]
    return [i for i in ids if selected(i, only)]


def _cycles_counter(target: Target) -> str | None:
    return next((n for n, c in target.spec.counters.items() if c.role == "cycles"), None)


def _execute(target: Target, runs: list[CaseRun], libs: dict[str, CheckLibrary | str],
             options: CheckOptions) -> str:
    """Runs the cases in a child process under the wall-clock limit; returns why records
    may be missing ("" when the process finished normally)."""
    jobs = tuple(Job(r.id, r.case_dir, lib.path, r.intrinsic, r.variant, r.layout)
                 for r in runs if not r.setup_error
                 and isinstance(lib := libs[r.intrinsic], CheckLibrary))
    if not jobs:
        return ""
    work = options.workdir / "run"
    work.mkdir(parents=True, exist_ok=True)
    request = work / "request.pkl"
    request.write_bytes(pickle.dumps(Request(target.path, jobs, options.cycle_budget,
                                             _cycles_counter(target))))
    per_case = (options.cycle_budget or MIN_CYCLE_BUDGET) / SIM_CYCLES_PER_S
    timeout = options.timeout_s or 60 + len(jobs) * (0.2 + per_case)
    proc = subprocess.Popen([sys.executable, "-m", "vendor_sdk.check.execute", str(request)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the simulator runs in that process
        out, _ = proc.communicate()
        (work / "log.txt").write_text(out)
        return f"runs killed after {timeout:.0f} s (wall clock)"
    (work / "log.txt").write_text(out)
    if proc.returncode:
        tail = " | ".join(out.strip().splitlines()[-4:])
        return f"the run process exited with code {proc.returncode}: {tail}"
    return ""


def check_intrinsics(target: Target, options: CheckOptions) -> CheckReport:
    """Runs every selected case of every intrinsic on fsim and the RTL; never raises
    for a mismatching intrinsic (that is a failed outcome), only for what stops every
    case: a runtime, glue or RTL that does not build (RuntimeBuildError, GlueError,
    SimError), a device that does not open (DeviceError), nothing selected (CheckError)."""
    start = time.perf_counter()
    # The runs happen in another process: every path handed to it must be absolute.
    options = replace(options, workdir=options.workdir.resolve(),
                      junit=options.junit.resolve() if options.junit else None)
    say = options.progress
    cases_dir = options.workdir / "cases"
    shutil.rmtree(cases_dir, ignore_errors=True)
    sems = [s for s in target.semantics.values() if _all_ids(target, s, options.only)]
    if not sems:
        raise CheckError(f"--only {' '.join(options.only)} selects no case of {target.name}")

    tools = toolchain(target)
    Device(target, "fsim").close()  # a configuration the device refuses stops here

    def compiled(sem: Semantics) -> CheckLibrary | str:
        try:
            return compile_intrinsic(target, sem, tools)
        except EmitError as e:
            return str(e)

    with ThreadPoolExecutor(2) as pool:
        libs = dict(zip((s.name for s in sems), pool.map(compiled, sems), strict=True))
    seconds = {"compile C": time.perf_counter() - start}
    runs: list[CaseRun] = []
    for sem in sems:
        planned = _plan(target, sem, options, cases_dir)
        lib = libs[sem.name]
        for run in planned:
            if isinstance(lib, str):
                run.setup_error = run.setup_error or lib
            else:
                run.source = lib.source
        runs += planned
    mark = time.perf_counter()
    say(f"{len(runs)} cases staged; building the RTL of {target.name}")
    build_rtl_library(target)
    seconds["RTL build"] = time.perf_counter() - mark
    mark = time.perf_counter()
    missing = _execute(target, runs, libs, options)
    seconds["fsim + RTL runs"] = time.perf_counter() - mark
    roles = {n: c.role for n, c in target.spec.counters.items()}
    outcomes = [judge(r, roles, missing or "the run process skipped the case") for r in runs]

    report = CheckReport(target.name, outcomes, [], seconds)
    by_id = {r.id: r for r in runs}
    for o in outcomes:
        if not o.passed:
            report.reruns[o.id] = rerun_command(options, target, o.id)
            report.failure_files[o.id] = write_failure(by_id[o.id], o, report.reruns[o.id])
    report.rows = _rows(outcomes, runs)
    seconds["total"] = time.perf_counter() - start
    if options.junit is not None:
        write_junit(options.junit, target.name, outcomes, seconds["total"])
    return report


def _rows(outcomes: list[Outcome], runs: list[CaseRun]) -> list[Row]:
    """Per intrinsic variant: its cases, and the RTL cycles of its largest case."""
    groups: dict[str, list[tuple[Outcome, CaseRun]]] = {}
    for o, r in zip(outcomes, runs, strict=True):
        groups.setdefault(f"{o.intrinsic}{'.' + o.variant if o.variant else ''}",
                          []).append((o, r))
    rows = []
    for name, group in groups.items():
        timed = [(o, r) for o, r in group if o.rtl_cycles is not None and o.passed]
        cycles, extents = None, ""
        if timed:
            o, r = max(timed, key=lambda t: math.prod(t[1].case.extents.values()))
            cycles = o.rtl_cycles
            extents = ", ".join(f"{a}={n}" for a, n in r.case.extents.items())
        rows.append(Row(name, len(group), sum(not o.passed for o, _ in group), cycles, extents,
                        sum(o.rtl_cycles or 0 for o, _ in group),
                        sum(o.wall_s for o, _ in group)))
    return rows
