"""Small quantized models and a results-directory reader shared by the sweep tests."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import reference_npu
from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize

REF = Path(reference_npu.__file__).parent


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


def copy_reference(dst: Path, edit_driver: tuple[str, str] | None = None, **params: int) -> Path:
    """The reference NPU copied with a regex edit of its params (not the sweep's editor),
    and optionally one edit of its functional model's C."""
    shutil.copytree(REF, dst, ignore=shutil.ignore_patterns("__pycache__"))
    yaml = dst / "target.yaml"
    text = yaml.read_text()
    for k, v in params.items():
        text, n = re.subn(rf"(?m)^  {k}: \d+", f"  {k}: {v}", text)
        assert n == 1
    yaml.write_text(text)
    if edit_driver:
        src = dst / "driver" / "fsim_ops.c"
        code = src.read_text()
        assert code.count(edit_driver[0]) == 1
        src.write_text(code.replace(*edit_driver))
    return yaml


@pytest.fixture
def ref_copy() -> Callable[..., Path]:
    """ref_copy(dst, edit_driver=None, **params) -> the copied target.yaml."""
    return copy_reference
