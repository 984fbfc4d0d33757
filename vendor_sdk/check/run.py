"""check_intrinsics: the whole flow for one target.

    emit snippets --render, gcc--> C per intrinsic (LOAD -> emit -> STORE)
    stimulus per variant --trace backend--> program + DRAM image + fsim result
    one RTL build --one cocotb run--> every program replayed on the RTL
    fsim, RTL <--bit-exact--> Semantics.reference

Failing cases are written out and (a few) re-run with an FST waveform.
"""

from __future__ import annotations

import math
import pathlib
import shlex
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from reference_npu.driver.build import build_driver
from reference_npu.sim import RtlParams
from vendor_sdk.check.compare import Outcome, judge, write_failure
from vendor_sdk.check.emit_c import CheckLibrary, EmitError, compile_intrinsic
from vendor_sdk.check.report import Row, write_junit
from vendor_sdk.check.rtl import build, design_for, replay, rtl_params, waveform_format
from vendor_sdk.check.staging import CheckError, layout
from vendor_sdk.check.stimulus import all_cases
from vendor_sdk.check.trace import CALIBRATION, CaseRun, snap_cycles, trace_calibration, trace_case
from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.sim.errors import SimError
from vendor_sdk.target import Target

MIN_CYCLE_BUDGET = 20_000     # per-case watchdog, at least; else 20x fsim's estimate
SIM_CYCLES_PER_S = 100_000    # pessimistic RTL speed for the wall-clock limit


@dataclass(frozen=True)
class CheckOptions:
    workdir: pathlib.Path
    only: tuple[str, ...] = ()        # case selectors: "gemm", "gemm.init", "gemm/random3"
    target_spec: str = ""             # how the user named the target (for re-run commands)
    waves: int = 3                    # failing cases to re-run with an FST waveform
    timeout_s: float | None = None    # wall-clock limit of the simulation (default: derived)
    cycle_budget: int | None = None   # per-case watchdog in cycles (default: derived)
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
    cases = all_cases(target, sem)
    runs = []
    for variant in sem.variants:
        # The largest case runs once more with counter snapshots around the call.
        biggest = max(range(len(cases)), key=lambda i: math.prod(cases[i].extents.values()))
        plan = [(i, c, False) for i, c in enumerate(cases)] + \
            [(biggest, cases[biggest], True)]
        for index, case, timed in plan:
            cid = case_id(sem.name, variant, "timing" if timed else case.name)
            if not selected(cid, options.only):
                continue
            lay = layout(target, sem, variant, case, index)
            runs.append(CaseRun(cid, sem.name, variant, case, lay,
                                sem.reference(case.inputs, variant),
                                cases_dir / cid.replace("/", "__"), timed=timed))
    return runs


def _failed_setup(sem: Semantics, variant_cases: list[str], message: str) -> list[Outcome]:
    return [Outcome(cid, sem.name, cid.split("/")[0].partition(".")[2], cid.split("/")[1],
                    [message]) for cid in variant_cases]


def _all_ids(target: Target, sem: Semantics, only: tuple[str, ...]) -> list[str]:
    names = [c.name for c in all_cases(target, sem)]
    ids = [case_id(sem.name, v, n) for v in sem.variants for n in [*names, "timing"]]
    return [i for i in ids if selected(i, only)]


def check_intrinsics(target: Target, options: CheckOptions) -> CheckReport:
    """Runs every selected case of every intrinsic on fsim and the RTL; never raises
    for a mismatching intrinsic (that is a failed outcome), only for an RTL that
    does not build (SimError) or a configuration it cannot build (CheckError)."""
    start = time.perf_counter()
    # The simulator runs in its own directory: every path handed to it must be absolute,
    # or the README's default (a relative ./check-intrinsics/<target>) fails every case.
    options = replace(options, workdir=options.workdir.resolve(),
                      junit=options.junit.resolve() if options.junit else None)
    say = options.progress
    params = rtl_params(target)
    design = design_for(target, params)
    row_elems = {m.name: m.row_elems for m in target.memories.values()}
    cases_dir = options.workdir / "cases"
    shutil.rmtree(cases_dir, ignore_errors=True)
    sems = [s for s in target.semantics.values() if _all_ids(target, s, options.only)]
    if not sems:
        raise CheckError(f"--only {' '.join(options.only)} selects no case of {target.name}")

    driver = build_driver()

    def compiled(sem: Semantics) -> CheckLibrary | str:
        try:
            return compile_intrinsic(target, sem, driver)
        except EmitError as e:
            return str(e)

    with ThreadPoolExecutor(2) as pool:
        libs = dict(zip((s.name for s in sems), pool.map(compiled, sems), strict=True))
    seconds = {"compile C": time.perf_counter() - start}
    outcomes: list[Outcome] = []
    runs: list[CaseRun] = []
    for sem in sems:
        lib = libs[sem.name]
        try:
            if isinstance(lib, str):
                raise CheckError(lib)
            planned = _plan(target, sem, options, cases_dir)
            for run in planned:
                trace_case(run, lib, params, row_elems)
            runs += planned
        except (CheckError, ValueError) as e:
            outcomes += _failed_setup(sem, _all_ids(target, sem, options.only), str(e))
    calibration = None
    ok_lib = next((lib for lib in libs.values() if not isinstance(lib, str)), None)
    if ok_lib is not None and any(r.timed for r in runs):
        calibration = trace_calibration(ok_lib, params, cases_dir / CALIBRATION)
    seconds["fsim traces"] = time.perf_counter() - start - seconds["compile C"]
    say(f"{len(runs)} cases traced on fsim; building the RTL ({params.key()})")

    mark = time.perf_counter()
    build(design)
    seconds["RTL build"] = time.perf_counter() - mark
    replayed = [r for r in runs if r.run_dir is not None]
    if calibration is not None:
        replayed.append(calibration)
    budgets = {r.id: options.cycle_budget or max(MIN_CYCLE_BUDGET, 20 * r.fsim_cycles)
               for r in replayed}
    timeout = options.timeout_s or 60 + 0.1 * len(replayed) + \
        sum(budgets.values()) / SIM_CYCLES_PER_S
    mark = time.perf_counter()
    sim = replay(design, [{"id": r.id, "run_dir": str(r.run_dir), "max_cycles": budgets[r.id]}
                          for r in replayed], options.workdir / "sim", timeout)
    seconds["RTL simulation"] = time.perf_counter() - mark
    sim_failure = ""
    if sim.timed_out:
        sim_failure = f"simulation killed after {timeout:.0f} s (wall clock)"
    elif sim.returncode:
        sim_failure = (f"simulation exited with code {sim.returncode}: "
                       + " | ".join(sim.log_tail[-4:]))
    outcomes += [judge(r, row_elems, sim_failure) for r in runs]

    report = CheckReport(target.name, outcomes, [], seconds)
    failing = [o for o in outcomes if not o.passed]
    by_id = {r.id: r for r in runs}
    traced = [by_id[o.id] for o in failing if o.id in by_id and by_id[o.id].run_dir]
    if traced and options.waves > 0:
        waves = _waves(target, params, traced[:options.waves], options, say)
        for o in failing:
            o.waves = waves.get(o.id)
    for o in failing:
        report.reruns[o.id] = rerun_command(options, target, o.id)
        if o.id in by_id:
            report.failure_files[o.id] = write_failure(by_id[o.id], o, report.reruns[o.id],
                                                       row_elems)
    call_base = _calibration_cycles(calibration)
    report.rows = _rows(outcomes, runs, call_base)
    seconds["total"] = time.perf_counter() - start
    if options.junit is not None:
        write_junit(options.junit, target.name, outcomes, seconds["total"])
    return report


def _calibration_cycles(calibration: CaseRun | None) -> int | None:
    if calibration is None or calibration.run_dir is None:
        return None
    dram = calibration.run_dir / "rtl_dram_out.bin"
    return snap_cycles(dram.read_bytes(), calibration.snap_addr) if dram.exists() else None


def _waves(target: Target, params: RtlParams, runs: list[CaseRun], options: CheckOptions,
           say: Callable[[str], None]) -> dict[str, pathlib.Path]:
    """Re-runs failing cases, one simulation each, on a build with tracing (FST when
    the toolchain allows, else VCD); each dump stays in its case directory."""
    fmt = waveform_format()
    design = design_for(target, params, waves=fmt)
    say(f"re-running {len(runs)} failing case(s) with {fmt.upper()} waveforms")
    try:
        build(design)
    except SimError as e:
        say(f"no waveforms: the tracing build failed: {e}")
        return {}
    found = {}
    for run in runs:
        test_dir = run.case_dir / "waves"
        budget = options.cycle_budget or max(MIN_CYCLE_BUDGET, 20 * run.fsim_cycles)
        replay(design, [{"id": run.id, "run_dir": str(run.run_dir), "max_cycles": budget}],
               test_dir, options.timeout_s or 120)
        if (test_dir / f"dump.{fmt}").exists():
            found[run.id] = test_dir / f"dump.{fmt}"
    return found


def _rows(outcomes: list[Outcome], runs: list[CaseRun], call_base: int | None) -> list[Row]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(f"{o.intrinsic}{'.' + o.variant if o.variant else ''}", []).append(o)
    timed = {r.id: r for r in runs if r.timed}
    rows = []
    for name, group in groups.items():
        per_call, extents = None, ""
        timing = next((o for o in group if o.id in timed), None)
        if timing is not None and timing.snap_cycles is not None and call_base is not None:
            per_call = timing.snap_cycles - call_base
            extents = ", ".join(f"{a}={n}" for a, n in timed[timing.id].case.extents.items())
        rows.append(Row(name, len(group), sum(not o.passed for o in group), per_call, extents,
                        sum(o.sim_cycles for o in group), sum(o.wall_s for o in group)))
    return rows
