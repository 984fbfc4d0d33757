"""The typed reads the type checker relies on: an attribute of the wrong kind, a symbolic
extent where a concrete one is needed, a tuple where a tensor is needed — each a named
error, and through the CLI a located message with exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from core import symbolic as sym
from core.graph import AttrError, Attrs, Constant, Var
from core.types import TensorType, TupleType
from vendor_sdk.cli import app


def _save(tmp_path: Path, node: onnx.NodeProto) -> Path:
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                      [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize(("node", "message"), [
    (helper.make_node("Transpose", ["x"], ["y"], name="t", perm=1),
     "node 't' (Transpose, domain 'ai.onnx', opset 17): attribute 'perm' must be a list of "
     "integers, got 1"),
    (helper.make_node("Softmax", ["x"], ["y"], name="s", axis=[1, 2]),
     "node 's' (Softmax, domain 'ai.onnx', opset 17): attribute 'axis' must be a number, "
     "got (1, 2)"),
])
def test_wrong_attribute_kind_is_a_located_error_exit_2(tmp_path: Path, node: onnx.NodeProto,
                                                        message: str) -> None:
    res = CliRunner().invoke(app, ["import", str(_save(tmp_path, node))])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output and res.exception is not None
    assert isinstance(res.exception, SystemExit)


def test_attrs_reads_narrow_and_default() -> None:
    a = Attrs.of({"axis": -1, "alpha": 0.5, "perm": [2, 0, 1], "mode": "edge"})
    assert a.get_int("axis") == -1 and a.get_float("alpha") == 0.5
    assert a.get_float("axis") == -1.0 and isinstance(a.get_float("axis"), float)
    assert a.get_ints("perm") == (2, 0, 1) and a.get_str("mode") == "edge"
    assert a.get_floats("perm") == (2.0, 0.0, 1.0)
    assert a.get_int("missing", 7) == 7 and a.get_ints("missing", ()) == ()
    with pytest.raises(KeyError):
        a.get_int("missing")
    with pytest.raises(AttrError, match="attribute 'perm' must be a number"):
        a.get_int("perm")
    with pytest.raises(AttrError, match="attribute 'axis' must be a list of integers"):
        a.get_ints("axis")


def test_static_extent_and_tensor_type() -> None:
    n = sym.var("N")
    assert sym.static(3) == 3 and sym.static(np.int64(4)) == 4
    with pytest.raises(TypeError, match=r"^expected a concrete extent, got 2\*N$"):
        sym.static(sym.mul(n, 2))
    t = TensorType("int8", (n, 4))
    assert Var("x", t).tensor_type is t
    assert Constant(np.zeros((2,), np.int8)).tensor_type == TensorType("int8", (2,), None)
    with pytest.raises(TypeError, match="%pair is the tuple"):
        _ = Var("pair", TupleType((t, t))).tensor_type
