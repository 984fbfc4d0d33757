"""`vendor-sdk quantize` with calibration samples from a directory, and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.runtime.examples import mlp


def _ops(path: Path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_quantize_with_a_calibration_directory(tmp_path: Path) -> None:
    model = mlp(tmp_path / "mlp.onnx")
    name = onnx.load(str(model)).graph.input[0].name
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        np.savez(calib / f"s{i}.npz", **{name: rng.random((1, 64), np.float32)})
    out = tmp_path / "mlp.int8.onnx"
    runner = CliRunner()
    result = runner.invoke(app, ["quantize", str(model), "-o", str(out), "--calib", str(calib)])
    assert result.exit_code == 0, result.output
    assert {"QuantizeLinear", "DequantizeLinear", "MatMul"} <= _ops(out)

    # The scales come from the samples: different calibration data, different model.
    other = tmp_path / "calib2"
    other.mkdir()
    np.savez(other / "s.npz", **{name: 50 * rng.random((1, 64), np.float32)})
    out2 = tmp_path / "mlp2.int8.onnx"
    assert runner.invoke(app, ["quantize", str(model), "-o", str(out2),
                               "--calib", str(other)]).exit_code == 0
    assert out.read_bytes() != out2.read_bytes()


def test_quantize_rejects_bad_calibration_data(tmp_path: Path) -> None:
    model = mlp(tmp_path / "mlp.onnx")
    empty = tmp_path / "empty"
    empty.mkdir()
    runner = CliRunner()
    result = runner.invoke(app, ["quantize", str(model), "-o", str(tmp_path / "q.onnx"),
                                 "--calib", str(empty)])
    assert result.exit_code == 2 and "no .npz or .npy calibration samples" in result.output
    bad = tmp_path / "bad"
    bad.mkdir()
    np.savez(bad / "s.npz", wrong=np.zeros((1, 64), np.float32))
    result = runner.invoke(app, ["quantize", str(model), "-o", str(tmp_path / "q.onnx"),
                                 "--calib", str(bad)])
    assert result.exit_code == 2 and "missing inputs" in result.output
    assert "Traceback" not in result.output
