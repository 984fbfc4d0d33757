"""What the page says where a number needs explaining: a unit busy for longer than its
layer's span (layers overlap), and a host op's reason in a node that has room for
two lines. Rows come from a real run (tests/report/conftest.py); the overlap is made by
giving one row's bound unit more busy cycles than its span, as fsim does at a snapshot."""

from __future__ import annotations

import dataclasses
import json
import re
from html import unescape
from typing import TYPE_CHECKING

from vendor_sdk.report.graph import fold
from vendor_sdk.report.layers import rows, summarize, to_json
from vendor_sdk.report.page import to_html
from vendor_sdk.report.svg import REASON_CHARS, short_reason

if TYPE_CHECKING:  # tests/report/conftest.py (pytest loads it; importlib mode cannot)
    from conftest import Cnn


def _cells(page: str, node: str) -> list[tuple[str, str]]:
    """(title, text) of each text cell of the table row of ``node``."""
    tr = re.search(rf'<tr class="\w+" data-node="{node}">(.*?)</tr>', page)
    assert tr, node
    return [(unescape(t or ""), unescape(re.sub("<[^>]+>", "", v)))
            for t, v in re.findall(r'<td class="l[^"]*"(?: title="([^"]*)")?>(.*?)</td>',
                                   tr.group(1))]


def test_busy_beyond_the_span_is_capped_and_explained(cnn_run: Cnn) -> None:
    c, res = cnn_run.compiled, cnn_run.result
    graph = fold(c.partition, c.report)
    real = rows(graph, c, res)
    pool = next(r for r in real if r.op.startswith("MaxPool"))
    conv = next(r for r in real if r.op.startswith("Conv"))
    assert pool.cycles and conv.cycles
    busy = dict(pool.busy)
    # the run itself: every unit within its layer's span on this model
    assert all(b <= r.cycles for r in real if r.cycles for _, b in r.busy)
    plain = to_html(summarize(real, c.report, "m", res), graph, real)
    assert pool.overlap == 0 and "overlap-note" not in plain and ">exec 100%*<" not in plain
    over = dataclasses.replace(pool, busy=tuple({**busy, "exec": pool.cycles + 37}.items()),
                               bound_by="exec", bound_share=(pool.cycles + 37) / pool.cycles)
    layer_rows = [over if r is pool else r for r in real]
    assert over.overlap == 37 and over.bound_busy == pool.cycles + 37
    page = to_html(summarize(layer_rows, c.report, "m", res), graph, layer_rows)
    where, bound = _cells(page, over.node)[2:4]
    assert where == (f"{over.region} on {over.target}",
                     over.region.removeprefix(over.target + "_"))
    assert bound[1] == "exec 100%*"
    assert f"{pool.cycles + 37:,} cycles, 37 more than the layer's {pool.cycles:,}" in bound[0]
    assert "overlaps the next layer" in bound[0] and 'id="overlap-note"' in page
    tip = re.search(rf'data-node="{over.node}"[^>]*><title>([^<]*)</title>', page)
    assert tip and "37 more than the layer's" in unescape(tip.group(1))
    # a unit within the span: its share, rounded; nothing capped
    share = dict(conv.busy)[conv.bound_by] / conv.cycles
    assert _cells(page, conv.node)[3][1] == f"{conv.bound_by} {round(100 * share)}%"
    # the data stay as counted: the JSON has the raw share, above 1
    doc = json.loads(to_json(summarize(layer_rows, c.report, "m", res), layer_rows))
    row = next(r for r in doc["layers"] if r["node"] == over.node)
    assert row["bound_share"] == (pool.cycles + 37) / pool.cycles > 1
    assert row["busy"]["exec"] - row["cycles"] == 37


def test_host_nodes_show_the_last_why_of_their_reason(cnn_run: Cnn) -> None:
    c = cnn_run.compiled
    graph = fold(c.partition, c.report)
    gap = next(n for n in graph.nodes if n.sources == ("gap",))
    nested = ("the code generator cannot lower composite r0_7_add (r171, r170): the result "
              "is not quantized (no QuantizeLinear)")
    graph = dataclasses.replace(graph, nodes=tuple(
        dataclasses.replace(n, reason=nested) if n is gap else n for n in graph.nodes))
    lines = short_reason(nested)
    assert " ".join(lines) == "host: the result is not quantized (no QuantizeLinear)"
    assert len(lines) == 2 and all(len(ln) <= REASON_CHARS for ln in lines)
    layer_rows = rows(graph, c)
    page = to_html(summarize(layer_rows, c.report, "m"), graph, layer_rows)
    node = re.search(rf'<g class="node" data-node="{gap.id}"[^>]*>(.*?)</g>', page, re.S)
    assert node
    texts = [unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", node.group(1))]
    assert texts == ["GlobalAveragePool", *lines]
    assert nested in unescape(node.group(1))  # the whole reason in the tooltip
    assert _cells(page, gap.id)[-1][1] == nested  # and in the table
    long = short_reason("no pattern offloads " + "VeryLongOperatorName" * 5)
    assert len(long) == 2 and long[1].endswith("\u2026")
