"""One self-contained HTML report per compile or run, with per-layer CSV and JSON beside it.

    graph = fold(partition, report)        composites as nodes, Q/DQ and constants folded
    rows  = rows(graph, compiled, result)  per layer: MACs, cycles, utilization, bound-by
    html  = to_html(summary, graph, rows)  layered SVG layout + sortable table
    node data for Model Explorer           cycles (a run) or MACs per ONNX node

docs/report.md describes the page and the ``vendor-sdk.layers/1`` schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from vendor_sdk.report.graph import fold
from vendor_sdk.report.layers import SCHEMA, rows, summarize, target_peak, to_csv, to_json
from vendor_sdk.report.model_explorer import to_model_explorer
from vendor_sdk.report.page import to_html

if TYPE_CHECKING:
    from vendor_sdk.compile import Compiled
    from vendor_sdk.runtime.compare import RunResult

__all__ = ["SCHEMA", "write_report"]


def write_report(out: Path, *, model_path: Path, compiled: Compiled,
                 result: RunResult | None = None,
                 sizes: Mapping[str, int] | None = None) -> list[Path]:
    """Write ``out`` (HTML, self-contained) and beside it ``out.with_suffix('.csv')`` and
    ``'.json'`` (per-layer rows, schema ``vendor-sdk.layers/1``) and
    ``'.model_explorer.json'`` (node data for Model Explorer); returns the paths.

    ``result``: a run's counters (cycles, utilization, bound-by); without it the report
    is a compile's (MACs, regions, host reasons; no cycles). ``sizes``: values of symbolic
    dims for MAC counts (a dim not given counts as 1). ``model_path`` names the model in
    the report when the compile did not."""
    env = dict(sizes or {})
    batch = next(iter(env.values()), 1) if len(env) == 1 else env.get("N", 1)
    graph = fold(compiled.partition, compiled.report, env)
    layer_rows = rows(graph, compiled, result, batch)
    summary = summarize(layer_rows, compiled.report, compiled.name or model_path.stem, result,
                        target_peak(compiled) if result is None else None)
    out = Path(out)
    paths = [out, out.with_suffix(".csv"), out.with_suffix(".json"),
             out.with_suffix(".model_explorer.json")]
    out.parent.mkdir(parents=True, exist_ok=True)
    paths[0].write_text(to_html(summary, graph, layer_rows), encoding="utf-8")
    paths[1].write_text(to_csv(layer_rows), encoding="utf-8")
    paths[2].write_text(to_json(summary, layer_rows), encoding="utf-8")
    paths[3].write_text(to_model_explorer(_graph_name(model_path), layer_rows,
                                          result is not None), encoding="utf-8")
    return paths


def _graph_name(model_path: Path) -> str:
    """The ONNX graph's name: Model Explorer's ONNX adapter uses it as the graph id."""
    import onnx

    return onnx.load(str(model_path), load_external_data=False).graph.name
