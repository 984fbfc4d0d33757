"""Small quantized models and a results-directory reader shared by the sweep tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize


@pytest.fixture(scope="session")
def sweep_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of two int8 MLPs (a compile and an fsim run take about a second)."""
    d = tmp_path_factory.mktemp("sweep_models")
    src = tmp_path_factory.mktemp("sweep_float")
    quantize(mlp(src / "tiny.onnx", sizes=(16, 8)), d / "tiny.onnx", random=2)
    quantize(mlp(src / "small.onnx", sizes=(24, 16, 8), seed=1), d / "small.onnx", random=2)
    return d


def read_points(out: Path) -> list[dict[str, Any]]:
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema"] == "vendor-sdk.sweep/1"
    return list(doc["points"])


@pytest.fixture
def results() -> Any:
    """results(out) -> the points of out/results.json (its schema checked)."""
    return read_points
