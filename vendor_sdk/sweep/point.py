"""Run one point of the grid and describe it as a record (vendor_sdk.sweep.schema).

The same function runs in the sweep's own process and in a Ray worker: it takes the
point and a local path of its model and returns a plain dict, so what a worker sends
back is exactly what the in-process sweep writes. Errors that describe the point (a value
the target refuses, a model that does not compile, a device that does not open) end the
point as ``failed`` with the error's text; a wrong result is ``mismatch``. Anything else
is an SDK bug or a lost worker, raised so the executor can retry the point once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vendor_sdk.errors import FOREIGN_USER_ERRORS, VendorSdkError
from vendor_sdk.sweep.configure import configured_target
from vendor_sdk.sweep.grid import SCHEMA, Point
from vendor_sdk.target import Target, TargetError

Record = dict[str, Any]
# What says that a point cannot run (the CLI's exit-2 errors: every stage error, a template
# that fails with the point's values, a path it cannot read or write): its `failed` record.
POINT_ERRORS: tuple[type[Exception], ...] = (VendorSdkError, *FOREIGN_USER_ERRORS)


def _reason(e: Exception) -> str:
    if isinstance(e, TargetError) and e.diagnostics:
        # the first diagnostic by its field (the copy's path says nothing to the user); the
        # rest follow from it (a DIM that is not an integer leaves every use of DIM unknown)
        d, more = e.diagnostics[0], len(e.diagnostics) - 1
        return f"{d.path}: {d.message}" + (f" (hint: {d.hint})" if d.hint else "") + \
            (f" (+{more} follow-on error{'s' if more > 1 else ''})" if more else "")
    return f"{type(e).__name__}: {e}"


def _value(v: str) -> int | str:
    try:
        return int(v)
    except ValueError:
        return v


def base_record(point: Point) -> Record:
    """The fields every record has, known before the point runs."""
    return {
        "schema": SCHEMA, "key": point.key, "mode": point.mode, "target": point.target,
        "target_digest": point.target_digest, "config": point.config,
        "params": {n: _value(v) for n, v in point.params},
        "model": point.model.name if point.model else None,
        "model_sha256": point.model.sha256 if point.model else None,
        "backend": point.backend, "check": point.check,
        "status": "failed", "reason": "", "compile_seconds": 0.0, "run_seconds": 0.0,
    }


def sram_bytes(target: Target) -> dict[str, int]:
    """Bytes of each on-chip memory at the target's parameters (rows x row x element)."""
    return {m.name: m.rows * m.row_elems * np.dtype(m.dtype).itemsize
            for m in target.memories.values()}


def run_point(point: Point, model_path: Path | None, work: Path | None = None,
              only: tuple[str, ...] = ()) -> Record:
    """Configure the target, then compile + run the model (``mode`` run) or check every
    intrinsic (``mode`` check-intrinsics, in ``work``, restricted to ``only``)."""
    from vendor_sdk.plugins import resolve_target

    rec = base_record(point)
    try:
        target = configured_target(resolve_target(point.spec), point.params,
                                   point.target_digest)
        rec["all_params"] = dict(target.params)
        rec["sram_bytes"] = sram_bytes(target)
        rec["onchip_bytes"] = sum(rec["sram_bytes"].values())
        if point.mode == "check-intrinsics":
            _intrinsics(rec, target, work, only)
        else:
            assert model_path is not None and point.model is not None
            _run(rec, point, target, model_path)
    except POINT_ERRORS as e:
        rec["status"], rec["reason"] = "failed", _reason(e)
    return rec


def _timed(rec: Record, field: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        rec[field] = round(time.perf_counter() - t0, 3)


def _run(rec: Record, point: Point, target: Target, model: Path) -> None:
    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.compare import model_inputs, run_compiled
    from vendor_sdk.runtime.device import Device

    assert point.model is not None
    # a configuration the target's runtime refuses (reference_npu: DIM=6) fails here, with
    # the runtime's reason, before a compile that could not run anyway
    _timed(rec, "run_seconds", lambda: Device(target, point.backend).close())
    name = point.model.name
    c = _timed(rec, "compile_seconds",
               lambda: compile_model(model, target, {"N": 1}, name=name))
    off, total = c.report.coverage
    rec["offloaded"], rec["compute_ops"], rec["regions"] = off, total, len(c.regions)
    feeds = model_inputs(model, 1, 0)
    r = _timed(rec, "run_seconds",
               lambda: run_compiled(c, model, feeds, point.backend, check=point.check))
    rec["cycles"], rec["macs"] = r.cycles, r.macs
    rec["ideal"] = r.ideal if r.peak else None
    rec["utilization"] = r.ideal / r.cycles if r.peak and r.cycles else None
    rec["cycles_estimated"] = any(s.estimate for s in r.stats)
    rec["peak_macs_per_cycle"] = r.peak
    layers = r.layers
    rec["layers"] = None if layers is None else [
        {"region": region, "function": ls.function, "op": ls.op,
         "onnx_nodes": list(ls.onnx_nodes), "macs": ls.macs, "cycles": ls.cycles,
         "counters": dict(ls.counters)} for region, ls in layers]
    rec["agreement"] = {
        "verdict": "none" if point.check == "none" else "ok" if r.check.ok else "failed",
        "failures": r.check.failures(),
        "outputs": [{"name": a.name, "max_abs": a.max_abs, "lsb": a.lsb,
                     "within_1lsb": a.within_1lsb, "exact": a.exact} for a in r.agreement],
        "checks": [o.describe() for o in r.check.outputs],
    }
    if r.check.ok:
        rec["status"] = "ok"
    else:
        rec["status"], rec["reason"] = "mismatch", "; ".join(r.check.failures())


def _intrinsics(rec: Record, target: Target, work: Path | None,
                only: tuple[str, ...]) -> None:
    import tempfile

    from vendor_sdk.check.run import CheckOptions, check_intrinsics

    def check(where: Path) -> Any:
        opts = CheckOptions(where, only=only, target_spec=target.name, junit=None,
                            progress=lambda _msg: None)
        return check_intrinsics(target, opts)

    if work is None:
        with tempfile.TemporaryDirectory(prefix="vendor-sdk-sweep-") as tmp:
            report = _timed(rec, "run_seconds", lambda: check(Path(tmp)))
    else:
        report = _timed(rec, "run_seconds", lambda: check(work))
    rec["intrinsics"] = [{"variant": row.name, "cases": row.cases, "failed": row.failed,
                          "cycles": row.cycles, "extents": row.extents,
                          "rtl_cycles": row.rtl_cycles} for row in report.rows]
    rec["cases"] = len(report.outcomes)
    rec["failures"] = {o.id: list(o.problems) for o in report.outcomes if not o.passed}
    rec["cycles"] = sum(row.rtl_cycles for row in report.rows)
    if report.passed:
        rec["status"] = "ok"
    else:
        rec["status"] = "mismatch"
        rec["reason"] = f"{len(rec['failures'])} of {rec['cases']} cases failed: " + \
            ", ".join(sorted(rec["failures"]))
