"""Models with a symbolic batch import once and run at any batch size, matching onnxruntime.

Each model is built with ``onnx.helper`` the way exporters write it (shapes
computed at run time through Shape/Gather/Concat rather than baked in), so
the inferred types must keep the symbolic dims all the way to the outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from core.executor import run
from core.graph import Module
from vendor_sdk.frontend.onnx import from_onnx

RNG = np.random.default_rng(7)


def weight(*shape: int, scale: float = 0.3) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


class GraphMaker:
    """Collects nodes and initializers; ``node`` returns its (single) output name."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, value: np.ndarray | Sequence[int], name: str = "") -> str:
        array = np.asarray(value, dtype=np.int64) if not isinstance(value, np.ndarray) else value
        name = name or f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, *inputs: str, **attrs: object) -> str:
        self._n += 1
        out = f"{op.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op, list(inputs), [out], **attrs))
        return out

    def model(self, inputs: list[onnx.ValueInfoProto],
              outputs: dict[str, tuple[str, list[int | str]]], opset: int = 18) -> onnx.ModelProto:
        """``outputs``: graph output name -> (producing value, declared shape)."""
        # Name the graph outputs by renaming the producing nodes' outputs.
        for name, (produced, _) in outputs.items():
            for n in self.nodes:
                for i, o in enumerate(n.output):
                    if o == produced:
                        n.output[i] = name
                for i, x in enumerate(n.input):
                    if x == produced:
                        n.input[i] = name
        graph = helper.make_graph(
            self.nodes, "g", inputs,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
             for n, (_, shape) in outputs.items()],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def assert_matches_onnxruntime(model: onnx.ModelProto, module: Module,
                               feeds: dict[str, np.ndarray]) -> None:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    got = run(module, feeds)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def output_types(module: Module) -> list[str]:
    return [str(o.type) for o in module.main.outputs]


# --- (a) MLP -------------------------------------------------------------------------------------


def test_mlp_runs_at_any_batch() -> None:
    g = GraphMaker()
    h = g.node("Relu", g.node("Add", g.node("MatMul", "x", g.const(weight(6, 16))),
                              g.const(weight(16))))
    y = g.node("Add", g.node("MatMul", h, g.const(weight(16, 3))), g.const(weight(3)))
    model = g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
                    {"y": (y, ["N", 3])})
    module = from_onnx(model)
    assert output_types(module) == ["float32[N, 3]"]
    for n in (1, 3, 8):
        assert_matches_onnxruntime(model, module, {"x": weight(n, 6, scale=1.0)})


# --- (b) PyTorch-style flatten -------------------------------------------------------------------


def test_pytorch_flatten_keeps_symbolic_batch() -> None:
    g = GraphMaker()
    act = g.node("Relu", "x")
    batch = g.node("Gather", g.node("Shape", act), g.const(np.asarray(0, np.int64)), axis=0)
    target = g.node("Concat", g.node("Unsqueeze", batch, g.const([0])), g.const([-1]), axis=0)
    flat = g.node("Reshape", act, target)
    y = g.node("Add", g.node("MatMul", flat, g.const(weight(48, 5))), g.const(weight(5)))
    model = g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
                    {"flat": (flat, ["N", 48]), "y": (y, ["N", 5])})
    module = from_onnx(model)
    assert output_types(module) == ["float32[N, 48]", "float32[N, 5]"]
    for n in (1, 3, 8):
        assert_matches_onnxruntime(model, module, {"x": weight(n, 3, 4, 4, scale=1.0)})


# --- (c) transformer encoder block ---------------------------------------------------------------

D, HEADS, FF, MAX_LEN = 16, 2, 32, 32
HEAD_DIM = D // HEADS


def _dense(g: GraphMaker, x: str, n_in: int, n_out: int) -> str:
    return g.node("Add", g.node("MatMul", x, g.const(weight(n_in, n_out))), g.const(weight(n_out)))


def _split_heads(g: GraphMaker, x: str, batch: str, seq: str) -> str:
    """[B, S, D] -> [B, H, S, Dh] with the target shape computed from Shape, as exporters do."""
    target = g.node("Concat", batch, seq, g.const([HEADS]), g.const([HEAD_DIM]), axis=0)
    return g.node("Transpose", g.node("Reshape", x, target), perm=[0, 2, 1, 3])


def _manual_layer_norm(g: GraphMaker, x: str) -> str:
    """ReduceMean / Pow / Sqrt layer norm, the way older exporters spell it."""
    axes = g.const([-1])
    centered = g.node("Sub", x, g.node("ReduceMean", x, axes))
    var = g.node("ReduceMean", g.node("Pow", centered, g.const(np.asarray(2.0, np.float32))), axes)
    std = g.node("Sqrt", g.node("Add", var, g.const(np.asarray(1e-5, np.float32))))
    scaled = g.node("Mul", g.node("Div", centered, std), g.const(1 + weight(D, scale=0.1)))
    return g.node("Add", scaled, g.const(weight(D, scale=0.1)))


def _erf_gelu(g: GraphMaker, x: str) -> str:
    half = g.const(np.asarray(0.5, np.float32))
    one = g.const(np.asarray(1.0, np.float32))
    erf = g.node("Erf", g.node("Div", x, g.const(np.asarray(math.sqrt(2), np.float32))))
    return g.node("Mul", g.node("Mul", x, half), g.node("Add", erf, one))


def _encoder_block() -> onnx.ModelProto:
    g = GraphMaker()
    shape = g.node("Shape", "x")
    batch = g.node("Unsqueeze", g.node("Gather", shape, g.const(np.asarray(0, np.int64))),
                   g.const([0]))
    seq_1d = g.node("Slice", shape, g.const([1]), g.const([2]))  # [S] by slicing, not gathering
    # Learned positions: the first S rows of a [MAX_LEN, D] table.
    pos = g.node("Slice", g.const(weight(MAX_LEN, D)), g.const([0]), seq_1d, g.const([0]))
    h0 = g.node("Add", "x", pos)
    h = g.node("LayerNormalization", h0, g.const(1 + weight(D, scale=0.1)),
               g.const(weight(D, scale=0.1)), axis=-1, epsilon=1e-5)

    q = _split_heads(g, _dense(g, h, D, D), batch, seq_1d)
    k = _split_heads(g, _dense(g, h, D, D), batch, seq_1d)
    v = _split_heads(g, _dense(g, h, D, D), batch, seq_1d)
    scale = g.node("Sqrt", g.const(np.asarray(float(HEAD_DIM), np.float32)))
    scores = g.node("Div", g.node("MatMul", q, g.node("Transpose", k, perm=[0, 1, 3, 2])), scale)
    # Key padding mask [B, S] -> [B, 1, 1, S]; masked keys get a large negative score.
    keep = g.node("Unsqueeze", "mask", g.const([1, 2]))
    scores = g.node("Where", keep, scores, g.const(np.asarray(-1e9, np.float32)))
    ctx = g.node("MatMul", g.node("Softmax", scores, axis=-1), v)
    merged = g.node("Reshape", g.node("Transpose", ctx, perm=[0, 2, 1, 3]), g.const([0, 0, -1]))
    h1 = g.node("Add", h0, _dense(g, merged, D, D))

    ff = _dense(g, _erf_gelu(g, _dense(g, _manual_layer_norm(g, h1), D, FF)), FF, D)
    out = g.node("Add", h1, ff)
    # First-token pooling through Slice + Squeeze, as in BERT-style heads.
    pooled = g.node("Squeeze", g.node("Slice", out, g.const([0]), g.const([1]), g.const([1])),
                    g.const([1]))
    return g.model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", D]),
         helper.make_tensor_value_info("mask", TensorProto.BOOL, ["batch", "seq"])],
        {"out": (out, ["batch", "seq", D]), "pooled": (pooled, ["batch", D])},
    )


def test_transformer_encoder_block_with_symbolic_batch_and_sequence() -> None:
    model = _encoder_block()
    module = from_onnx(model)
    assert output_types(module) == ["float32[batch, seq, 16]", "float32[batch, 16]"]
    for n, s in ((1, 1), (3, 5), (8, 12)):
        mask = RNG.random((n, s)) < 0.8
        mask[:, 0] = True  # every sequence keeps at least one key
        feeds = {"x": weight(n, s, D, scale=1.0), "mask": mask}
        assert_matches_onnxruntime(model, module, feeds)
