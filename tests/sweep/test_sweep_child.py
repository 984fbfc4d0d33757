"""The in-process sweep runs its points in a child process: a crash of the C under test
(an abort in the functional model at one parameter value) is that point's `failed` record,
the others run; a dying or raising point is tried exactly twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vendor_sdk.compile import compile_model
from vendor_sdk.plugins import resolve_target
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.sweep.child import died
from vendor_sdk.sweep.execute import run_in_process
from vendor_sdk.sweep.grid import Point
from vendor_sdk.sweep.point import Record, base_record
from vendor_sdk.sweep.run import plan_sweep

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"
# the functional model aborts at DIM=16 only, in its first requantize: a crash in the C
# under test, loaded into the process that runs the point
ABORT_AT_16 = ("uint32_t q = per_chan ? c : 0;",
               "if (dim == 16) { void abort(void); abort(); } uint32_t q = per_chan ? c : 0;")


def test_a_point_that_aborts_is_recorded_and_the_sweep_finishes(
        sweep_models: Path, tmp_path: Path, results: Any,
        ref_copy: Callable[..., Path]) -> None:
    yaml = ref_copy(tmp_path / "npu", ABORT_AT_16)
    model = sweep_models / "tiny.onnx"
    work = tmp_path / "user"
    work.mkdir()
    done = subprocess.run(
        [str(VENDOR_SDK), "sweep", "--target", str(yaml), "--param", "DIM=16,8",
         "--models", str(model), "-o", "res"],
        cwd=work, env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True,
        check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # a dead point is not fatal
    assert "Traceback" not in done.stdout + done.stderr
    assert "1 ok, 0 mismatch, 1 failed" in done.stdout
    crashed, ok = results(work / "res")
    assert (crashed["config"], crashed["status"]) == ("DIM=16", "failed")
    assert crashed["reason"] == "failed on both attempts; last: worker died: signal " \
        f"{int(signal.SIGABRT)} (SIGABRT)"
    # the point after it ran in a new child, and gives what a compile + run of its own does
    target = resolve_target(ref_copy(tmp_path / "npu8", ABORT_AT_16, DIM=8))
    r = run_compiled(compile_model(model, target, {"N": 1}, name="tiny"), model,
                     model_inputs(model, 1, 0), "fsim", check="output")
    assert (ok["config"], ok["status"]) == ("DIM=8", "ok") and r.check.ok
    assert (ok["cycles"], ok["macs"]) == (r.cycles, r.macs) and r.cycles > 0
    # and the same copy at DIM=16 does abort: run here, in a process of its own
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path;"
         "from vendor_sdk.plugins import resolve_target;"
         "from vendor_sdk.compile import compile_model;"
         "from vendor_sdk.runtime.compare import model_inputs, run_compiled;"
         "t = resolve_target(sys.argv[1]); m = Path(sys.argv[2]);"
         "run_compiled(compile_model(m, t, {'N': 1}, name='tiny'), m,"
         " model_inputs(m, 1, 0), 'fsim')",
         str(ref_copy(tmp_path / "npu16", ABORT_AT_16, DIM=16)), str(model)],
        capture_output=True, text=True, check=False)
    assert probe.returncode == -signal.SIGABRT, probe.stderr


def crashing(point: Point, model: Path | None, only: tuple[str, ...]) -> Record:
    """A point function (module level: the child imports it by name) that dies by SIGSEGV
    at DIM=16, raises at DIM=4, and counts its calls per point in $SWEEP_TRIES."""
    with (Path(os.environ["SWEEP_TRIES"]) / point.config).open("a") as f:
        f.write("x")
    if point.config == "DIM=16":
        os.kill(os.getpid(), signal.SIGSEGV)
    if point.config == "DIM=4":
        raise RuntimeError("boom")
    assert model is not None and point.model is not None and model == point.model.path
    return base_record(point) | {"status": "ok", "pid": os.getpid()}


def test_dying_and_raising_points_are_tried_twice(sweep_models: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_TRIES", str(tmp_path))
    plan = plan_sweep("reference_npu", ["DIM=8,16,4,32"], [sweep_models / "tiny.onnx"])
    got: list[Record] = []
    run_in_process(plan.points, got.append, (), crashing)
    assert [r["config"] for r in got] == ["DIM=8", "DIM=16", "DIM=4", "DIM=32"]  # grid order
    by = {r["config"]: r for r in got}
    assert by["DIM=16"]["status"] == "failed"
    assert by["DIM=16"]["reason"] == "failed on both attempts; last: worker died: signal " \
        f"{int(signal.SIGSEGV)} (SIGSEGV)"
    assert by["DIM=4"]["status"] == "failed"
    assert by["DIM=4"]["reason"] == "failed on both attempts; last: RuntimeError: boom"
    assert by["DIM=4"] == base_record(plan.points[2]) | {"reason": by["DIM=4"]["reason"]}
    assert {p.name: len(p.read_text()) for p in tmp_path.iterdir() if p.name.startswith("DIM")} \
        == {"DIM=8": 1, "DIM=16": 2, "DIM=4": 2, "DIM=32": 1}
    # points ran away from this process, and a new child took over after the crash
    pids = {by["DIM=8"]["pid"], by["DIM=32"]["pid"]}
    assert os.getpid() not in pids and len(pids) == 2


def test_died_names_the_signal_or_exit_code() -> None:
    assert died(-11) == "worker died: signal 11 (SIGSEGV)"
    assert died(-6) == "worker died: signal 6 (SIGABRT)"
    assert died(3) == "worker died: exit code 3"
