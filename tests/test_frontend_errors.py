"""Unsupported input gets a clear message naming node, op, domain and opset — never a traceback."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.frontend.onnx import FrontendError, from_onnx


def _model(nodes: list[onnx.NodeProto], opset: int = 17, domain: str = "",
           elem: int = TensorProto.FLOAT, shape: list | None = None) -> onnx.ModelProto:
    shape = ["N", 4] if shape is None else shape
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, shape)],
                          [helper.make_tensor_value_info("y", elem, None)])
    opsets = [helper.make_opsetid("", opset)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    return helper.make_model(g, opset_imports=opsets)


def test_unsupported_op_names_node_op_domain_opset_and_lists_supported() -> None:
    m = _model([helper.make_node("Hardmax", ["x"], ["y"], name="hm")])
    with pytest.raises(FrontendError) as info:
        from_onnx(m)
    msg = str(info.value)
    assert "node 'hm' (Hardmax, domain 'ai.onnx', opset 17)" in msg
    assert "not supported" in msg and "Supported ops:" in msg and "Relu" in msg


def test_foreign_domain_is_rejected_with_the_domain() -> None:
    m = _model([helper.make_node("Gelu", ["x"], ["y"], name="g1", domain="com.microsoft")],
               domain="com.microsoft")
    with pytest.raises(FrontendError, match=r"domain 'com\.microsoft' is not supported"):
        from_onnx(m)


def test_unsupported_attribute_and_dtype_and_opset() -> None:
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="r", bogus=3)])
    with pytest.raises(FrontendError, match=r"node 'r'.*unsupported attribute\(s\) \['bogus'\]"):
        from_onnx(m)
    m = _model([helper.make_node("Relu", ["x"], ["y"])], elem=TensorProto.STRING)
    with pytest.raises(FrontendError, match="graph input 'x': element type STRING"):
        from_onnx(m)
    m = _model([helper.make_node("Relu", ["x"], ["y"])], opset=5)
    with pytest.raises(FrontendError, match="opset 5 is not supported"):
        from_onnx(m)


def test_subgraphs_are_rejected() -> None:
    branch = helper.make_graph([], "b", [], [helper.make_tensor_value_info("x", 1, None)])
    node = helper.make_node("If", ["x"], ["y"], name="if0", then_branch=branch,
                            else_branch=branch)
    with pytest.raises(FrontendError, match=r"node 'if0'.*control flow"):
        from_onnx(_model([node]))


def test_dim_param_becomes_symbol_and_shapes_override() -> None:
    m = _model([helper.make_node("Relu", ["x"], ["y"])], shape=["batch size", None])
    f = from_onnx(m).main
    assert str(f.params[0].type) == "float32[batch_size, x_d1]"
    f = from_onnx(m, shapes={"x": ["B", 4]}).main
    assert str(f.params[0].type) == "float32[B, 4]"
    with pytest.raises(FrontendError, match="inputs the model does not have"):
        from_onnx(m, shapes={"nope": [1]})


def test_cli_import_prints_summary_or_error(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "good.onnx"
    onnx.save(_model([helper.make_node("Relu", ["x"], ["y"])]), good)
    result = runner.invoke(app, ["import", str(good), "--print"])
    assert result.exit_code == 0, result.output
    assert "Relu" in result.output and "float32[N, 4]" in result.output
    bad = tmp_path / "bad.onnx"
    onnx.save(_model([helper.make_node("Hardmax", ["x"], ["y"], name="hm")]), bad)
    result = runner.invoke(app, ["import", str(bad)])
    assert result.exit_code == 2
    assert "error:" in result.output and "Hardmax" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["import", str(tmp_path / "missing.onnx")])
    assert result.exit_code == 2 and "no such file" in result.output
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a model")
    result = runner.invoke(app, ["import", str(garbage)])
    assert result.exit_code == 2 and "not a readable ONNX model" in result.output


def test_cli_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("vendor-sdk ")
