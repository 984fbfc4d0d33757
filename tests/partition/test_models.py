"""Real models onto the reference NPU: float (nothing offloads: the NPU is int8, and the
report says so per op) and int8 QDQ from onnxruntime's quantizer. Reports are golden
files; refresh with UPDATE_GOLDEN=1."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from qdq_models import quantized  # tests/partition is on sys.path (rootdir import)
from typer.testing import CliRunner

from core.executor import run
from core.verify import verify
from vendor_sdk.cli import app
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.patterns.from_target import patterns_of
from vendor_sdk.patterns.partition import partition, prepare
from vendor_sdk.patterns.report import build_report
from vendor_sdk.plugins import resolve_target
from vendor_sdk.zoo import light_model_path

GOLDEN = Path(__file__).parent / "golden"
# (model, int8?) -> (offloaded, total) compute ops
COVERAGE = {("squeezenet", False): (0, 65), ("squeezenet", True): (29, 39)}


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, f"{path} differs; UPDATE_GOLDEN=1 refreshes it"


@pytest.fixture(scope="module")
def squeezenet_int8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer warns about every bias
    return quantized("squeezenet", tmp_path_factory.mktemp("q") / "squeezenet_int8.onnx")


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
def test_squeezenet_coverage_golden_and_exact(int8: bool, squeezenet_int8: Path) -> None:
    path = squeezenet_int8 if int8 else light_model_path("squeezenet")
    pats = patterns_of(resolve_target("reference_npu"))
    module = prepare(from_onnx(path))
    part = partition(module, pats)
    verify(part.module)
    report = build_report(part, pats, f"squeezenet{'_int8' if int8 else ''}")
    assert report.coverage == COVERAGE[("squeezenet", int8)]
    _check_golden(f"squeezenet{'_int8' if int8 else ''}.txt", report.to_text())
    if int8:  # offloaded regions run by their reference semantics: bit-identical
        x = np.random.default_rng(1).random((1, 3, 224, 224), np.float32)
        (want,), (got,) = run(module, [x]), run(part.module, [x])
        np.testing.assert_array_equal(want, got)


def test_cli_json_and_pictures(squeezenet_int8: Path, tmp_path: Path) -> None:
    dot, page = tmp_path / "g.dot", tmp_path / "g.html"
    res = CliRunner().invoke(app, ["partition", str(squeezenet_int8), "--target",
                                   "reference_npu", "--format", "json", "--dot", str(dot),
                                   "--html", str(page), "--host", "MaxPool"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ops"]["MaxPool"] == {"offloaded": 0, "host": 3}
    assert data["coverage"] == {"offloaded": 26, "total": 39}
    pool = next(h for h in data["host"] if h["op"] == "MaxPool")
    assert "no pattern offloads MaxPool" not in pool["reason"]
    assert dot.read_text().startswith("digraph") and "cluster_reference_npu_region0" in \
        dot.read_text()
    assert "reference_npu_region0" in page.read_text()


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["partition", str(tmp_path / "missing.onnx"), "--target",
                                   "reference_npu"])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["partition", str(light_model_path("squeezenet")),
                                   "--target", "no_such_npu"])
    assert res.exit_code == 2
