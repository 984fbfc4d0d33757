"""Where the points run: one after another in a child process of the sweep's (the
default, "in process"), or as Ray tasks.

Both hand each record to ``done`` as the point finishes (Ray: in completion order), and
both run a point away from the sweep's own process (a child process, a Ray worker), so
the C under test cannot take the sweep down with it. A point that raises something other
than its own stage errors (vendor_sdk.sweep.point), or whose process dies, is tried once
more; a second failure is recorded as ``failed`` with the reason, and the sweep goes on.
A point that runs past its timeout (a driver spinning, an RTL that never finishes) has its
process killed and is recorded ``failed``, "timed out after N s", without a retry: a
second try would most likely hang as long again.

On Ray a task gets the model's bytes (put in the object store once per model), writes
them into the worker machine's build cache under their hash, and configures the target
there too, so a cluster needs no shared filesystem: only the same vendor-sdk and target
plugin installed on every node (docs/sweep.md). The builds a point makes (configured
target, RTL, runtime, model library) are cached by content on each node, and a node's
later points of the same configuration reuse them.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vendor_sdk.sweep.child import POINT_TIMEOUT, Child, PointLost, TimedOut, seconds
from vendor_sdk.sweep.grid import Model, Point
from vendor_sdk.sweep.point import Record, base_record, run_point

Done = Callable[[Record], None]
PointFn = Callable[[Point, Path | None, tuple[str, ...]], Record]
ATTEMPTS = 2  # a point's first run and its one retry


def _run_local(point: Point, model: Path | None, only: tuple[str, ...]) -> Record:
    return run_point(point, model, None, only)


def lost(point: Point, why: str) -> Record:
    rec = base_record(point)
    rec["reason"] = why
    return rec


def run_in_process(points: Sequence[Point], done: Done, only: tuple[str, ...] = (),
                   fn: PointFn = _run_local, timeout: float | None = POINT_TIMEOUT) -> None:
    """Each point in grid order, in one child process of this one (vendor_sdk.sweep.child;
    ``fn`` must be a module-level function), so a crash of the C under test is the point's
    and not the sweep's: a child that dies or a point that raises is tried once more (in a
    new child when it died), then recorded as `failed` with the last reason; a point past
    ``timeout`` seconds (None: no limit) has its child killed and is recorded at once."""
    with Child() as child:
        for point in points:
            model = point.model.path if point.model else None
            for _attempt in range(ATTEMPTS):
                try:
                    rec = child.call(fn, point, model, only, timeout=timeout)
                    break
                except TimedOut as e:  # not retried: it would most likely hang again
                    rec = lost(point, str(e))
                    break
                except PointLost as e:  # an SDK bug, the machine, or the C under test
                    rec = lost(point, f"failed on both attempts; last: {e}")
            done(rec)


@dataclass(frozen=True, slots=True)
class RayOptions:
    address: str | None = None   # ray://host:10001, host:6379 or "auto"; None: RAY_ADDRESS
    num_cpus: int | None = None  # of a local cluster this sweep starts (None: all cores)


def _model_file(model: Model, data: bytes) -> Path:
    from vendor_sdk.sim.build import cached_build

    def write(tmp: Path) -> None:
        (tmp / f"{model.name}.onnx").write_bytes(data)

    return cached_build("sweep-models", model.sha256[:20], write, f"{model.name}.onnx")


def _ray_task(point: Point, data: bytes | None, only: tuple[str, ...],
              fn: PointFn) -> Record:
    model = _model_file(point.model, data) if point.model and data is not None else None
    return fn(point, model, only)


def connect(options: RayOptions) -> bool:
    """Join the cluster at options.address or $RAY_ADDRESS, or start a local one; True when
    this call started Ray (the caller shuts it down). A Ray already initialised in this
    process is used as it is."""
    import ray

    if ray.is_initialized():
        return False
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {"logging_level": "WARNING", "log_to_driver": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=options.num_cpus, include_dashboard=False, **kwargs)
    return True


def run_on_ray(points: Sequence[Point], done: Done, only: tuple[str, ...] = (),
               options: RayOptions = RayOptions(), fn: PointFn = _run_local,
               timeout: float | None = POINT_TIMEOUT) -> None:
    """One task per point (1 CPU each); records come back as tasks finish. A task still
    running ``timeout`` seconds after it was handed to Ray is cancelled (its worker
    process killed) and recorded as timed out."""
    import ray
    from ray.exceptions import RayError

    started = connect(options)
    try:
        task = ray.remote(num_cpus=1, max_retries=ATTEMPTS - 1,
                          retry_exceptions=True)(_ray_task)
        blobs: Mapping[str, Any] = {m.sha256: ray.put(m.path.read_bytes()) for m in
                                    {p.model.sha256: p.model for p in points if p.model}
                                    .values()}
        todo = deque(points)
        pending: dict[Any, tuple[Point, float]] = {}  # ref -> its point and deadline

        def submit() -> None:
            # Ray does not say when a queued task starts, so a task's clock starts when it
            # is handed over; handing over no more tasks than the cluster has CPUs makes
            # that its start, and a point waiting for a CPU never times out
            slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
            while todo and len(pending) < slots:
                p = todo.popleft()
                ref = task.remote(p, blobs[p.model.sha256] if p.model else None, only, fn)
                pending[ref] = (p, time.monotonic() + timeout if timeout is not None
                                else float("inf"))

        submit()
        while pending:
            first = min(deadline for _, deadline in pending.values())
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=None
                                if first == float("inf") else max(0.0, first - time.monotonic()))
            for ref in ready:
                point, _deadline = pending.pop(ref)
                try:
                    rec = ray.get(ref)
                except RayError as e:
                    rec = lost(point, f"failed on both attempts on Ray; last: "
                               f"{type(e).__name__}: {_first_line(e)}")
                done(rec)
            now = time.monotonic()
            for ref, (point, deadline) in list(pending.items()):
                if deadline <= now:
                    assert timeout is not None
                    # force: the worker may be spinning in C, deaf to a KeyboardInterrupt;
                    # Ray does not retry a cancelled task
                    ray.cancel(ref, force=True)
                    del pending[ref]
                    done(lost(point, f"timed out after {seconds(timeout)} s"))
            submit()
    finally:
        if started:
            ray.shutdown()


def _first_line(e: BaseException) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return lines[-1] if lines else type(e).__name__
