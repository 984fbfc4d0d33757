"""A fuzz case through the CLI, as a user runs it: the spec's float model is quantized by
onnxruntime (the case's option set), then `vendor-sdk run --backend fsim` on fixed inputs.

`run` prints, per output, max |ours - onnxruntime| in LSB and the share of identical
elements; ``agreement`` reads them back so a test applies the fuzzer's rule (no element
more than 2 LSB off, at most 1% of the elements 1 LSB off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from harness import MAX_1LSB_SHARE, MAX_LSB, RUN_BATCH, quantize
from modelgen import Spec, feeds
from typer.testing import CliRunner

from vendor_sdk.cli import app

LINE = re.compile(r"max \|ours - onnxruntime\| = (\S+) \(1 LSB = (\S+)\), (\S+)% within 1 LSB, "
                  r"(\S+)% identical")


@dataclass(frozen=True)
class CliAgreement:
    max_lsb: float      # worst element, in LSB of the output scale
    off_share: float    # fraction of elements not identical
    output: str

    @property
    def ok(self) -> bool:
        return self.max_lsb <= MAX_LSB + 1e-3 and self.off_share <= MAX_1LSB_SHARE


def run_cli(spec: Spec, options: str, tmp: Path) -> CliAgreement:
    q = quantize(spec, options, tmp / "model.int8.onnx")
    batch = spec.batch if isinstance(spec.batch, int) else RUN_BATCH
    np.savez(tmp / "inputs.npz", **feeds(spec, batch, 7))
    r = CliRunner().invoke(app, ["run", str(q), "--target", "reference_npu", "--backend",
                                 "fsim", "--batch", str(batch), "--inputs",
                                 str(tmp / "inputs.npz")])
    assert r.exit_code == 0, r.output
    found = LINE.findall(r.output)
    assert found, f"no agreement line in the output of `vendor-sdk run`:\n{r.output}"
    worst = max(float(m) / float(lsb) for m, lsb, _w, _i in found)
    off = max(1 - float(i) / 100 for _m, _l, _w, i in found)
    return CliAgreement(worst, off, r.output)
