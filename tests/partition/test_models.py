"""Real models onto the reference NPU: the nine light models of the onnx package, float
(nothing offloads: the NPU is int8, and the report says so per op) and int8 QDQ from
onnxruntime's quantizer. Reports are golden files; refresh with UPDATE_GOLDEN=1.

Quantizing all nine takes ~40 s, so quantized models are kept in pytest's cache
(``.pytest_cache``), keyed by the onnx / onnxruntime versions and the recipe's source;
one test per model and precision, so ``-n 2`` spreads them over workers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import qdq_models  # tests/partition is on sys.path (pyproject: pytest pythonpath)
from typer.testing import CliRunner

from core.executor import run
from core.verify import verify
from vendor_sdk.cli import app
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.patterns.from_target import patterns_of
from vendor_sdk.patterns.partition import partition, prepare
from vendor_sdk.patterns.report import build_report
from vendor_sdk.plugins import resolve_target
from vendor_sdk.zoo import LIGHT_MODELS, light_model_path

GOLDEN = Path(__file__).parent / "golden"
# (model, int8?) -> (offloaded, total) compute ops (Q/DQ excluded)
COVERAGE = {
    ("resnet50", False): (0, 123), ("resnet50", True): (87, 90),
    ("squeezenet", False): (0, 65), ("squeezenet", True): (29, 41),
    ("inception_v1", False): (0, 142), ("inception_v1", True): (70, 85),
    ("inception_v2", False): (0, 302), ("inception_v2", True): (75, 95),
    ("densenet121", False): (0, 609), ("densenet121", True): (123, 370),
    ("shufflenet", False): (0, 154), ("shufflenet", True): (77, 134),
    ("vgg19", False): (0, 46), ("vgg19", True): (24, 26),
    ("bvlc_alexnet", False): (0, 24), ("bvlc_alexnet", True): (8, 15),
    ("zfnet512", False): (0, 23), ("zfnet512", True): (9, 15),
}  # fmt: skip
# Executing vgg19 twice takes ~10 s; its layer kinds are alexnet's and zfnet's.
SLOW_TO_RUN = frozenset({"vgg19"})


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, f"{path} differs; UPDATE_GOLDEN=1 refreshes it"


@pytest.fixture(scope="session")
def qdq_dir(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where quantized models live: pytest's cache when it is on, else a session tmp dir."""
    recipe = hashlib.sha256(Path(qdq_models.__file__).read_bytes()).hexdigest()[:12]
    key = f"qdq-onnx{onnx.__version__}-ort{onnxruntime.__version__}-{recipe}"
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir(key) if cache is not None else tmp_path_factory.mktemp(key)


def int8_model(qdq_dir: Path, name: str) -> Path:
    path = qdq_dir / f"{name}_int8.onnx"
    if not path.exists():
        logging.getLogger().setLevel(logging.ERROR)  # the quantizer warns about every bias
        qdq_models.quantized(name, path)
    return path


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_coverage_golden_and_exact(name: str, int8: bool, qdq_dir: Path) -> None:
    path = int8_model(qdq_dir, name) if int8 else light_model_path(name)
    pats = patterns_of(resolve_target("reference_npu"))
    module = prepare(from_onnx(path))
    part = partition(module, pats)
    verify(part.module)
    label = f"{name}{'_int8' if int8 else ''}"
    report = build_report(part, pats, label)
    assert report.coverage == COVERAGE[(name, int8)]
    _check_golden(f"{label}.txt", report.to_text())
    if int8 and name not in SLOW_TO_RUN:  # regions run by their reference semantics
        x = np.random.default_rng(1).random((1, 3, 224, 224), np.float32)
        for want, got in zip(run(module, [x]), run(part.module, [x]), strict=True):
            np.testing.assert_array_equal(want, got)


def test_resnet50_int8_classifier_offloads_gemm_with_bias(qdq_dir: Path) -> None:
    pats = patterns_of(resolve_target("reference_npu"))
    part = partition(prepare(from_onnx(int8_model(qdq_dir, "resnet50"))), pats)
    (gemm,) = [m for r in part.regions for m in r.composites if m.pattern.name == "gemm_bias"]
    assert gemm.tensors["b"].type.dtype == "int32"  # type: ignore[union-attr]
    assert gemm.qparams["w"].axis == 0 and "out" in gemm.qparams


def test_cli_json_and_pictures(qdq_dir: Path, tmp_path: Path) -> None:
    squeezenet_int8 = int8_model(qdq_dir, "squeezenet")
    dot, page = tmp_path / "g.dot", tmp_path / "g.html"
    res = CliRunner().invoke(app, ["partition", str(squeezenet_int8), "--target",
                                   "reference_npu", "--format", "json", "--dot", str(dot),
                                   "--html", str(page), "--host", "MaxPool"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ops"]["MaxPool"] == {"offloaded": 0, "host": 3}
    # 41 ops: the opset-13 recipe adds the host Flatten/Reshape (COVERAGE above)
    assert data["coverage"] == {"offloaded": 26, "total": 41}
    pool = next(h for h in data["host"] if h["op"] == "MaxPool")
    assert "no pattern offloads MaxPool" not in pool["reason"]
    assert dot.read_text().startswith("digraph") and "cluster_reference_npu_region0" in \
        dot.read_text()
    _check_page(page.read_text())


def _check_page(text: str) -> None:
    """The page draws the graph itself: one box per layer (Q/DQ folded), layered top-down
    without overlaps, host boxes grey with the reason on hover, no remote resources (its
    script is inline; tests/report loads it in a browser)."""
    assert "<script src" not in text and "https://" not in text and "http://" not in \
        text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    svg = ET.fromstring(text[text.index("<svg"):text.index("</svg>") + 6])
    ns = {"s": "http://www.w3.org/2000/svg"}
    nodes = svg.findall("s:g[@class='node']", ns)
    boxes = [(float(r.get("x", 0)), float(r.get("y", 0)), float(r.get("width", 0)))
             for r in (n.find("s:rect", ns) for n in nodes) if r is not None]
    assert len(boxes) == len(nodes) > 40
    by_row: dict[float, list[tuple[float, float]]] = {}
    for x, y, w in boxes:
        by_row.setdefault(y, []).append((x, x + w))
    for spans in by_row.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    edges = list(svg.iter("{http://www.w3.org/2000/svg}path"))[1:]  # [0]: the arrow head
    assert len(edges) >= len(nodes) - 2
    for path in edges:  # every edge points down: "M x,y C ... x,y"
        ys = [float(v) for v in path.get("d", "").replace("M", " ").replace("C", " ")
              .replace(",", " ").split()[1::2]]
        assert ys[-1] > ys[0]
    tips = {n.findtext("s:title", "", ns): n.find("s:rect", ns).get("fill")  # type: ignore[union-attr]
            for n in nodes}
    pool = [t for t in tips if t.startswith("MaxPool")]
    assert pool and all("host: forced to the host" in t and tips[t] == "#d9d9d9" for t in pool)
    assert any("reference_npu_region0, pattern conv2d_bias_relu" in t for t in tips)


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["partition", str(tmp_path / "missing.onnx"), "--target",
                                   "reference_npu"])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["partition", str(light_model_path("squeezenet")),
                                   "--target", "no_such_npu"])
    assert res.exit_code == 2
