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
from core.graph import Call, Module
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


def _graph_calls(module: Module) -> set[str]:
    """Ops left as graph calls (numpy reference) once the host lowering has run."""
    main = module[module.entry]
    return {b.value.op for blk in main.blocks for b in blk.bindings if isinstance(b.value, Call)}


@pytest.mark.parametrize(("op", "attrs"), [("HardSwish", {}), ("HardSigmoid", {}),
                                           ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
                                           ("HardSigmoid", {"alpha": 0.3, "beta": 0.4})])
def test_hard_swish_and_sigmoid_are_bit_exact_as_host_code(op: str, attrs: dict) -> None:
    x = (np.random.default_rng(0).standard_normal((2, 3, 17, 5)) * 4).astype(np.float32)
    x.reshape(-1)[:8] = [-3, 3, np.nextafter(-3, 0), np.nextafter(3, 4), 0, -0.0, 6, -6]
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    m = _graph([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 17, 5])],
               {}, 17)
    assert op not in _graph_calls(lower_module(from_onnx(m)))
    _agree(m, {"x": x})


def _cls_token_block(d: int = 8) -> onnx.ModelProto:
    """``torch.cat([cls.expand(x.shape[0], -1, -1), x], 1)`` and an attention product, as
    torch.onnx.export (TorchScript, opset 17) writes it: the expand's shape is computed from
    ``Shape(x)`` and its -1 entries are replaced by 1 through Equal/Where."""
    i64 = np.int64
    mk = helper.make_node
    nodes = [
        mk("Shape", ["x"], ["shape"]), mk("Gather", ["shape", "zero"], ["b"], axis=0),
        mk("Unsqueeze", ["b", "axes0"], ["b1"]),
        mk("Concat", ["b1", "minus1", "minus1"], ["size0"], axis=0),
        mk("Reshape", ["size0", "minus1"], ["size"]),
        mk("Shape", ["size"], ["size_shape"]),
        mk("ConstantOfShape", ["size_shape"], ["ones"],
           value=numpy_helper.from_array(np.ones(1, i64))),
        mk("Mul", ["ones", "neg"], ["neg_ones"]), mk("Equal", ["size", "neg_ones"], ["keep"]),
        mk("Where", ["keep", "ones", "size"], ["target"]),
        mk("Expand", ["cls", "target"], ["tokens"]),
        mk("Concat", ["tokens", "x"], ["seq"], axis=1),
        mk("LayerNormalization", ["seq", "gamma", "beta"], ["ln"], axis=-1),
        mk("Transpose", ["ln"], ["lnt"], perm=[0, 2, 1]),
        mk("MatMul", ["ln", "lnt"], ["scores"]), mk("Softmax", ["scores"], ["p"], axis=-1),
        mk("MatMul", ["p", "ln"], ["y"]),
    ]
    rng = np.random.default_rng(1)
    inits = {"zero": np.array(0, i64), "axes0": np.array([0], i64), "minus1": np.array([-1], i64),
             "neg": np.array(-1, i64), "cls": rng.standard_normal((1, 1, d)).astype(np.float32),
             "gamma": rng.standard_normal(d).astype(np.float32),
             "beta": rng.standard_normal(d).astype(np.float32)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, d])
    return _graph(nodes, [x], inits, 17)


def test_cls_token_expand_to_a_symbolic_batch(tmp_path: Path) -> None:
    m = _cls_token_block()
    path = tmp_path / "cls.onnx"
    onnx.save(m, path)
    for shape, out in (("x=B,5,8", "float32[B, 6, 8]"), ("x=3,5,8", "float32[3, 6, 8]")):
        result = CliRunner().invoke(app, ["import", str(path), "--shape", shape, "--print"],
                                    env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert f"%y: {out} = MatMul" in result.output
    main = from_onnx(m).main
    assert str(main.outputs[0].type) == "float32[batch, 6, 8]"
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 5, 8)).astype(np.float32)
        _agree(m, {"x": x}, atol=1e-5)
    # --shape names the batch for the CLI; a fixed one works as well.
    main = from_onnx(m, {"x": [2, 5, 8]}).main
    assert str(main.outputs[0].type) == "float32[2, 6, 8]"


def test_expand_shape_that_cannot_be_decided_names_the_node() -> None:
    # Equal of two unrelated symbols is unknown at import: the error says which input.
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Shape", ["z"], ["t"]),
             helper.make_node("Equal", ["s", "t"], ["eq"]),
             helper.make_node("Where", ["eq", "s", "t"], ["w"]),
             helper.make_node("Expand", ["x", "w"], ["y"], name="ex")]
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [d]) for n, d in
           (("x", "A"), ("z", "B"))]
    with pytest.raises(FrontendError, match=r"node 'ex'.*shape \(input 1\) must be a constant "
                                            r"or computed from shapes"):
        from_onnx(_graph(nodes, ins, {}, 17))


def _resize_model(mode: str, coord: str, nearest: str, scales: list[float] | None,
                  sizes: list[int] | None, opset: int = 19) -> onnx.ModelProto:
    inits: dict[str, np.ndarray] = {"roi": np.zeros(0, np.float32)}
    inits["scales"] = np.asarray(scales if scales is not None else [], np.float32)
    names = ["x", "roi", "scales"]
    axes = {}
    if sizes is not None:  # the spatial axes only (opset 18+): the batch stays symbolic
        inits["sizes"] = np.asarray(sizes, np.int64)
        names.append("sizes")
        axes = {"axes": [2, 3]}
    node = helper.make_node("Resize", names, ["y"], mode=mode, nearest_mode=nearest,
                            coordinate_transformation_mode=coord, **axes)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 5, 6])
    return _graph([node], [x], inits, opset)


RESIZES = [(mode, coord, nearest, scales, sizes)
           for mode, nearests in (("nearest", ("round_prefer_floor", "round_prefer_ceil", "floor",
                                               "ceil")), ("linear", ("floor",)))
           for nearest in nearests
           for coord in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                         "tf_half_pixel_for_nn", "half_pixel_symmetric")
           for scales, sizes in (([1, 1, 2, 2], None), ([1, 1, 0.6, 1.5], None),
                                 (None, [10, 7]), (None, [1, 4]))]


@pytest.mark.parametrize(("mode", "coord", "nearest", "scales", "sizes"), RESIZES)
def test_resize_host_code_matches_onnxruntime(mode: str, coord: str, nearest: str,
                                              scales: list[float] | None,
                                              sizes: list[int] | None) -> None:
    m = _resize_model(mode, coord, nearest, scales, sizes)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(np.float32)
    module = from_onnx(m)
    lowered = lower_module(module)
    assert "Resize" not in _graph_calls(lowered)
    (ref,) = run(module, [x])
    for host in ("llvm", "interp"):  # the tensor program is bit-identical to the reference
        np.testing.assert_array_equal(run(lowered, [x], host=host)[0], ref)
    # onnxruntime picks the same elements; linear weights its neighbours in one sum.
    _agree(m, {"x": x}, atol=0.0 if mode == "nearest" else 1e-6)


def test_resize_forms_of_older_opsets() -> None:
    """torch's opset-11 export (a constant roi, an empty scales constant and sizes computed
    from the input's shape) and Resize-10 (asymmetric, nearest taking the floor)."""
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(np.float32)
    i64 = np.int64
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "zero", "two"], ["nc"]),
             helper.make_node("Cast", ["hw"], ["hw64"], to=TensorProto.INT64),
             helper.make_node("Concat", ["nc", "hw64"], ["size"], axis=0),
             helper.make_node("Resize", ["x", "roi", "empty", "size"], ["y"], mode="linear",
                              coordinate_transformation_mode="half_pixel")]
    inits = {"zero": np.array([0], i64), "two": np.array([2], i64),
             "hw": np.array([7, 9], np.int32), "roi": np.zeros(0, np.float32),
             "empty": np.zeros(0, np.float32)}
    vi = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 5])
    m = _graph(nodes, [vi], inits, 11)
    assert str(from_onnx(m).main.outputs[0].type) == "float32[N, 3, 7, 9]"
    _agree(m, {"x": x}, atol=1e-6)
    for mode in ("nearest", "linear"):
        node = helper.make_node("Resize", ["x", "scales"], ["y"], mode=mode)
        m = _graph([node], [vi], {"scales": np.array([1, 1, 2, 1.5], np.float32)}, 10)
        _agree(m, {"x": x}, atol=1e-6)
        # Upsample: scales an attribute (opset 7-8), then an input (9).
        node = helper.make_node("Upsample", ["x"], ["y"], mode=mode, scales=[1.0, 1.0, 2.0, 3.0])
        _agree(_graph([node], [vi], {}, 8), {"x": x}, atol=1e-6)
        node = helper.make_node("Upsample", ["x", "scales"], ["y"], mode=mode)
        _agree(_graph([node], [vi], {"scales": np.array([1, 1, 3, 2], np.float32)}, 9),
               {"x": x}, atol=1e-6)
    node = helper.make_node("Resize", ["x", "scales"], ["y"], name="r10")  # shrink: ceil
    _agree(_graph([node], [vi], {"scales": np.array([1, 1, 0.5, 0.6], np.float32)}, 10),
           {"x": x})
    mixed = _graph([node], [vi], {"scales": np.array([1, 1, 0.5, 2], np.float32)}, 10)
    with pytest.raises(FrontendError, match=r"node 'r10'.*both below and above 1"):
        from_onnx(mixed)


def test_resize_modes_it_does_not_support_are_named() -> None:
    vi = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
    scales = {"scales": np.array([1, 1, 2, 2], np.float32), "roi": np.zeros(0, np.float32)}
    for attrs, why in (({"mode": "cubic"}, "mode 'cubic' is not supported"),
                       ({"mode": "linear", "antialias": 1}, "antialias=1 is not supported"),
                       ({"coordinate_transformation_mode": "tf_crop_and_resize"},
                        "'tf_crop_and_resize' is not supported")):
        node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], name="up", **attrs)
        with pytest.raises(FrontendError, match=rf"node 'up' \(Resize.*{why}"):
            from_onnx(_graph([node], [vi], scales, 19))
