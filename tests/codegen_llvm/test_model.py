"""A real model as host code: squeezenet (onnx's light zoo) imported, lowered to tensor
programs, compiled with llvmlite and run by the executor, against onnxruntime.

The light model builds its weights with ConstantOfShape (all one value), which would
hide indexing mistakes; here they become random initializers first.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from core.executor import Executor
from core.graph import CallTIR
from core.lower import lower_module
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.zoo import dummy_input, light_model_path, with_seeded_weights


def test_squeezenet_host_code_matches_onnxruntime() -> None:
    model = with_seeded_weights(onnx.load(str(light_model_path("squeezenet"))), seed=0)
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
