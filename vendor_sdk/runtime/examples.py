"""Small float models built in the repo (ONNX, seeded weights) for tests and the demo."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(nodes: list, inputs: list, outputs: list, inits: dict[str, np.ndarray],
          path: Path, name: str) -> Path:
    g = helper.make_graph(nodes, name, inputs, outputs,
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return path


def mlp(path: Path, sizes: tuple[int, ...] = (64, 48, 32, 10), seed: int = 0) -> Path:
    """MatMul + Add (+ Relu between layers), symbolic batch N."""
    rng = np.random.default_rng(seed)
    nodes, inits, cur = [], {}, "x"
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        inits[f"w{i}"] = ((rng.random((a, b), np.float32) - 0.5) * (2.0 / np.sqrt(a))
                          ).astype(np.float32)
        inits[f"b{i}"] = (rng.random(b, np.float32) - 0.5).astype(np.float32) * 0.2
        nodes += [helper.make_node("MatMul", [cur, f"w{i}"], [f"mm{i}"], name=f"fc{i}"),
                  helper.make_node("Add", [f"mm{i}", f"b{i}"], [f"fc{i}_out"], name=f"fc{i}_bias")]
        cur = f"fc{i}_out"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"relu{i}"], name=f"relu{i}"))
            cur = f"relu{i}"
    nodes[-1].output[0] = "y"
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", sizes[0]])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", sizes[-1]])],
                 inits, path, "mlp")


def cnn(path: Path, seed: int = 0) -> Path:
    """Conv3x3(3->16)+Relu, Conv3x3/2(16->32)+Relu, Conv1x1(32->24)+Relu, MaxPool, GAP, MatMul."""
    rng = np.random.default_rng(seed)
    inits: dict[str, np.ndarray] = {}
    nodes = []
    cur, cin = "x", 3
    for i, (co, k, s) in enumerate([(16, 3, 1), (32, 3, 2), (24, 1, 1)]):
        fan = cin * k * k
        inits[f"c{i}_w"] = ((rng.random((co, cin, k, k), np.float32) - 0.5) *
                            (2 * np.sqrt(3.0 / fan))).astype(np.float32)
        inits[f"c{i}_b"] = (rng.random(co, np.float32) * 0.2).astype(np.float32)
        nodes += [helper.make_node("Conv", [cur, f"c{i}_w", f"c{i}_b"], [f"conv{i}"],
                                   name=f"conv{i}", kernel_shape=[k, k], strides=[s, s],
                                   pads=[k // 2] * 4),
                  helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}")]
        cur, cin = f"relu{i}", co
    inits["fc_w"] = ((rng.random((cin, 10), np.float32) - 0.5) * 0.5).astype(np.float32)
    nodes += [helper.make_node("MaxPool", [cur], ["pool"], name="pool", kernel_shape=[2, 2],
                               strides=[2, 2]),
              helper.make_node("GlobalAveragePool", ["pool"], ["gap"], name="gap"),
              helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
              helper.make_node("MatMul", ["flat", "fc_w"], ["y"], name="fc")]
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
                 inits, path, "cnn")


def _weights(shape: tuple[int, ...], fan_in: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((rng.random(shape, np.float32) - 0.5) * 2 * np.sqrt(3.0 / fan_in)).astype(np.float32)


def _bias(n: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed + 1).random(n, np.float32) * 0.2).astype(np.float32)


def conv_model(path: Path, ci: int, hw: int, co: int, k: int, stride: int) -> Path:
    """One Conv k x k (pad k // 2) + bias, NCHW input [1, ci, hw, hw] (benchmark layers)."""
    oh = (hw + 2 * (k // 2) - k) // stride + 1
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", kernel_shape=[k, k],
                            strides=[stride, stride], pads=[k // 2] * 4)
    return _save([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ci, hw, hw])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, co, oh, oh])],
                 {"w": _weights((co, ci, k, k), ci * k * k, 0), "b": _bias(co, 0)}, path, "conv")


def dense_model(path: Path, m: int, k: int, n: int) -> Path:
    """Y[m, n] = X[m, k] W[k, n] + b as one Gemm (the gemm_bias pattern: tensorized)."""
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="gemm")]
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
                 {"w": _weights((k, n), k, 0), "b": _bias(n, 0)}, path, "dense")


def light_float(name: str, path: Path, seed: int = 0, opset: int = 13) -> Path:
    """A real model graph shipped in the onnx package (vendor_sdk.zoo) with seeded weights.

    The light models build their weights with ConstantOfShape (small files); these
    become He-uniform initializers (biases positive, in [0.5, 1.5)), so activations
    stay in range and the quantizer sees real weights. The opset is raised to 13,
    the first with per-axis QuantizeLinear/DequantizeLinear.
    """
    from onnx import version_converter

    from vendor_sdk.zoo import light_model_path, with_seeded_weights

    model = onnx.load(str(light_model_path(name)))
    if model.opset_import[0].version < opset:  # converting before the weights exist is faster
        model = version_converter.convert_version(model, opset)
    onnx.save(with_seeded_weights(model, seed), str(path))
    return path
