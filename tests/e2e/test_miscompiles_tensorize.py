"""Regressions of tensorized layers and host code that gave wrong results (issue 12, items
4-7), each run as a user does: `vendor-sdk run` on an onnxruntime-quantized model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from e2e.test_conv_offload import assert_offloaded_and_close

import reference_npu
import vendor_sdk.intrinsics.tensorize as tensorize
from vendor_sdk.intrinsics.cost import estimate
from vendor_sdk.intrinsics.search import Searched
from vendor_sdk.intrinsics.tensorize_build import Plan
from vendor_sdk.runtime.examples import dense_model
from vendor_sdk.runtime.quantize import quantize


def target_variant(dst: Path, **params: int) -> Path:
    """The reference NPU with some ``params:`` changed (its RTL and templates shared)."""
    src = Path(reference_npu.__file__).parent
    dst.mkdir(parents=True)
    for d in ("templates", "rtl"):
        (dst / d).symlink_to(src / d)
    text = (src / "target.yaml").read_text()
    for k, v in params.items():
        text, n = re.subn(rf"^  {k}: \d+", f"  {k}: {v}", text, flags=re.M)
        assert n == 1, k
    (dst / "target.yaml").write_text(text)
    return dst / "target.yaml"


def force_gemm_tiles(monkeypatch: pytest.MonkeyPatch, **tiles: int) -> None:
    """Make the tensorizer take these GEMM tiles (the rest of its best plan kept): tiles
    the cost model may pick for other shapes, forced onto a small layer."""
    search = tensorize.search

    def forced(m: object, *args: object) -> Searched:
        found = search(m, *args)  # type: ignore[arg-type]
        if found.plan is None or "gemm" not in m.intrin.name:  # type: ignore[attr-defined]
            return found
        plan = Plan(tuple((dict(found.plan.tiles) | tiles).items()), found.plan.order, ())
        return Searched(plan, estimate(m, plan, args[1], args[2]),  # type: ignore[arg-type]
                        found.considered, "")

    monkeypatch.setattr(tensorize, "search", forced)
    tensorize._MEMO.clear()


@pytest.mark.parametrize("acc_rows", [512, 640, 2048])
def test_bias_fill_of_a_tile_partial_in_rows_and_lanes(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       acc_rows: int) -> None:
    """M = 300 rows in tiles of 64 and N = 100 (104 padded) channels in tiles of 16: the
    last tile's bias fill has one guard over rows and lanes. It moved bias rows for lane
    blocks past N, from beyond the rows reserved for the bias (SRAM_RANGE at the top of
    the accumulator, another constant's rows below it)."""
    target = target_variant(tmp_path / "npu", ACC_ROWS=acc_rows)
    model = quantize(dense_model(tmp_path / "d.onnx", 300, 40, 100), tmp_path / "d.int8.onnx")
    force_gemm_tiles(monkeypatch, m=64, n=16)
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(tmp_path / "cache"))
    try:
        assert_offloaded_and_close(str(model), "--target", str(target))
    finally:
        tensorize._MEMO.clear()
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
