"""Every op family core.lower lowers, compiled to host code, against the interpreter and the
reference executor; symbolic batch compiles once and runs at any batch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from core import symbolic as sym
from core.builder import FunctionBuilder, single_function_module
from core.codegen_llvm import compile_artifact, compile_func
from core.executor import run
from core.graph import CallTIR, Module
from core.lower import lower_module
from core.tir import PrimFunc
from core.types import TensorType

N = sym.var("N")
rng = np.random.default_rng(1)


def _f32(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _i8(*shape: int) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def _u8(*shape: int) -> np.ndarray:
    return rng.integers(0, 256, shape).astype(np.uint8)


def _s(v: float) -> np.ndarray:
    return np.array(v, np.float32)


Build = Callable[..., list]
# name, graph builder, inputs, whether the program uses exp/log/erf (libm rounding differs)
CASES: list[tuple[str, Build, list[np.ndarray], bool]] = [
    ("add_broadcast", lambda fb, a, b: [fb.op("Add", a, b)], [_f32(2, 3, 4), _f32(3, 1)], False),
    ("sub_mul_max_min", lambda fb, a, b: [fb.op("Min", fb.op("Max", fb.op("Mul", fb.op(
        "Sub", a, b), a), b), a)], [_f32(2, 5, 6), _f32(5, 6)], False),
    ("div_abs_neg_sqrt", lambda fb, a, b: [fb.op("Sqrt", fb.op("Abs", fb.op("Div", fb.op(
        "Neg", a), b)))], [_f32(3, 7), _f32(7)], False),
    ("int_add_relu", lambda fb, a, b: [fb.op("Relu", fb.op("Add", a, b))],
     [_i8(2, 9), _i8(9)], False),
    ("uint_max", lambda fb, a, b: [fb.op("Max", a, b)], [_u8(4, 5), _u8(4, 1)], False),
    ("unary_math", lambda fb, a: [fb.op("Tanh", a), fb.op("Erf", a), fb.op("Sigmoid", a),
                                   fb.op("Log", fb.op("Exp", a)), fb.op("Floor", a)],
     [_f32(3, 37)], True),
    ("leaky_clip", lambda fb, a: [fb.op("Clip", fb.op("LeakyRelu", a, alpha=0.1), _s(-0.5),
                                        _s(0.5))], [_f32(2, 21)], False),
    ("conv_pad_stride", lambda fb, x: [fb.op("Conv", x, _f32(4, 3, 3, 3), _f32(4),
                                             pads=(1, 1, 1, 1), strides=(2, 2))],
     [_f32(2, 3, 9, 9)], False),
    ("conv_dilated_grouped", lambda fb, x: [fb.op("Conv", x, _f32(4, 2, 3, 3), group=2,
                                                  dilations=(2, 2), pads=(2, 1, 2, 1))],
     [_f32(1, 4, 8, 7)], False),
    ("depthwise", lambda fb, x: [fb.op("Conv", x, _f32(4, 1, 3, 3), group=4,
                                       pads=(1, 1, 1, 1))], [_f32(2, 4, 6, 6)], False),
    ("conv_integer", lambda fb, x: [fb.op("ConvInteger", x, _i8(3, 2, 3, 3), np.array(3, np.int8),
                                          pads=(1, 1, 1, 1))], [_i8(2, 2, 5, 5)], False),
    ("batch_matmul", lambda fb, a, b: [fb.op("MatMul", a, b)], [_f32(2, 3, 5, 4), _f32(4, 6)],
     False),
    ("matmul_integer", lambda fb, a: [fb.op("MatMulInteger", a, _i8(8, 3), np.array(1, np.int8))],
     [_i8(3, 8)], False),
    ("gemm", lambda fb, a: [fb.op("Gemm", a, _f32(6, 5), _f32(6), transB=1, alpha=0.5,
                                  beta=2.0)], [_f32(3, 5)], False),
    ("maxpool", lambda fb, x: [fb.op("MaxPool", x, kernel_shape=(3, 3), strides=(2, 2),
                                     pads=(1, 1, 1, 1))], [_f32(2, 3, 9, 40)], False),
    ("maxpool_int8", lambda fb, x: [fb.op("MaxPool", x, kernel_shape=(2, 2), strides=(2, 2))],
     [_i8(1, 2, 6, 6)], False),
    ("avgpool", lambda fb, x: [fb.op("AveragePool", x, kernel_shape=(3, 3), strides=(2, 2),
                                     pads=(1, 1, 1, 1))], [_f32(1, 2, 7, 6)], False),
    ("avgpool_incl", lambda fb, x: [fb.op("AveragePool", x, kernel_shape=(2, 2),
                                          pads=(1, 0, 1, 0), count_include_pad=1)],
     [_f32(1, 2, 5, 5)], False),
    ("global_pools", lambda fb, x: [fb.op("GlobalAveragePool", x), fb.op("GlobalMaxPool", x)],
     [_f32(2, 3, 4, 5)], False),
    ("softmax", lambda fb, x: [fb.op("Softmax", x, axis=-1), fb.op("LogSoftmax", x, axis=1)],
     [_f32(2, 7, 33)], True),
    ("layer_norm", lambda fb, x: [fb.op("LayerNormalization", x, _f32(4, 5), _f32(5),
                                        axis=1)], [_f32(3, 4, 5)], False),
    ("transpose_concat", lambda fb, a, b: [fb.op("Concat", fb.op("Transpose", a,
                                                                 perm=(0, 2, 1)), b, axis=2)],
     [_f32(2, 3, 4), _f32(2, 4, 5)], False),
    ("reshape_flatten", lambda fb, a: [fb.op("Flatten", fb.op("Reshape", a, np.array(
        [0, -1], np.int64)), axis=1)], [_f32(2, 3, 4)], False),
    ("qdq", lambda fb, x: [fb.op("DequantizeLinear", fb.op(
        "QuantizeLinear", x, _s(0.05), np.array(-3, np.int8)), _s(0.05), np.array(-3, np.int8))],
     [_f32(3, 6) * 4], False),
    ("quantize_uint8_per_axis", lambda fb, x: [fb.op(
        "QuantizeLinear", x, np.array([0.02, 0.1, 0.05], np.float32),
        np.array([128, 3, 250], np.uint8), axis=1)], [_f32(2, 3, 4) * 3], False),
]


def _module(build: Build, inputs: list[np.ndarray], symbolic_batch: bool) -> Module:
    fb = FunctionBuilder("main")
    params = []
    for k, a in enumerate(inputs):
        batched = symbolic_batch and a.ndim == inputs[0].ndim
        shape = tuple(N if batched and d == 0 else s for d, s in enumerate(a.shape))
        params.append(fb.param(f"x{k}", TensorType(str(a.dtype), shape)))
    return single_function_module(fb.finish(build(fb, *params)))


def _same(got: list[np.ndarray], want: list[np.ndarray], exact: bool) -> None:
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("symbolic_batch", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize(("name", "build", "inputs", "libm"), CASES, ids=[c[0] for c in CASES])
def test_host_code_matches_interpreter(name: str, build: Build, inputs: list[np.ndarray],
                                       libm: bool, symbolic_batch: bool) -> None:
    module = _module(build, inputs, symbolic_batch)
    lowered = lower_module(module)
    assert all(isinstance(b.value, CallTIR) for b in lowered.main.bindings)
    host = run(lowered, inputs, host="llvm", reassociate=False)
    # Same operations in the same order as the interpreter: identical bits, except where
    # exp/log/erf are computed differently (inline exp, vector libm).
    _same(host, run(lowered, inputs, host="interp"), exact=not libm)
    # The default reassociates float sums (partial sums): close, not identical.
    _same(run(lowered, inputs, host="llvm"), host, exact=False)
    reference = run(module, inputs)
    for g, w in zip(host, reference, strict=True):
        if np.issubdtype(w.dtype, np.integer):
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def _prim(module: Module) -> PrimFunc:
    (f,) = [f for f in module.functions if isinstance(f, PrimFunc)]
    return f


@pytest.mark.parametrize("name", ["conv_pad_stride", "softmax", "int_add_relu", "maxpool"])
def test_symbolic_batch_compiles_once(name: str) -> None:
    _, build, inputs, libm = next(c for c in CASES if c[0] == name)
    lowered = lower_module(_module(build, inputs, True))
    funcs = [f for f in lowered.functions if isinstance(f, PrimFunc)]
    artifacts = [compile_artifact(f) for f in funcs]
    assert all("N" in a.signature.sizes for a in artifacts)
    for batch in (1, 5):
        xs = [np.concatenate([a] * (batch * 2))[:batch] if a.ndim == inputs[0].ndim else a
              for a in inputs]
        _same(run(lowered, xs, host="llvm"), run(lowered, xs, host="interp"), exact=not libm)
    assert [compile_artifact(f) for f in funcs] == artifacts  # the cache, not a recompile


def test_symbolic_size_binds_from_shapes() -> None:
    f = _prim(lower_module(_module(lambda fb, a, b: [fb.op("Add", a, b)],
                                   [_f32(2, 3), _f32(3)], True)))
    cf = compile_func(f)
    for n in (0, 1, 7):
        a, b = _f32(n, 3), _f32(3)
        (out,) = cf(a, b)
        np.testing.assert_array_equal(out, a + b)
