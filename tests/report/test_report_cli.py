"""`--report` through the installed command, as a user would: `vendor-sdk run` and
`vendor-sdk compile` in a fresh directory, then the files they wrote, then the page in
headless Chromium (tests/report/conftest.py)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

if TYPE_CHECKING:  # tests/report/conftest.py (pytest loads it; importlib mode cannot)
    from conftest import Chromium, Cnn, Dom

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(VENDOR_SDK), *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env={**os.environ, "COLUMNS": "200"}, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _onnx_compute_nodes(model: Path) -> list[str]:
    """The model's compute nodes by name, from the ONNX file itself (Q/DQ left out)."""
    return [n.name for n in onnx.load(str(model)).graph.node
            if n.op_type not in ("QuantizeLinear", "DequantizeLinear")]


def test_run_report_through_the_cli(cnn_run: Cnn, chromium: Chromium, tmp_path: Path) -> None:
    """`run --report out.html` writes the three files; the JSON's per-layer cycles add up
    to the total that `run --json` prints; the page's live DOM shows the same layers."""
    model = cnn_run.path
    r = _cli("run", model, "--report", "out.html", cwd=tmp_path)
    for name in ("out.html", "out.csv", "out.json", "out.model_explorer.json"):
        assert (tmp_path / name).is_file()
        assert f"wrote {name}" in r.stdout
    printed = json.loads(_cli("run", model, "--json", cwd=tmp_path).stdout)
    doc = json.loads((tmp_path / "out.json").read_text())
    npu = [row for row in doc["layers"] if row["where"] == "npu"]
    assert npu and all(isinstance(row["cycles"], int) and row["cycles"] > 0 for row in npu)
    assert sum(row["cycles"] for row in npu) == printed["cycles"] == doc["summary"]["cycles"]
    # per layer too: the report's rows are the run's layers, by their C function
    assert [(row["name"], row["cycles"]) for row in npu] == \
        [(ls["function"], ls["cycles"]) for ls in printed["layers"]]
    assert doc["backend"] == printed["backend"] == "fsim" and doc["cycles_estimated"] is True
    host = [row for row in doc["layers"] if row["where"] == "host"]
    assert all(row["cycles"] is None for row in host)
    assert {row["onnx_nodes"][0] for row in host} == {"gap", "flatten"}
    # every compute node of the ONNX file is in exactly one row
    covered = [n for row in doc["layers"] for n in row["onnx_nodes"]]
    assert sorted(covered) == sorted(_onnx_compute_nodes(model))
    table = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [int(t["cycles"]) if t["cycles"] else None for t in table] == \
        [row["cycles"] for row in doc["layers"]]
    # Model Explorer node data: keyed by what its ONNX adapter calls the graph and nodes
    # (the graph's name, the node names), each NPU layer's cycles on its first ONNX node
    assert _model_explorer(tmp_path / "out.model_explorer.json", model) == \
        {row["onnx_nodes"][0]: row["cycles"] for row in npu}

    dom = chromium.dom(tmp_path / "out.html", "sort=cycles:desc&overlay=util")
    assert dom.all("body", data_ready="1", data_overlay="util")
    assert dom.all("table", data_sorted="cycles:desc")
    shown = [tr["data-node"] for tr in dom.table_rows()]
    by_cycles = sorted(npu, key=lambda row: -row["cycles"])
    assert shown[:len(npu)] == [row["node"] for row in by_cycles]
    nodes = {g["data-node"]: g for g in dom.all("g", **{"class": "node"})}
    assert {n: int(nodes[n]["data-cycles"]) for n in (row["node"] for row in npu)} == \
        {row["node"]: row["cycles"] for row in npu}
    assert all("data-cycles" not in nodes[row["node"]] for row in host)
    assert dom.all("input", value="cycles")  # the overlay switch exists on a run's page
    # the utilization overlay: orange (0%) - yellow (50%) - light green (100%); a layer
    # without MACs has none (near-white), a host op keeps its grey
    fills = _node_fills(dom)
    for row in doc["layers"]:
        want = "#d9d9d9" if row["where"] == "host" else "#f7f7f7" \
            if row["utilization"] is None else _util_rgb(row["utilization"])
        assert fills[row["node"]] == want, row
    assert {fills[row["node"]] for row in npu if row["utilization"]} != {"#f7f7f7"}


def _util_rgb(u: float) -> str:
    stops = ((244, 109, 67), (254, 224, 139), (166, 217, 106))
    lo, hi, t = (stops[0], stops[1], 2 * u) if u < 0.5 else (stops[1], stops[2], 2 * u - 1)
    # JavaScript's Math.round: halves up (Python's round() would go to even)
    return "rgb(" + ",".join(str(math.floor(a + (b - a) * t + 0.5))
                             for a, b in zip(lo, hi, strict=True)) + ")"


def _node_fills(dom: Dom) -> dict[str, str]:
    """Each graph node's box fill, as the script left it (the first rect in its group)."""
    fills: dict[str, str] = {}
    node = ""
    for tag, a in dom.tags:
        if tag == "g":
            node = a.get("data-node", "")
        elif tag == "rect" and node and node not in fills:
            fills[node] = a["fill"]
    return fills


def test_compile_report_through_the_cli_has_no_cycles(cnn_run: Cnn, tmp_path: Path) -> None:
    r = _cli("compile", cnn_run.path, "-o", "build", "--report", "c.html", cwd=tmp_path)
    assert "wrote c.html" in r.stdout and "wrote c.json" in r.stdout
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["backend"] is None and doc["cycles_estimated"] is None
    assert doc["summary"]["cycles"] is None and doc["summary"]["utilization"] is None
    assert all(row["cycles"] is None and row["bound_by"] == "" for row in doc["layers"])
    assert all(row["macs"] > 0 for row in doc["layers"] if row["op"].startswith("Conv"))
    page = (tmp_path / "c.html").read_text()
    assert "cycles: compile only" in page and 'data-cycles="' not in page
    table = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text())))
    assert len(table) == len(doc["layers"]) and not any(t["cycles"] for t in table)
    macs = _model_explorer(tmp_path / "c.model_explorer.json", cnn_run.path)
    assert macs == {row["onnx_nodes"][0]: row["macs"] for row in doc["layers"] if row["macs"]}
    assert sum(macs.values()) == doc["summary"]["macs_total"] > 0


def _model_explorer(path: Path, model: Path) -> dict[str, int]:
    """The node data file's values by node, after checking its shape: Model Explorer's
    ModelNodeData (graph id -> results, gradient with stops 0 and 1), graph id and node
    ids as its ONNX adapter names them (the graph's name, the ONNX node names)."""
    m = onnx.load(str(model))
    data = json.loads(path.read_text())
    assert list(data) == [m.graph.name]
    graph = data[m.graph.name]
    assert [g["stop"] for g in graph["gradient"]] == [0, 1]
    assert all(g["bgColor"].startswith("#") for g in graph["gradient"])
    results = graph["results"]
    assert set(results) <= {n.name for n in m.graph.node}
    assert all(set(v) == {"value"} for v in results.values())
    return {k: v["value"] for k, v in results.items()}
