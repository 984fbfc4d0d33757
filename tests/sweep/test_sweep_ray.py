"""`vendor-sdk sweep --ray` on a local cluster of 2 CPUs: the same records as in process
(timings aside), the builds the in-process run made reused by the workers' processes,
and a point whose worker dies or raises retried once and then recorded."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.sweep.execute import RayOptions, run_on_ray
from vendor_sdk.sweep.point import Record, base_record
from vendor_sdk.sweep.results import without_timing
from vendor_sdk.sweep.run import plan_sweep


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A local Ray cluster whose workers use a build cache of this module's own (set
    before the cluster starts: its processes inherit it), so what they build is seen."""
    cache = tmp_path_factory.mktemp("sweep_cache")
    old = os.environ.get("VENDOR_SDK_CACHE")
    os.environ["VENDOR_SDK_CACHE"] = str(cache)
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        yield cache
    finally:
        ray.shutdown()
        if old is None:
            del os.environ["VENDOR_SDK_CACHE"]
        else:
            os.environ["VENDOR_SDK_CACHE"] = old


def builds(cache: Path) -> set[str]:
    """The build cache's entries (kind/key), without the model files Ray tasks receive."""
    return {f"{k.name}/{e.name}" for k in cache.iterdir() if k.is_dir()
            and k.name != "sweep-models" for e in k.iterdir()}


def test_ray_records_equal_in_process_ones(cluster: Path, sweep_models: Path, tmp_path: Path,
                                           results: Any) -> None:
    args = ["sweep", "--param", "DIM=8,16", "--models", str(sweep_models)]
    local = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    before = builds(cluster)
    assert any(b.startswith("models/") for b in before)  # the in-process run built them
    on_ray = CliRunner().invoke(app, [*args, "--ray", "-o", str(tmp_path / "ray")])
    assert on_ray.exit_code == 0, on_ray.output
    assert "on Ray" in on_ray.output
    a, b = results(tmp_path / "local"), results(tmp_path / "ray")
    assert len(a) == 4 and all(r["status"] == "ok" for r in a)
    assert [without_timing(r) for r in a] == [without_timing(r) for r in b]
    # the workers (other processes) compiled nothing: every configured target, runtime and
    # model library came from the cache the in-process run filled
    assert builds(cluster) == before
    assert len(list((cluster / "sweep-models").iterdir())) >= 2  # they did get the models


def test_lost_worker_and_raising_point_are_retried_once(cluster: Path, sweep_models: Path,
                                                        tmp_path: Path) -> None:
    tries = tmp_path / "tries"
    tries.mkdir()

    def flaky(point: Any, model: Path | None, only: tuple[str, ...]) -> Record:
        with (tries / point.config).open("a") as f:
            f.write("x")
        if point.config == "DIM=16":
            os._exit(1)  # the worker process dies (a crash in the C under test)
        if point.config == "DIM=4":
            raise RuntimeError("boom")
        assert model is not None and model.read_bytes() == point.model.path.read_bytes()
        return base_record(point) | {"status": "ok"}

    plan = plan_sweep("reference_npu", ["DIM=8,16,4"], [sweep_models / "tiny.onnx"])
    got: list[Record] = []
    run_on_ray(plan.points, got.append, (), RayOptions(), flaky)
    by = {r["config"]: r for r in got}
    assert sorted(by) == ["DIM=16", "DIM=4", "DIM=8"]
    assert by["DIM=8"]["status"] == "ok"
    assert by["DIM=16"]["status"] == "failed" and "Worker" in by["DIM=16"]["reason"]
    assert by["DIM=4"]["status"] == "failed" and "RuntimeError: boom" in by["DIM=4"]["reason"]
    assert {p.name: len(p.read_text()) for p in tries.iterdir()} == \
        {"DIM=8": 1, "DIM=16": 2, "DIM=4": 2}
