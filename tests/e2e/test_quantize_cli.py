"""`vendor-sdk quantize`: calibration directories, the quantizer options, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.runtime.examples import cnn, mlp


def _ops(path: Path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def _quantize(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["quantize", *map(str, args)])
    return result.exit_code, result.output


def test_quantize_with_a_calibration_directory(tmp_path: Path) -> None:
    model = mlp(tmp_path / "mlp.onnx")
    name = onnx.load(str(model)).graph.input[0].name
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        np.savez(calib / f"s{i}.npz", **{name: rng.random((1, 64), np.float32)})
    out = tmp_path / "mlp.int8.onnx"
    code, output = _quantize(model, "-o", out, "--calib", calib)
    assert code == 0, output
    assert {"QuantizeLinear", "DequantizeLinear", "MatMul"} <= _ops(out)

    # The scales come from the samples: different calibration data, different model.
    other = tmp_path / "calib2"
    other.mkdir()
    np.savez(other / "s.npz", **{name: 50 * rng.random((1, 64), np.float32)})
    out2 = tmp_path / "mlp2.int8.onnx"
    assert _quantize(model, "-o", out2, "--calib", other)[0] == 0
    assert out.read_bytes() != out2.read_bytes()


def test_quantize_rejects_bad_calibration_data(tmp_path: Path) -> None:
    model = mlp(tmp_path / "mlp.onnx")
    out = tmp_path / "q.onnx"
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = _quantize(model, "-o", out, "--calib", empty)
    assert code == 2 and "no .npz or .npy calibration samples" in output
    bad = tmp_path / "bad"
    bad.mkdir()
    np.savez(bad / "s.npz", wrong=np.zeros((1, 64), np.float32))
    code, output = _quantize(model, "-o", out, "--calib", bad)
    assert code == 2 and "missing inputs" in output
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    np.savez(corrupt / "s.npz", x=np.zeros((1, 64), np.float32))
    (corrupt / "s.npz").write_bytes((corrupt / "s.npz").read_bytes()[:100])
    code, output = _quantize(model, "-o", out, "--calib", corrupt)
    assert code == 2 and "unreadable calibration sample" in output, output
    shape = tmp_path / "shape"
    shape.mkdir()
    np.save(shape / "s.npy", np.zeros((1, 63), np.float32))
    code, output = _quantize(model, "-o", out, "--calib", shape)
    assert code == 2 and "has shape [1, 63]" in output, output
    code, output = _quantize(model, "-o", out, "--calib", model)  # a file, not a directory
    assert code == 2 and "not a directory" in output, output
    assert not out.exists()


def _int_input_model(path: Path) -> Path:
    emb = numpy_helper.from_array(np.ones((10, 4), np.float32), "emb")
    g = helper.make_graph([helper.make_node("Gather", ["emb", "ids"], ["y"])], "g",
                          [helper.make_tensor_value_info("ids", TensorProto.INT64, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])], [emb])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_quantize_rejects_bad_models_and_arguments(tmp_path: Path) -> None:
    model = mlp(tmp_path / "mlp.onnx")
    out = tmp_path / "q.onnx"
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(model.read_bytes()[:500])
    cases = [
        ((truncated, "-o", out), "not a readable ONNX model"),
        ((tmp_path, "-o", out), "is a directory"),
        ((tmp_path / "missing.onnx", "-o", out), "no such file"),
        ((model, "-o", out, "--random", "0"), "at least 1 calibration sample"),
        ((model, "-o", tmp_path), "-o " + str(tmp_path) + ": is a directory"),
        ((_int_input_model(tmp_path / "ids.onnx"), "-o", out), "input 'ids' is int64"),
        ((model, "-o", out, "--activation-type", "int4"), "activation type 'int4'"),
    ]
    for args, message in cases:
        code, output = _quantize(*args)
        assert code == 2 and message in output.replace("\n", ""), (args, output)
        assert "Traceback" not in output
    assert not out.exists()
    q = tmp_path / "mlp.int8.onnx"
    assert _quantize(model, "-o", q, "--random", "1")[0] == 0
    code, output = _quantize(q, "-o", out)
    assert code == 2 and "already quantized" in output


def _initializers(path: Path) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def _zero_points(path: Path, op: str) -> list[np.ndarray]:
    """Zero points of the ``op`` nodes on activations (not on the weight initializers)."""
    m = onnx.load(str(path))
    inits = _initializers(path)
    return [inits[n.input[2]] for n in m.graph.node
            if n.op_type == op and n.input[0] not in inits]


@pytest.mark.parametrize("flag", ["--per-tensor", "--symmetric-activations", "uint8"])
def test_quantize_options_change_the_model_as_documented(tmp_path: Path, flag: str) -> None:
    model = cnn(tmp_path / "cnn.onnx")
    base, other = tmp_path / "base.onnx", tmp_path / "other.onnx"
    args = ["--activation-type", "uint8"] if flag == "uint8" else [flag]
    assert _quantize(model, "-o", base, "--random", "2")[0] == 0
    code, output = _quantize(model, "-o", other, "--random", "2", *args)
    assert code == 0, output
    if flag == "--per-tensor":  # conv weights: one scale per output channel, or one in all
        assert _initializers(base)["c1_w_scale"].shape == (32,)
        assert _initializers(other)["c1_w_scale"].size == 1
    elif flag == "--symmetric-activations":  # the calibrated ranges are not symmetric
        assert any(int(z) != 0 for z in _zero_points(base, "QuantizeLinear"))
        assert all(int(z) == 0 for z in _zero_points(other, "QuantizeLinear"))
    else:
        assert {z.dtype for z in _zero_points(base, "QuantizeLinear")} == {np.dtype(np.int8)}
        assert {z.dtype for z in _zero_points(other, "QuantizeLinear")} == {np.dtype(np.uint8)}
