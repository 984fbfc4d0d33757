"""Whole models: the nine "light" CNNs shipped with onnx, and an int8 QDQ CNN.

The light models (opset 9) produce every weight with ConstantOfShape(0.02), so
their shipped outputs are nearly uniform and say little about numerics. Each
model is therefore run twice: as shipped, against the expected output and
onnxruntime, and with seeded random weights in place of the ConstantOfShape
nodes, against onnxruntime on the output and the pre-softmax logits.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from core import symbolic as sym
from core.executor import run
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.zoo import with_seeded_weights

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = ["light_resnet50", "light_squeezenet", "light_inception_v1", "light_inception_v2",
          "light_densenet121", "light_shufflenet", "light_vgg19", "light_bvlc_alexnet",
          "light_zfnet512"]


def _data_input(model: onnx.ModelProto) -> onnx.ValueInfoProto:
    inits = {i.name for i in model.graph.initializer}
    (data,) = [i for i in model.graph.input if i.name not in inits]
    return data


def _loader_input(model: onnx.ModelProto) -> np.ndarray:
    """What onnx's backend test runner feeds light models (generate_dummy_data, random=False)."""
    dims = _data_input(model).type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", MODELS)
def test_light_model_matches_expected_output(name: str) -> None:
    model = onnx.load(str(LIGHT / f"{name}.onnx"))
    expected = numpy_helper.to_array(onnx.load_tensor(str(LIGHT / f"{name}_output_0.pb")))
    x = _loader_input(model)
    start = time.perf_counter()
    (got,) = run(from_onnx(model), [x])
    elapsed = time.perf_counter() - start
    (ref,) = _session(model).run(None, {_data_input(model).name: x})
    print(f"{name}: max |ours - expected| = {np.abs(got - expected).max():.3g}, "
          f"|ours - onnxruntime| = {np.abs(got - ref).max():.3g}, import+run {elapsed:.2f} s")
    # The tolerances onnx's own backend test applies to these models.
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-7)


def _with_random_weights(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """Seeded weights (vendor_sdk.zoo.with_seeded_weights); the input of a final
    Softmax becomes an extra graph output, so logits are compared unsquashed."""
    out = with_seeded_weights(model, seed)
    nodes = out.graph.node
    if nodes[-1].op_type == "Softmax":
        out.graph.output.append(helper.make_empty_tensor_value_info(nodes[-1].input[0]))
    return out


@pytest.mark.parametrize("name", MODELS)
def test_light_model_with_random_weights_matches_onnxruntime(name: str) -> None:
    model = _with_random_weights(onnx.load(str(LIGHT / f"{name}.onnx")), seed=0)
    x = np.random.default_rng(1).random((1, 3, 224, 224), np.float32)
    got = run(from_onnx(model), [x])
    ref = _session(model).run(None, {_data_input(model).name: x})
    for g, r in zip(got, ref, strict=True):
        err = np.abs(g - r).max() / np.abs(r).max()
        print(f"{name}: output {r.shape}: max relative error {err:.3g}")
        # float32 accumulation in a different order: relative to the output's magnitude.
        assert err < 1e-4
    assert got[0].argmax() == ref[0].argmax()


def test_symbolic_input_dims_flow_through_a_real_model() -> None:
    model = onnx.load(str(LIGHT / "light_squeezenet.onnx"))
    module = from_onnx(model, shapes={_data_input(model).name: ("N", 3, "H", "W")})
    out = module.main.outputs[0].type
    assert isinstance(out.shape[0], sym.Sym) and out.shape[1:] == (1000, 1, 1)
    # A smaller image and batch 2 still run: every dim is checked by the executor.
    x = np.random.default_rng(2).random((2, 3, 96, 80), np.float32)
    (y,) = run(module, [x])
    assert y.shape == (2, 1000, 1, 1)


# --- int8 QDQ CNN ------------------------------------------------------------------------


def _small_cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(3)
    inits = {
        "w1": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((8 * 8 * 8, 10)) * 0.05).astype(np.float32),
        "b2": (rng.standard_normal(10) * 0.1).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f1"]),
        helper.make_node("Gemm", ["f1", "w2", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_int8_qdq_cnn_matches_onnxruntime(tmp_path: Path) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(4)
            self.batches = iter([{"x": rng.random((1, 3, 16, 16), np.float32)}
                                 for _ in range(8)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    float_path, q_path = tmp_path / "cnn.onnx", tmp_path / "cnn_qdq.onnx"
    onnx.save(_small_cnn(), str(float_path))
    quantize_static(str(float_path), str(q_path), Calibration(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    model = onnx.load(str(q_path))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    module = from_onnx(model)
    assert isinstance(module.main.outputs[0].type.shape[0], sym.Sym)
    # The output step: scale of the DequantizeLinear producing the graph output.
    final_dq = next(n for n in model.graph.node if n.output[0] == model.graph.output[0].name)
    assert final_dq.op_type == "DequantizeLinear"
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    step = float(inits[final_dq.input[1]])
    # The QDQ graph as written (DequantizeLinear -> float Conv -> QuantizeLinear): with its
    # default optimizations onnxruntime fuses them into integer kernels whose result depends
    # on the CPU (on AVX2 without VNNI its u8s8 products pair-saturate at int16: 10 steps
    # off on this model), which is no reference for the graph's semantics.
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    equal = total = 0
    for n in (1, 31):
        x = rng.random((n, 3, 16, 16), np.float32)
        (got,) = run(module, [x])
        (ref,) = session.run(None, {"x": x})
        # float accumulation orders differ, so single elements may land one step apart
        assert np.abs(got - ref).max() <= step * 1.0001
        equal += int(np.sum(got == ref))
        total += got.size
    print(f"QDQ CNN: {100 * equal / total:.1f}% of {total} outputs bit-equal to onnxruntime, "
          f"the rest within one step ({step:.3g})")
    assert equal / total > 0.9

