"""Lowered tensor programs agree with the reference executor's op semantics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from lowering_inputs import f32, i8, module_of, scalar

from core.builder import FunctionBuilder
from core.executor import run
from core.graph import CallTIR
from core.lower import lower_module

Case = tuple[str, Callable[[FunctionBuilder], list], list[np.ndarray]]


CASES: list[Case] = [
    ("add_broadcast", lambda fb, a, b: [fb.op("Add", a, b)], [f32(2, 3, 4), f32(3, 1)]),
    ("relu_sigmoid", lambda fb, a: [fb.op("Sigmoid", fb.op("Relu", a))], [f32(2, 5)]),
    ("clip", lambda fb, a: [fb.op("Clip", a, scalar(-0.5), scalar(0.5))], [f32(2, 5)]),
    ("conv_pad_stride", lambda fb, x: [fb.op("Conv", x, f32(4, 3, 3, 3), f32(4),
                                             pads=(1, 1, 1, 1), strides=(2, 2))],
     [f32(2, 3, 9, 9)]),
    ("conv_dilated_grouped", lambda fb, x: [fb.op("Conv", x, f32(4, 2, 3, 3), group=2,
                                                  dilations=(2, 2), pads=(2, 1, 2, 1))],
     [f32(1, 4, 8, 7)]),
    ("depthwise", lambda fb, x: [fb.op("Conv", x, f32(4, 1, 3, 3), group=4,
                                       pads=(1, 1, 1, 1))], [f32(2, 4, 6, 6)]),
    ("conv_integer", lambda fb, x: [fb.op("ConvInteger", x, i8(3, 2, 3, 3), np.array(3, np.int8),
                                          pads=(1, 1, 1, 1))], [i8(2, 2, 5, 5)]),
    ("batch_matmul", lambda fb, a, b: [fb.op("MatMul", a, b)], [f32(2, 3, 5, 4), f32(4, 6)]),
    ("matmul_integer", lambda fb, a: [fb.op("MatMulInteger", a, i8(8, 3), np.array(1, np.int8))],
     [i8(3, 8)]),
    ("gemm", lambda fb, a: [fb.op("Gemm", a, f32(6, 5), f32(6), transB=1, alpha=0.5,
                                  beta=2.0)], [f32(3, 5)]),
    ("maxpool", lambda fb, x: [fb.op("MaxPool", x, kernel_shape=(3, 3), strides=(2, 2),
                                     pads=(1, 1, 1, 1))], [f32(2, 3, 7, 7)]),
    ("avgpool", lambda fb, x: [fb.op("AveragePool", x, kernel_shape=(3, 3), strides=(2, 2),
                                     pads=(1, 1, 1, 1))], [f32(1, 2, 7, 6)]),
    ("avgpool_incl", lambda fb, x: [fb.op("AveragePool", x, kernel_shape=(2, 2),
                                          pads=(1, 0, 1, 0), count_include_pad=1)],
     [f32(1, 2, 5, 5)]),
    ("global_pools", lambda fb, x: [fb.op("GlobalAveragePool", x), fb.op("GlobalMaxPool", x)],
     [f32(2, 3, 4, 5)]),
    ("softmax", lambda fb, x: [fb.op("Softmax", x, axis=-1), fb.op("LogSoftmax", x, axis=1)],
     [f32(2, 7, 3)]),
    ("layer_norm", lambda fb, x: [fb.op("LayerNormalization", x, f32(4, 5), f32(5),
                                        axis=1)], [f32(3, 4, 5)]),
    ("transpose_concat", lambda fb, a, b: [fb.op("Concat", fb.op("Transpose", a,
                                                                 perm=(0, 2, 1)), b, axis=2)],
     [f32(2, 3, 4), f32(2, 4, 5)]),
    ("reshape", lambda fb, a: [fb.op("Reshape", a, np.array([0, -1], np.int64))],
     [f32(2, 3, 4)]),
    ("qdq", lambda fb, x: [fb.op("DequantizeLinear", fb.op(
        "QuantizeLinear", x, scalar(0.05), np.array(-3, np.int8)), scalar(0.05),
        np.array(-3, np.int8))],
     [f32(3, 6)]),
    # float -> int8 beyond its range: truncated through int64, then wrapped (the reference)
    ("cast", lambda fb, x: [fb.op("Cast", fb.op("Cast", fb.op("Mul", x, scalar(100.0)),
                                                to="int8"), to="float32")], [f32(3, 6)]),
]


@pytest.mark.parametrize("symbolic_batch", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize(("name", "build", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_lowered_matches_reference(name: str, build: Callable, inputs: list[np.ndarray],
                                   symbolic_batch: bool) -> None:
    module = module_of(build, inputs, symbolic_batch)
    lowered = lower_module(module)
    calls = [b.value for b in lowered.main.bindings]
    assert all(isinstance(c, CallTIR) for c in calls), [type(c).__name__ for c in calls]
    want = run(module, inputs)
    got = run(lowered, inputs)
    for w, g in zip(want, got, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        if np.issubdtype(w.dtype, np.integer):
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_symbolic_extents_are_size_variables() -> None:
    module = module_of(lambda fb, a: [fb.op("Relu", a)], [f32(3, 4)], True)
    pf = next(f for f in lower_module(module).functions if f.name != "main")
    from core.tir import func_str

    assert "in0: float32[N, 4]" in func_str(pf)
    assert "range(N)" in func_str(pf)


def test_clip_with_a_runtime_bound_stays_a_graph_call() -> None:
    # Only scalar constant bounds are lowered; a bound read at run time must not be dropped.
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    inputs = [x, np.array(3, np.float32)]
    module = module_of(lambda fb, a, lo: [fb.op("Clip", a, lo)], inputs, False)
    lowered = lower_module(module)
    assert not any(isinstance(b.value, CallTIR) for b in lowered.main.bindings)
    np.testing.assert_array_equal(run(lowered, inputs)[0], np.maximum(x, 3))
