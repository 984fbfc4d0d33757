"""replace_regions on a small graph whose region computes the identity (x * w / w with w a
power of two), so the rewritten graph must compute what the original does: rewiring,
order, the shared constant chain kept for the host, the region's own weights dropped."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from vendor_sdk.export import ExportError
from vendor_sdk.export.graph import Ports, region_nodes, replace_regions


def _model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], name="w_dq"),   # shared
        helper.make_node("DequantizeLinear", ["vq", "ws"], ["v"], name="v_dq"),   # region's only
        helper.make_node("Relu", ["x"], ["a"], name="pre"),
        helper.make_node("Mul", ["a", "w"], ["b"], name="r_mul"),
        helper.make_node("Mul", ["b", "v"], ["b2"], name="r_mul2"),
        helper.make_node("Div", ["b2", "v"], ["b3"], name="r_div2"),
        helper.make_node("Div", ["b3", "w"], ["c"], name="r_div"),
        helper.make_node("Add", ["c", "w"], ["y"], name="post"),  # the host reads w too
    ]
    inits = {"wq": np.full(4, 4, np.int8), "vq": np.full(4, 2, np.int8),
             "ws": np.array(0.5, np.float32)}
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _run(m: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = onnxruntime.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {"x": x})[0])


def test_region_replaced_by_an_equivalent_node_computes_the_same() -> None:
    src = _model()
    ports = Ports("r0", ("a",), ("c",))
    assert sorted(src.graph.node[i].name for i in region_nodes(src.graph, ports)) == \
        ["r_div", "r_div2", "r_mul", "r_mul2", "v_dq", "w_dq"]
    out = replace_regions(src, [ports], lambda p: helper.make_node(
        "Identity", list(p.inputs), list(p.outputs), name=p.name))
    onnx.checker.check_model(out, full_check=True)
    assert [n.name for n in out.graph.node] == ["w_dq", "pre", "r0", "post"]
    assert sorted(t.name for t in out.graph.initializer) == ["wq", "ws"]  # vq went with r0
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(_run(out, x), _run(src, x))


def test_a_region_that_reads_a_graph_input_it_was_not_given() -> None:
    with pytest.raises(ExportError, match="its nodes read graph input 'x'"):
        region_nodes(_model().graph, Ports("r0", ("w",), ("c",)))
