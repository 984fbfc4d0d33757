"""Graphs as exporters and quantizers write them import, and run like onnxruntime runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from core.executor import run
from core.lower import lower_module
from vendor_sdk.cli import app
from vendor_sdk.frontend.onnx import FrontendError, from_onnx


def _graph(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
           inits: dict[str, np.ndarray], opset: int,
           out: int = TensorProto.FLOAT) -> onnx.ModelProto:
    g = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", out, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _agree(m: onnx.ModelProto, feeds: dict[str, np.ndarray], atol: float = 0.0,
           shapes: dict | None = None) -> None:
    """The reference executor and the lowered host code both give onnxruntime's result."""
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, feeds)
    module = from_onnx(m, shapes)
    for mod in (module, lower_module(module)):
        (got,) = run(mod, feeds)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=atol, rtol=0)


def _dq(zp_shape: tuple[int, ...], scale_shape: tuple[int, ...], opset: int = 17,
        **attrs: int) -> onnx.ModelProto:
    node = helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], name="dq", **attrs)
    x = helper.make_tensor_value_info("x", TensorProto.INT32, [2, 3])
    return _graph([node], [x], {"s": np.full(scale_shape, 0.5, np.float32),
                                "z": np.full(zp_shape, 3, np.int32)}, opset)


def test_dequantize_scalar_zero_point_with_one_element_scale() -> None:
    # What onnxruntime's quantizer writes for every LayerNormalization bias.
    feeds = {"x": np.arange(6, dtype=np.int32).reshape(2, 3) * 7 - 20}
    _agree(_dq((), (1,)), feeds)
    _agree(_dq((1,), ()), feeds)


def test_dequantize_zero_point_of_another_size_is_rejected_with_its_node() -> None:
    with pytest.raises(FrontendError, match=r"node 'dq'.*per-tensor scale .* needs a scalar or "
                                            r"one-element zero point"):
        from_onnx(_dq((2,), (1,)))
    with pytest.raises(FrontendError, match=r"node 'dq'.*zero point .* differ in shape"):
        from_onnx(_dq((1,), (3,), axis=1))


def test_dequantize_axis_before_opset_13_is_an_import_error(tmp_path: Path) -> None:
    path = tmp_path / "dq.onnx"
    onnx.save(_dq((3,), (3,), opset=11, axis=1), path)
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 2, result.output
    assert "node 'dq'" in result.output and "['axis'] do not exist in DequantizeLinear-10" \
        in result.output
    assert "Traceback" not in result.output
    # Without the attribute, a per-axis scale is just as foreign to DequantizeLinear-10.
    with pytest.raises(FrontendError, match=r"per-tensor scale only"):
        from_onnx(_dq((3,), (3,), opset=11))
    from_onnx(_dq((), (), opset=11))  # and the per-tensor form imports
