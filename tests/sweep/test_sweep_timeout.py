"""A point that hangs (the functional model spinning forever at DIM=16) is killed after
--point-timeout and recorded as timed out, not retried; the sweep goes on in a new child,
exits 0, leaves no process behind, and a resumed sweep runs the timed-out point again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vendor_sdk.compile import compile_model
from vendor_sdk.plugins import resolve_target
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.sweep.child import Child, TimedOut

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"
# At DIM=16 the functional model writes its process id where $SWEEP_HANG_PID says, then
# spins forever in its first requantize: the C under test, loaded into the point's process.
HANG_AT_16 = ("uint32_t q = per_chan ? c : 0;",
              "if (dim == 16) { FILE *f = fopen(getenv(\"SWEEP_HANG_PID\"), \"w\");"
              " fprintf(f, \"%d\\n\", (int)getpid()); fclose(f); for (;;) {} }"
              " uint32_t q = per_chan ? c : 0;")
HEADERS = "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"


def hanging_copy(ref_copy: Callable[..., Path], dst: Path, **params: int) -> Path:
    yaml = ref_copy(dst, HANG_AT_16, **params)
    src = dst / "driver" / "fsim_ops.c"
    src.write_text(HEADERS + src.read_text())
    return yaml


def marked(token: str) -> list[int]:
    """Processes whose environment holds ``token`` (read from /proc: a process of the sweep
    still alive, orphaned or not, carries the environment the test gave the sweep)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if token.encode() in env.split(b"\0"):
            pids.append(int(d.name))
    return pids


def alive(pid: int) -> bool:
    """A process that exists and is no zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_hanging_point_times_out_and_the_sweep_goes_on(
        sweep_models: Path, tmp_path: Path, results: Any,
        ref_copy: Callable[..., Path]) -> None:
    yaml = hanging_copy(ref_copy, tmp_path / "npu")
    model = sweep_models / "tiny.onnx"
    work = tmp_path / "user"
    work.mkdir()
    pid_file = tmp_path / "hung.pid"
    token = f"SWEEP_TIMEOUT_TEST={os.getpid()}-{tmp_path.name}"
    env = {**os.environ, "COLUMNS": "200", "SWEEP_HANG_PID": str(pid_file),
           token.split("=")[0]: token.split("=")[1]}

    def sweep(timeout: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENDOR_SDK), "sweep", "--target", str(yaml), "--param", "DIM=16,8",
             "--models", str(model), "--point-timeout", timeout, "-o", "res"],
            cwd=work, env=env, capture_output=True, text=True, check=False,
            timeout=600)  # a sweep the timeout did not save would otherwise hang the suite

    # the scan finds a marked process while it lives: its empty answer below means something
    probe = subprocess.Popen(["sleep", "600"], env=env)
    try:
        assert marked(token) == [probe.pid]
    finally:
        probe.kill()
        probe.wait()
    done = sweep("5")
    assert done.returncode == 0, done.stdout + done.stderr  # a hung point is not fatal
    assert "Traceback" not in done.stdout + done.stderr
    assert "1 ok, 0 mismatch, 1 failed" in done.stdout
    hung, ok = results(work / "res")
    assert (hung["config"], hung["status"], hung["reason"]) == \
        ("DIM=16", "failed", "timed out after 5 s")
    # the hang did happen, in a process of the sweep that is gone now, and nothing else of
    # the sweep is left running
    pid = int(pid_file.read_text())
    assert not alive(pid)
    assert marked(token) == []
    # the point after it ran in a new child, and gives what a compile + run of its own does
    target = resolve_target(hanging_copy(ref_copy, tmp_path / "npu8", DIM=8))
    r = run_compiled(compile_model(model, target, {"N": 1}, name="tiny"), model,
                     model_inputs(model, 1, 0), "fsim", check="output")
    assert (ok["config"], ok["status"]) == ("DIM=8", "ok") and r.check.ok
    assert (ok["cycles"], ok["macs"]) == (r.cycles, r.macs) and r.cycles > 0

    # resumed: the timed-out point is a failed one, so it runs again; the ok one does not
    # (the clock includes the new child's start, so this point may time out before it hangs)
    again = sweep("2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 points already in res" in again.stdout
    hung2, ok2 = results(work / "res")
    assert (hung2["status"], hung2["reason"]) == ("failed", "timed out after 2 s")
    assert ok2 == ok
    assert marked(token) == []


def test_a_call_past_its_timeout_kills_the_child_and_the_next_call_gets_a_new_one() -> None:
    with Child() as child:
        first = child.call(os.getpid)
        with pytest.raises(TimedOut, match=r"^timed out after 0\.5 s$"):
            child.call(time.sleep, 600, timeout=0.5)
        assert not alive(first)  # killed and reaped, not left sleeping
        second = child.call(os.getpid, timeout=60)
        assert second != first and alive(second)
        assert child.call(sum, [1, 2, 3], timeout=60) == 6  # a reply in time is the reply


def test_on_ray_a_hanging_task_is_cancelled_and_recorded(sweep_models: Path,
                                                         tmp_path: Path) -> None:
    """Three points on two CPUs: DIM=16 hangs until cancelled; DIM=8 takes 7 s and DIM=4,
    waiting for its CPU, 7 s more, and is not timed out at 12 s: a task's clock starts when
    it is handed to Ray, and the sweep hands over no more tasks than there are CPUs. (The
    margins are wide: a Ray worker may take seconds to start on a busy machine. The hang
    sleeps, to spare the CPU: the C spinning is the in-process test's.)"""
    import logging

    import ray

    from vendor_sdk.sweep.execute import RayOptions, run_on_ray
    from vendor_sdk.sweep.point import Record, base_record
    from vendor_sdk.sweep.run import plan_sweep

    tries = tmp_path / "tries"
    tries.mkdir()

    def hanging(point: Any, model: Path | None, only: tuple[str, ...]) -> Record:
        with (tries / point.config).open("a") as f:
            f.write(f"{os.getpid()}\n")
        while point.config == "DIM=16":
            time.sleep(1)
        time.sleep(7)
        return base_record(point) | {"status": "ok"}

    plan = plan_sweep("reference_npu", ["DIM=16,8,4"], [sweep_models / "tiny.onnx"])
    got: list[Record] = []
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        run_on_ray(plan.points, got.append, (), RayOptions(), hanging, timeout=12)
        by = {r["config"]: r for r in got}
        assert sorted(by) == ["DIM=16", "DIM=4", "DIM=8"]
        assert (by["DIM=16"]["status"], by["DIM=16"]["reason"]) == \
            ("failed", "timed out after 12 s")
        assert by["DIM=16"] == base_record(plan.points[0]) | {"reason": "timed out after 12 s"}
        assert by["DIM=8"]["status"] == by["DIM=4"]["status"] == "ok"
        # the worker that hung is killed (Ray does it after the cancel returns), with the
        # cluster still up: and the cancelled task is not run again
        (hung,) = map(int, (tries / "DIM=16").read_text().split())
        for _ in range(600):
            if not alive(hung):
                break
            time.sleep(0.1)
        assert not alive(hung)
        assert (tries / "DIM=16").read_text() == f"{hung}\n"
    finally:
        ray.shutdown()
