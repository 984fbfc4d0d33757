"""uint8 activations (onnxruntime's QUInt8) are shifted to int8 at import: exact, and offloaded
like the int8 model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import helper
from typer.testing import CliRunner

from core.executor import run
from core.graph import Call, Constant
from vendor_sdk.cli import app
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.frontend.uint8 import shift_uint8
from vendor_sdk.runtime.examples import cnn


def _cli(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def _offloaded(output: str) -> tuple[int, int]:
    m = re.search(r"offloaded: (\d+)/(\d+)", output)
    assert m, output
    return int(m[1]), int(m[2])


def _uint8_qdq(m: object) -> int:
    return sum(1 for b in m.main.bindings  # type: ignore[attr-defined]
               if isinstance(b.value, Call) and b.value.op in ("QuantizeLinear",
                                                               "DequantizeLinear")
               and any(isinstance(a, Constant) and a.value.dtype == np.uint8
                       for a in b.value.args))


def test_uint8_cnn_offloads_like_int8_and_agrees_with_onnxruntime(tmp_path: Path) -> None:
    model = cnn(tmp_path / "cnn.onnx")
    runs = {}
    for act in ("int8", "uint8"):
        q = tmp_path / f"cnn.{act}.onnx"
        _cli("quantize", model, "-o", q, "--random", "4", "--activation-type", act)
        # run exits non-zero when an output is off by more than 1 LSB or a layer diverges
        # from its integer reference
        runs[act] = _cli("run", q, "--batch", "2")
    off = _offloaded(runs["int8"])
    assert off[0] >= 5 and _offloaded(runs["uint8"]) == off


def test_shift_is_exact_on_the_reference_executor(tmp_path: Path) -> None:
    q = tmp_path / "cnn.uint8.onnx"
    _cli("quantize", cnn(tmp_path / "cnn.onnx"), "-o", q, "--random", "4",
         "--activation-type", "uint8")
    before = from_onnx(q)
    after = shift_uint8(before)
    assert _uint8_qdq(before) >= 8 and _uint8_qdq(after) == 0
    x = np.random.default_rng(1).random((2, 3, 16, 16), np.float32) * 1.5 - 0.25  # clamps too
    np.testing.assert_array_equal(run(before, {"x": x})[0], run(after, {"x": x})[0])


def test_uint8_model_input_is_converted_at_the_boundary(tmp_path: Path) -> None:
    """The user feeds uint8 data: the input keeps its dtype, the NPU still gets int8."""
    q = tmp_path / "cnn.uint8.onnx"
    _cli("quantize", cnn(tmp_path / "cnn.onnx"), "-o", q, "--random", "4",
         "--activation-type", "uint8")
    m = onnx.load(str(q))
    first = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    m.graph.node.remove(first)
    shape = [d.dim_value or d.dim_param for d in m.graph.input[0].type.tensor_type.shape.dim]
    del m.graph.input[:]
    m.graph.input.append(helper.make_tensor_value_info(first.output[0], onnx.TensorProto.UINT8,
                                                       shape))
    raw = tmp_path / "cnn.u8in.onnx"
    onnx.save(m, str(raw))

    module = shift_uint8(from_onnx(raw))
    assert module.main.params[0].type.dtype == "uint8" and _uint8_qdq(module) == 1  # boundary
    inputs = tmp_path / "in.npz"
    data = np.arange(2 * 3 * 16 * 16).reshape(2, 3, 16, 16) % 256  # every uint8 value
    np.savez(inputs, **{first.output[0]: data.astype(np.uint8)})
    out = _cli("run", raw, "--batch", "2", "--inputs", inputs)
    off, _ = _offloaded(out)
    assert off >= 5, out
