"""The HTML report in a real browser: headless Chromium loads it from file://, runs its
script, and we read back the live DOM and a screenshot (tests/report/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vendor_sdk.report import write_report
from vendor_sdk.report.graph import fold

if TYPE_CHECKING:  # tests/report/conftest.py (pytest loads it; importlib mode cannot)
    from conftest import Chromium, Cnn

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"


def test_run_report_sorts_and_overlays_in_chromium(cnn_run: Cnn, chromium: Chromium,
                                                   tmp_path: Path) -> None:
    c, res = cnn_run.compiled, cnn_run.result
    page = write_report(tmp_path / "run.html", model_path=cnn_run.path, compiled=c,
                        result=res)[0]
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text  # self-contained
    dom = chromium.dom(page, "sort=cycles:desc&overlay=cycles")
    assert dom.all("body", data_ready="1", data_overlay="cycles"), "the script did not run"
    assert dom.all("table", id="layers", data_sorted="cycles:desc")
    # the body's rows, in the order the script left them: cycles descending, no cycles last
    cycles = [layer.cycles for _, layer in res.layers or []]
    by_node = {n.id: n for n in fold(c.partition, c.report).nodes}
    order = [by_node[r["data-node"]] for r in dom.table_rows()]
    assert len(order) == len(cycles) + sum(n.kind == "host" for n in by_node.values())
    assert [n.kind for n in order] == ["npu"] * len(cycles) + ["host"] * (len(order) - len(cycles))
    tds = [a.get("data-v") for t, a in dom.tags if t == "td" and "data-v" in a]
    per_row = len(tds) // len(order)
    col = 2  # data-v columns: index, macs, cycles, ...
    shown = [tds[k * per_row + col] for k in range(len(order))]
    assert [int(v) for v in shown if v] == sorted(cycles, reverse=True)
    # regions drawn as groups, nodes carry their cycles, the hottest is the reddest
    assert {g["data-region"] for g in dom.all("g", **{"class": "region"})} == \
        {r.name for r in c.cmodel.regions}
    nodes = dom.all("g", **{"class": "node"})
    hot = max((n for n in nodes if "data-cycles" in n), key=lambda n: int(n["data-cycles"]))
    assert int(hot["data-cycles"]) == max(cycles)
    fills = [a.get("fill") for t, a in dom.tags if t == "rect"]
    assert "rgb(253,141,60)" in fills  # heat(1): the overlay recoloured the slowest layer


def test_screenshot_is_not_blank(cnn_run: Cnn, chromium: Chromium, tmp_path: Path) -> None:
    page = write_report(tmp_path / "run.html", model_path=cnn_run.path,
                        compiled=cnn_run.compiled, result=cnn_run.result)[0]
    img = chromium.screenshot(page, tmp_path / "run.png", "1200,900")
    assert img.shape == (900, 1200, 3)
    px = img.reshape(-1, 3).astype(int)
    assert np.mean(np.any(px < 240, axis=1)) > 0.05  # text, boxes and bands, not a white page

    def count(rgb: tuple[int, int, int]) -> int:
        return int(np.sum(np.all(np.abs(px - rgb) <= 2, axis=1)))

    assert count((0x8D, 0xD3, 0xC7)) > 2000  # reference_npu's fill: nodes and its legend
    assert count((0xD9, 0xD9, 0xD9)) > 1000  # host nodes (GlobalAveragePool, Flatten)
    assert count((0xD6, 0x27, 0x28)) > 100   # the cycle bars under the nodes


def test_cli_partition_page_in_chromium(cnn_run: Cnn, chromium: Chromium,
                                        tmp_path: Path) -> None:
    """As a user would: `vendor-sdk partition --html` in a fresh directory, then the page
    in the browser, sorted by MACs."""
    run = subprocess.run([str(VENDOR_SDK), "partition", str(cnn_run.path), "--target",
                          "reference_npu", "--html", "graph.html"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    dom = chromium.dom(tmp_path / "graph.html", "sort=macs:desc")
    assert dom.all("body", data_ready="1") and dom.all("table", data_sorted="macs:desc")
    rows = dom.table_rows()
    tds = [a.get("data-v") for t, a in dom.tags if t == "td" and "data-v" in a]
    per_row = len(tds) // len(rows)
    macs = [int(tds[k * per_row + 1]) for k in range(len(rows))]
    assert macs == sorted(macs, reverse=True) and macs[0] == 294912  # conv1: 32*8*8 x 16*3*3
    assert len(rows) == 7 and dom.all("g", **{"class": "region"})
