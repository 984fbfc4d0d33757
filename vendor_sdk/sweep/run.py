"""A sweep from start to end: plan the grid, skip what the results directory has, run the
rest (in process or on Ray), write the tables and the page.

    plan = plan_sweep("reference_npu", ["DIM=8,16"], [Path("models")], "fsim")
    summary = run_sweep(plan, Path("results"))        # summary.exit_code: 0, 1 (mismatch)

Bad input (an unknown parameter, a missing model, an unknown backend) is a SweepError or
the target's TargetError before any point runs; everything that goes wrong at a point is
in its record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendor_sdk.sweep import page
from vendor_sdk.sweep.configure import check_names, check_only, target_digest
from vendor_sdk.sweep.execute import POINT_TIMEOUT, RayOptions, run_in_process, run_on_ray
from vendor_sdk.sweep.grid import MODES, SweepError, expand, find_models, parse_params
from vendor_sdk.sweep.grid import Point as Point
from vendor_sdk.sweep.results import (
    DONE,
    HTML,
    Journal,
    Record,
    in_grid_order,
    read_records,
    write_tables,
)


@dataclass(frozen=True)
class Plan:
    points: tuple[Point, ...]
    sweep: dict[str, Any]        # what results.json says the sweep was
    only: tuple[str, ...] = ()   # check-intrinsics case selectors


def plan_sweep(target: str, params: list[str], models: list[Path], backend: str = "fsim",
               check: str = "output", mode: str = "run",
               only: tuple[str, ...] = ()) -> Plan:
    """The grid's points; raises SweepError / TargetError for bad input (an --only
    selector is checked against the target's own parameters: case names do not depend
    on the swept values)."""
    from vendor_sdk.plugins import resolve_target
    from vendor_sdk.runtime.check import CHECKS
    from vendor_sdk.runtime.device import BACKENDS

    if mode not in MODES:
        raise SweepError(f"mode {mode}", "unknown", f"one of {', '.join(MODES)}")
    if mode == "run" and backend not in BACKENDS:
        raise SweepError(f"--backend {backend}", "unknown backend",
                         f"one of {', '.join(BACKENDS)}")
    if mode == "run" and check not in CHECKS:
        raise SweepError(f"--check {check}", "unknown check", f"one of {', '.join(CHECKS)}")
    axes = parse_params(params)
    t = resolve_target(target)
    check_names(t, axes)
    if mode != "run" and models:
        raise SweepError("--models", "check-intrinsics runs no model",
                         "drop --models, or sweep models without --check-intrinsics")
    if mode == "run" and only:
        raise SweepError("--only", "selects check-intrinsics cases", "add --check-intrinsics")
    check_only(t, only)
    found = find_models(models) if mode == "run" else ()
    digest = target_digest(t)
    points = expand(t.name, target, digest, axes, found, backend, check, mode)
    sweep = {"target": t.name, "target_digest": digest, "mode": mode,
             "backend": points[0].backend if points else backend,
             "check": check if mode == "run" else "",
             "grid": " x ".join(f"{a.name}={','.join(a.values)}" for a in axes) or "defaults",
             "params": {a.name: list(a.values) for a in axes},
             "models": {m.name: m.sha256 for m in found}, "only": list(only)}
    return Plan(tuple(points), sweep, only)


@dataclass
class Summary:
    records: list[Record]                  # the grid's, in grid order
    ran: int = 0
    skipped: int = 0                       # already in the results directory
    files: list[Path] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def exit_code(self) -> int:
        """1 when any point computed a wrong result: never only a line in a table."""
        return 1 if self.count("mismatch") else 0


def run_sweep(plan: Plan, out: Path, ray: RayOptions | None = None,
              on_record: Callable[[Record], None] = lambda _r: None,
              resume: bool = True, point_timeout: float | None = POINT_TIMEOUT) -> Summary:
    """Run the points ``out`` has no finished record of (every point with resume=False);
    append each record to results.jsonl as it arrives; then write the tables and page.
    A point running longer than ``point_timeout`` seconds is killed and recorded failed."""
    known = read_records(out) if resume else {}
    todo = [p for p in plan.points if known.get(p.key, {}).get("status") not in DONE]
    journal = Journal(out)
    summary = Summary([], skipped=len(plan.points) - len(todo))

    def done(rec: Record) -> None:
        journal.append(rec)
        known[rec["key"]] = rec
        summary.ran += 1
        on_record(rec)

    try:
        if ray is not None:
            run_on_ray(todo, done, plan.only, ray, timeout=point_timeout)
        else:
            run_in_process(todo, done, plan.only, timeout=point_timeout)
    finally:
        journal.close()
        summary.records = in_grid_order((p.key for p in plan.points), known)
        summary.files = [out / "results.jsonl", *write_tables(out, plan.sweep, summary.records)]
        (out / HTML).write_text(page.render(plan.sweep, summary.records), encoding="utf-8")
        summary.files.append(out / HTML)
    return summary
