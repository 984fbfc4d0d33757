"""The report's data: the folded graph, per-layer rows, CSV and JSON (schema
vendor-sdk.layers/1), each checked against a reference computed apart from the SDK: the
float ONNX model with onnx's own shape inference, and the run's region counters."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import hypothesis.strategies as st
import onnx
from hypothesis import given, settings

from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.patterns.from_target import patterns_of
from vendor_sdk.patterns.partition import PartitionOptions, partition, prepare
from vendor_sdk.patterns.report import QDQ, build_report
from vendor_sdk.plugins import resolve_target
from vendor_sdk.report import SCHEMA, write_report
from vendor_sdk.report.graph import fold
from vendor_sdk.report.layers import rows, summarize
from vendor_sdk.report.layout import layered

if TYPE_CHECKING:  # tests/report/conftest.py (pytest loads it; importlib mode cannot)
    from conftest import Cnn


def onnx_reference(float_path: Path) -> tuple[dict[str, int], dict[str, str]]:
    """MACs per ONNX node and the shape of each node's first input (N = 1 for MACs, the
    symbol kept for shapes), by onnx.shape_inference."""
    m = onnx.shape_inference.infer_shapes(onnx.load(str(float_path)))
    g = m.graph
    dims = {vi.name: [d.dim_value if d.HasField("dim_value") else d.dim_param
                      for d in vi.type.tensor_type.shape.dim]
            for vi in [*g.input, *g.value_info, *g.output]}
    dims |= {t.name: list(t.dims) for t in g.initializer}
    macs, first_input = {}, {}
    for n in g.node:
        first_input[n.name] = "\u00d7".join(map(str, dims[n.input[0]]))
        if n.op_type in ("Conv", "MatMul"):
            out = [1 if isinstance(d, str) else d for d in dims[n.output[0]]]
            w = dims[n.input[1]]
            macs[n.name] = math.prod(out) * (math.prod(w[1:]) if n.op_type == "Conv" else w[0])
    return macs, first_input


def test_graph_folds_plumbing_and_labels_edges_with_onnx_shapes(cnn_run: Cnn) -> None:
    c = cnn_run.compiled
    g = fold(c.partition, c.report)
    _, first_input = onnx_reference(cnn_run.float_path)
    compute = [n for n in g.nodes if n.kind in ("npu", "host")]
    assert not [n for n in compute if set(n.ops) & QDQ]
    # one node per layer, where the partition report puts it (gap and flatten: the host)
    assert [n.sources for n in compute] == [("conv0",), ("conv1",), ("conv2",), ("pool",),
                                            ("gap",), ("flatten",), ("fc",)]
    on_host = {h.source for h in c.report.host}
    assert [n.kind for n in compute] == ["host" if n.sources[0] in on_host else "npu"
                                         for n in compute]
    assert {"gap", "flatten"} <= on_host and "conv0" not in on_host
    assert {n.region for n in compute if n.kind == "npu"} == {r.name for r in c.partition.regions}
    host = {n.sources[0]: n.reason for n in compute if n.kind == "host"}
    assert host["gap"] == "no pattern offloads GlobalAveragePool"
    by_id = {n.id: n for n in g.nodes}
    assert len(g.edges) == 8  # a chain: input -> 7 layers -> output
    for e in g.edges:
        dst = by_id[e.dst]
        if dst.sources:  # the tensor the consumer's ONNX node reads, as onnx infers it
            assert e.shape == first_input[dst.sources[0]], (e, dst)
    assert by_id[g.edges[0].src].kind == "input" and g.edges[0].shape == "N\u00d73\u00d716\u00d716"


def test_rows_csv_json_against_onnx_and_counters(cnn_run: Cnn, tmp_path: Path) -> None:
    c, res = cnn_run.compiled, cnn_run.result
    paths = write_report(tmp_path / "r" / "run.html", model_path=cnn_run.path, compiled=c,
                         result=res)
    assert [p.name for p in paths] == ["run.html", "run.csv", "run.json",
                                       "run.model_explorer.json"]
    doc = json.loads(paths[2].read_text())
    assert doc["schema"] == SCHEMA == "vendor-sdk.layers/1"
    macs, _ = onnx_reference(cnn_run.float_path)
    layers = doc["layers"]
    for row in layers:
        assert row["macs"] == sum(macs.get(n, 0) for n in row["onnx_nodes"]), row
    npu = [r for r in layers if r["where"] == "npu"]
    assert sum(r["cycles"] for r in npu) == res.cycles == doc["summary"]["cycles"]
    # per layer: cycles, DRAM bytes and busy units add up to the regions' own counters
    for counter, key in (("dma_rd_bytes", ("memory", "dram", "read_bytes")),
                         ("dma_wr_bytes", ("memory", "dram", "write_bytes"))):
        total = sum(s.counters[counter] for s in res.stats)
        assert sum(r[key[0]][key[1]][key[2]] for r in npu) == total > 0
    for r in npu:
        assert r["ideal"] == r["macs"] / 64
        if r["macs"]:
            assert abs(r["utilization"] - r["macs"] / 64 / r["cycles"]) < 1e-12
        busiest = max(r["busy"], key=r["busy"].get)
        assert r["bound_by"] == busiest and r["bound_share"] == r["busy"][busiest] / r["cycles"]
    host = [r for r in layers if r["where"] == "host"]
    assert host and all(r["cycles"] is None and r["host_reason"] for r in host)
    assert doc["summary"]["macs_total"] == sum(macs.values())
    assert doc["summary"]["mac_share_npu"] == 1.0
    # CSV: the same rows, the documented columns first
    table = list(csv.DictReader(io.StringIO(paths[1].read_text())))
    assert [t["name"] for t in table] == [r["name"] for r in layers]
    assert [int(t["macs"]) for t in table] == [r["macs"] for r in layers]
    assert [t["cycles"] for t in table] == [str(r["cycles"] or "") for r in layers]
    assert list(table[0])[:6] == ["index", "name", "op", "onnx_nodes", "where", "region"]
    assert {"busy_gemm", "busy_load", "busy_store", "busy_exec"} <= set(table[0])


def test_compile_only_report_has_macs_no_cycles(cnn_run: Cnn, tmp_path: Path) -> None:
    paths = write_report(tmp_path / "c.html", model_path=cnn_run.path,
                         compiled=cnn_run.compiled)
    doc = json.loads(paths[2].read_text())
    assert doc["backend"] is None and doc["summary"]["cycles"] is None
    assert all(r["cycles"] is None and r["utilization"] is None for r in doc["layers"])
    macs, _ = onnx_reference(cnn_run.float_path)
    assert doc["summary"]["ideal"] == sum(macs.values()) / 64
    assert "cycles: compile only" in paths[0].read_text()


def test_mac_share_counts_macs_not_ops(cnn_run: Cnn) -> None:
    """conv1 forced to the host: 6/7 ops offloaded but 65% of the MACs (ONNX's count)."""
    pats = patterns_of(resolve_target("reference_npu"))
    part = partition(prepare(from_onnx(cnn_run.path)), pats,
                     PartitionOptions(host_nodes=frozenset({"conv1"})))
    report = build_report(part, pats, "cnn")
    layer_rows = rows(fold(part, report))
    s = summarize(layer_rows, report, "cnn")
    macs, _ = onnx_reference(cnn_run.float_path)
    assert (s.ops_offloaded, s.ops_total) == (4, 7)
    assert s.macs_total == sum(macs.values())
    assert s.macs_npu == sum(macs.values()) - macs["conv1"]
    assert 0.3 < s.mac_share < 0.4  # conv1 is 65% of the model's MACs
    (conv1,) = [r for r in layer_rows if r.onnx_nodes == ("conv1",)]
    assert conv1.where == "host" and "forced to the host" in conv1.host_reason


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]], dict[str, str]]:
    n = draw(st.integers(2, 18))
    nodes = [f"v{i}" for i in range(n)]
    edges = sorted({(f"v{a}", f"v{b}") for b in range(1, n)
                    for a in draw(st.sets(st.integers(0, b - 1), min_size=1, max_size=3))})
    group = {v: draw(st.sampled_from(["", "r0", "r1"])) for v in nodes}
    return nodes, edges, group


@settings(max_examples=60, deadline=None)
@given(dags())
def test_layout_points_down_without_overlaps(dag: tuple[list[str], list[tuple[str, str]],
                                                        dict[str, str]]) -> None:
    nodes, edges, group = dag
    lay = layered(nodes, edges, lambda v: (100.0, 30.0), group)
    for s, d in edges:
        assert lay.layer[d] > lay.layer[s]
        pts = lay.routes[(s, d)]
        assert all(b[1] > a[1] for a, b in itertools.pairwise(pts))
        assert pts[0][1] == lay.boxes[s].y + 30 and pts[-1][1] == lay.boxes[d].y
    by_layer: dict[int, list[tuple[float, float]]] = {}
    for v in nodes:
        b = lay.boxes[v]
        assert 0 <= b.x and b.x + b.w <= lay.width and b.y + b.h <= lay.height
        by_layer.setdefault(lay.layer[v], []).append((b.x, b.x + b.w))
    for spans in by_layer.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
