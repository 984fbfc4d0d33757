"""Per-layer figures as node data for Google's Model Explorer (``ai-edge-model-explorer``).

Model Explorer draws an ONNX model through its ONNX adapter (``model-explorer-onnx``),
whose graph id is the ONNX graph's name and whose node ids are the ONNX node names, and
overlays "node data": a JSON file mapping graph id -> ``{"results": {node id: {"value":
number}}, "gradient": [...]}`` (its ``ModelNodeData``). We write that format directly;
the package is not a dependency of the SDK.

One number per layer, on the layer's first ONNX node (its Conv, MatMul or Add): the
fused Relu of a composite gets none, so Model Explorer's sums over a selection stay the
layer totals. A run reports NPU cycles (host ops have none); a compile, MACs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from vendor_sdk.report.layers import LayerRow

# the page's cycles heat (page.py heat()): pale at the fewest, orange at the most
GRADIENT = ({"stop": 0, "bgColor": "#fff5eb"}, {"stop": 1, "bgColor": "#fd8d3c"})


def node_data(graph_id: str, layer_rows: Sequence[LayerRow], run: bool) -> dict[str, object]:
    """``run``: each NPU layer's cycles; otherwise each layer's MACs (those with any)."""
    results: dict[str, dict[str, int]] = {}
    for r in layer_rows:
        value = r.cycles if run else r.macs or None
        if value is not None and r.onnx_nodes:
            results[r.onnx_nodes[0]] = {"value": value}
    return {graph_id: {"results": results, "gradient": list(GRADIENT)}}


def to_model_explorer(graph_id: str, layer_rows: Sequence[LayerRow], run: bool) -> str:
    return json.dumps(node_data(graph_id, layer_rows, run), indent=2) + "\n"
