"""The `partition --html` page: the HTML report (vendor_sdk.report) of a partition alone.

One page design for partition, compile and run: the graph with Q/DQ and constant chains
folded into their consumers, NPU regions as bands coloured by target, host ops with the
reason they stayed there, the share of MACs on the NPU and the per-layer table (MACs;
cycles need a run). The text report follows, folded.
"""

from __future__ import annotations

from vendor_sdk.patterns.partition import Partition
from vendor_sdk.patterns.report import Report
from vendor_sdk.report.graph import fold
from vendor_sdk.report.layers import rows, summarize
from vendor_sdk.report.page import to_html as page


def to_html(p: Partition, report: Report) -> str:
    graph = fold(p, report)
    layer_rows = rows(graph)
    name = report.model or "model"
    return page(summarize(layer_rows, report, name), graph, layer_rows,
                title=f"{name}: partitioned for {', '.join(report.targets) or 'no target'}",
                text=report.to_text())
