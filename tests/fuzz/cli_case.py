"""A fuzz case through the CLI, as a user runs it: the spec's float model saved,
`vendor-sdk quantize` with the case's option flags, `vendor-sdk run --backend fsim
--check layers` on fixed inputs (exit 1 on a divergence, naming the first diverging layer).

`run` checks against onnxruntime with its own tolerances; ``CliRun.max_lsb`` and
``off_share`` read the printed agreement back so a test can also apply the fuzzer's
stricter rule (no element more than 2 LSB off, at most 1% of the elements off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from harness import CALIB_SAMPLES, CLI_FLAGS, MAX_1LSB_SHARE, MAX_LSB, RUN_BATCH
from modelgen import Spec, build, feeds
from typer.testing import CliRunner

from vendor_sdk.cli import app

LINE = re.compile(r"max (\S+) LSB, (\S+)% of elements off")


@dataclass(frozen=True)
class CliRun:
    exit_code: int
    output: str

    @property
    def max_lsb(self) -> float:
        return max((float(m[0]) for m in LINE.findall(self.output)), default=float("inf"))

    @property
    def off_share(self) -> float:
        return max((float(m[1]) / 100 for m in LINE.findall(self.output)), default=1.0)

    @property
    def ok(self) -> bool:
        """`run --check layers` passed and the outputs meet the fuzzer's rule."""
        return self.exit_code == 0 and self.max_lsb <= MAX_LSB and \
            self.off_share <= MAX_1LSB_SHARE


def run_cli(spec: Spec, options: str, tmp: Path) -> CliRun:
    runner = CliRunner()
    fp, q = tmp / "model.onnx", tmp / "model.int8.onnx"
    onnx.save(build(spec), str(fp))
    r = runner.invoke(app, ["quantize", str(fp), "-o", str(q), "--random", str(CALIB_SAMPLES),
                            "--seed", "1000", *CLI_FLAGS[options]])
    assert r.exit_code == 0, r.output
    batch = spec.batch if isinstance(spec.batch, int) else RUN_BATCH
    np.savez(tmp / "inputs.npz", **feeds(spec, batch, 7))
    r = runner.invoke(app, ["run", str(q), "--target", "reference_npu", "--backend", "fsim",
                            "--batch", str(batch), "--inputs", str(tmp / "inputs.npz"),
                            "--check", "layers", "--replay-dir", str(tmp / "replay")])
    assert r.exit_code in (0, 1), r.output  # 2 (bad input) or a traceback is a bug here
    return CliRun(r.exit_code, r.output)
