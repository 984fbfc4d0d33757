"""`vendor-sdk sweep` on Ray: the speed-up of 2 workers over 1 on the same grid.

    .venv/bin/python benchmarks/bench_sweep.py [--models mlp cnn] [--param DIM=8,16
        --param ACC_ROWS=1024,2048] [--backend fsim|rtl] [--workers 1 2]

The models (vendor_sdk.runtime.examples' mlp and cnn, or the onnx package's squeezenet /
resnet50 with seeded weights) are quantized once (onnxruntime QDQ, 2 random calibration
samples). Then the grid runs once in process and once per worker count on a local Ray
cluster of that many CPUs, each run with a build cache of its own (VENDOR_SDK_CACHE set
before the cluster starts), so every run does the same work: configure each target, build
its runtime (and RTL with --backend rtl), compile and build each model, run and check it.
Printed per run: wall time of the sweep (cluster start excluded, printed apart), the
points per minute, and the speed-up over 1 worker. The records of every run must be equal
but for their timings (exit 1 otherwise): Ray changes where a point runs, never its result.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import ray

from vendor_sdk.runtime.examples import cnn, light_float, mlp
from vendor_sdk.runtime.quantize import quantize
from vendor_sdk.sweep.execute import RayOptions, run_in_process, run_on_ray
from vendor_sdk.sweep.point import Record
from vendor_sdk.sweep.results import without_timing
from vendor_sdk.sweep.run import Plan, plan_sweep


def models(names: list[str], work: Path) -> Path:
    d = work / "models"
    d.mkdir()
    for name in names:
        make = {"mlp": mlp, "cnn": cnn}.get(name) or (lambda p, n=name: light_float(n, p))
        quantize(make(work / f"{name}.onnx"), d / f"{name}.onnx", random=2)
    return d


def timed(plan: Plan, cache: Path, workers: int | None) -> tuple[float, float, list[Record]]:
    """(cluster start s, sweep s, records in grid order) with a fresh build cache."""
    os.environ["VENDOR_SDK_CACHE"] = str(cache)
    got: list[Record] = []
    t0 = time.perf_counter()
    if workers is None:
        run_in_process(plan.points, got.append)
        return 0.0, time.perf_counter() - t0, got
    ray.init(num_cpus=workers, include_dashboard=False, logging_level="WARNING",
             log_to_driver=False)
    try:
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        run_on_ray(plan.points, got.append, plan.only, RayOptions())
        seconds = time.perf_counter() - t1
    finally:
        ray.shutdown()
    order = {p.key: i for i, p in enumerate(plan.points)}
    return start, seconds, sorted(got, key=lambda r: order[r["key"]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    ap.add_argument("--param", action="append", default=None,
                    help="NAME=V1,V2 (repeatable; default DIM=8,16 and ACC_ROWS=1024,2048)")
    ap.add_argument("--target", default="reference_npu")
    ap.add_argument("--backend", default="fsim", choices=["fsim", "rtl"])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    args = ap.parse_args()
    params = args.param or ["DIM=8,16", "ACC_ROWS=1024,2048"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plan = plan_sweep(args.target, params, [models(args.models, work)], args.backend)
        n = len(plan.points)
        print(f"grid: {plan.sweep['grid']} x {len(args.models)} models = {n} points "
              f"({args.target}, {args.backend}); cores here: {os.cpu_count()}")
        _, base_s, base = timed(plan, work / "cache-inproc", None)
        print(f"  in process: {base_s:.1f} s ({60 * n / base_s:.1f} points/min)")
        first_s, same = 0.0, True
        for w in args.workers:
            start, s, recs = timed(plan, work / f"cache-ray{w}", w)
            first_s = first_s or s
            equal = [without_timing(r) for r in recs] == [without_timing(r) for r in base]
            same = same and equal
            print(f"  Ray, {w} worker{'s' if w > 1 else ''}: {s:.1f} s "
                  f"({60 * n / s:.1f} points/min; cluster start {start:.1f} s), "
                  f"speed-up over {args.workers[0]}: {first_s / s:.2f}x; records "
                  f"{'equal to' if equal else 'DIFFERENT from'} in-process")
        statuses = [r["status"] for r in base]
        print(f"  points: {statuses.count('ok')} ok, {statuses.count('mismatch')} mismatch, "
              f"{statuses.count('failed')} failed")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
