"""A real model as host code: squeezenet (onnx's light zoo) imported, lowered to tensor
programs, compiled with llvmlite and run by the executor, against onnxruntime.

The light model builds its weights with ConstantOfShape (all one value), which would
hide indexing mistakes; here they become random initializers first.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from core.executor import Executor
from core.graph import CallTIR
from core.lower import lower_module
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.zoo import dummy_input, light_model_path


def _with_random_weights(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    keep = []
    for node in model.graph.node:
        if node.op_type != "ConstantOfShape":
            keep.append(node)
            continue
        shape = tuple(int(d) for d in inits[node.input[0]])
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 100
        w = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        model.graph.initializer.append(numpy_helper.from_array(w, node.output[0]))
    del model.graph.node[:]
    model.graph.node.extend(keep)
    used = {i for n in keep for i in n.input}
    unused = [i for i in model.graph.initializer if i.name.endswith("__SHAPE")
              and i.name not in used]
    for i in unused:
        model.graph.initializer.remove(i)
    for vi in [v for v in model.graph.input if v.name in {i.name for i in unused}]:
        model.graph.input.remove(vi)
    return model


def test_squeezenet_host_code_matches_onnxruntime() -> None:
    model = _with_random_weights(onnx.load(str(light_model_path("squeezenet"))), seed=0)
    weights = {i.name for i in model.graph.initializer}
    (name,) = [v.name for v in model.graph.input if v.name not in weights]
    x = dummy_input((1, 3, 224, 224)) * 2 - 1
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    want = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"]).run(None, {name: x})[0]
    lowered = lower_module(from_onnx(model))
    tir_calls = [b for b in lowered.main.bindings if isinstance(b.value, CallTIR)]
    assert len(tir_calls) >= 60  # every conv, relu, pool, concat and the softmax
    got = Executor(lowered, host="llvm").run({name: x})[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert int(np.argmax(got)) == int(np.argmax(want))
