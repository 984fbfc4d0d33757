"""QuantizeLinear / DequantizeLinear: bit-exact against onnxruntime.

Covers per-tensor, per-axis and blocked parameters, every integer type the
IR has, rounding ties (half to even), saturation, float16, opset 10/13/21/25
forms, and a symbolic batch dim run at two sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops_nn import compare, make_model

from core.executor import run
from vendor_sdk.frontend.onnx import FrontendError, from_onnx

QTYPES = [np.int8, np.uint8, np.int16, np.uint16]


def _zero_point(rng: np.random.Generator, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    info = np.iinfo(dtype)
    # Keep zero points away from the ends so both saturation directions are reachable.
    lo, hi = int(info.min) // 4 * 3, int(info.max) // 4 * 3
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def _wide_input(rng: np.random.Generator, *shape: int, dtype: Any = np.float32) -> np.ndarray:
    """Values spanning many binades, plus exact ties and out-of-range values."""
    x = rng.standard_normal(shape) * np.exp(rng.uniform(-3, 9, shape))
    flat = x.reshape(-1)
    flat[::7] = np.round(flat[::7]) + 0.5  # ties once divided by a scale of 1
    flat[::11] = rng.choice([1e30, -1e30, np.inf, -np.inf], flat[::11].shape)
    return x.astype(dtype)


@pytest.mark.parametrize(("dtype", "opset"), [
    (d, opset) for opset in (10, 13, 21, 25) for d in QTYPES
    if opset >= 21 or d in (np.int8, np.uint8)  # 16-bit types arrived in opset 21
])
def test_quantize_per_tensor(dtype: Any, opset: int) -> None:
    rng = np.random.default_rng(0)
    inits = {"s": np.array(rng.uniform(0.01, 3), np.float32), "z": _zero_point(rng, dtype, ())}
    model = make_model("QuantizeLinear", {"x": (np.float32, ["N", 3, 5])}, inits=inits,
                       opset=opset)
    feeds = [{"x": _wide_input(rng, n, 3, 5)} for n in (2, 2000)]
    compare(model, feeds, exact=True, symbolic_out=(0,))


@pytest.mark.parametrize("dtype", QTYPES)
def test_dequantize_per_tensor(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    inits = {"s": np.array(rng.uniform(0.001, 3), np.float32), "z": _zero_point(rng, dtype, ())}
    model = make_model("DequantizeLinear", {"x": (dtype, ["N", 4])}, inits=inits, opset=21)
    feeds = [{"x": rng.integers(info.min, int(info.max) + 1, (n, 4)).astype(dtype)}
             for n in (3, 50)]
    compare(model, feeds, exact=True, symbolic_out=(0,))


def test_rounding_ties_go_to_even() -> None:
    # With scale 0.5, x / scale lands exactly on .5 ties: -2.5 -> -2, -1.5 -> -2, 0.5 -> 0, ...
    x = np.arange(-5.25, 5.5, 0.5, dtype=np.float32)
    model = make_model("QuantizeLinear", {"x": (np.float32, [x.size])},
                       inits={"s": np.array(0.5, np.float32), "z": np.array(0, np.int8)})
    ((y,),) = compare(model, [{"x": x}], exact=True)
    np.testing.assert_array_equal(y, np.rint(x / 0.5).astype(np.int8))
    assert y[x == 0.25] == 0 and y[x == 0.75] == 2 and y[x == -1.25] == -2


@pytest.mark.parametrize("dtype", QTYPES)
def test_saturation(dtype: Any) -> None:
    info = np.iinfo(dtype)
    x = np.array([-np.inf, -1e30, info.min - 1.0, info.min - 0.5, info.min, 0.0,
                  info.max, info.max + 0.4, info.max + 0.5, info.max + 1.0, 1e30, np.inf],
                 np.float32)
    model = make_model("QuantizeLinear", {"x": (np.float32, [x.size])},
                       inits={"s": np.array(1.0, np.float32), "z": np.zeros((), dtype)},
                       opset=21)
    ((y,),) = compare(model, [{"x": x}], exact=True)
    assert y[0] == info.min and y[-1] == info.max


def test_default_output_is_uint8_and_output_dtype_attr() -> None:
    rng = np.random.default_rng(2)
    x = _wide_input(rng, 4, 6) / 1000
    no_zp = make_model("QuantizeLinear", {"x": (np.float32, [4, 6])},
                       inits={"s": np.array(0.02, np.float32)}, opset=13)
    ((y,),) = compare(no_zp, [{"x": x}], exact=True)
    assert y.dtype == np.uint8
    for code, dtype in ((3, np.int8), (5, np.int16)):  # TensorProto INT8, INT16
        model = make_model("QuantizeLinear", {"x": (np.float32, [4, 6])}, {"output_dtype": code},
                           inits={"s": np.array(0.02, np.float32)}, opset=21)
        ((y,),) = compare(model, [{"x": x}], exact=True)
        assert y.dtype == dtype


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_per_axis(axis: int, dtype: Any) -> None:
    rng = np.random.default_rng(3)
    shape = (3, 4, 5)
    n = shape[axis]
    scale = rng.uniform(0.01, 2, n).astype(np.float32)
    zp = _zero_point(rng, dtype, (n,))
    x = _wide_input(rng, *shape)
    q = make_model("QuantizeLinear", {"x": (np.float32, shape)}, {"axis": axis},
                   inits={"s": scale, "z": zp}, opset=21)
    ((y,),) = compare(q, [{"x": x}], exact=True)
    dq = make_model("DequantizeLinear", {"x": (dtype, shape)}, {"axis": axis},
                    inits={"s": scale, "z": zp}, opset=21)
    compare(dq, [{"x": y}], exact=True)


def test_per_channel_with_symbolic_batch() -> None:
    rng = np.random.default_rng(4)
    scale = rng.uniform(0.01, 0.1, 8).astype(np.float32)
    zp = _zero_point(rng, np.int8, (8,))
    model = make_model("QuantizeLinear", {"x": (np.float32, ["N", 8, "H", "W"])}, {"axis": 1},
                       inits={"s": scale, "z": zp}, opset=13)
    feeds = [{"x": _wide_input(rng, 1, 8, 3, 3) / 100}, {"x": _wide_input(rng, 4, 8, 2, 5) / 100}]
    compare(model, feeds, exact=True, symbolic_out=(0, 2, 3))


@pytest.mark.parametrize(("axis", "block"), [(0, 2), (1, 3), (-1, 4)])
def test_blocked(axis: int, block: int) -> None:
    rng = np.random.default_rng(5)
    shape = (4, 6, 7)
    pshape = list(shape)
    pshape[axis] = -(-shape[axis] // block)  # a partial last block
    scale = rng.uniform(0.01, 2, pshape).astype(np.float32)
    zp = _zero_point(rng, np.int8, tuple(pshape))
    attrs = {"axis": axis, "block_size": block}
    q = make_model("QuantizeLinear", {"x": (np.float32, shape)}, attrs,
                   inits={"s": scale, "z": zp}, opset=21)
    # onnxruntime's blocked kernel converts to int32 before saturating, so values beyond
    # the int32 range (inf, 1e30) wrap there; the spec saturates, as we do. Stay in range.
    x = np.clip(_wide_input(rng, *shape), -1e6, 1e6)
    ((y,),) = compare(q, [{"x": x}], exact=True)
    dq = make_model("DequantizeLinear", {"x": (np.int8, shape)}, attrs,
                    inits={"s": scale, "z": zp}, opset=21)
    compare(dq, [{"x": y}], exact=True)


def test_dequantize_int32_without_zero_point() -> None:
    rng = np.random.default_rng(6)
    x = rng.integers(-(2**31), 2**31 - 1, (5, 7), dtype=np.int64).astype(np.int32)
    model = make_model("DequantizeLinear", {"x": (np.int32, [5, 7])},
                       inits={"s": np.array(3.7e-5, np.float32)}, opset=13)
    compare(model, [{"x": x}], exact=True)


@pytest.mark.parametrize("op", ["QuantizeLinear", "DequantizeLinear"])
def test_float16(op: str) -> None:
    rng = np.random.default_rng(7)
    scale = np.array(0.0625, np.float16)
    if op == "QuantizeLinear":
        x = (rng.standard_normal((3, 40)) * 10).astype(np.float16)
        model = make_model(op, {"x": (np.float16, [3, 40])},
                           inits={"s": scale, "z": np.array(-3, np.int8)}, opset=21)
    else:
        x = rng.integers(-128, 128, (3, 40)).astype(np.int8)
        model = make_model(op, {"x": (np.int8, [3, 40])},
                           inits={"s": scale, "z": np.array(-3, np.int8)}, opset=21)
    compare(model, [{"x": x}], exact=True)


def test_mismatched_scale_is_rejected() -> None:
    model = make_model("QuantizeLinear", {"x": (np.float32, [2, 3])}, {"axis": 1},
                       inits={"s": np.ones(4, np.float32)}, opset=13)
    with pytest.raises(FrontendError, match="per-axis"):
        from_onnx(model)


@settings(max_examples=50, deadline=None)
@given(dtype=st.sampled_from(QTYPES), scale=st.floats(float(np.float32(1e-4)), 1e3, width=32),
       seed=st.integers(0, 2**16))
def test_dequantize_then_quantize_is_identity(dtype: Any, scale: float, seed: int) -> None:
    # (q - z) * s / s rounds back to q - z exactly: s*(q-z) is within half an ulp of the
    # true product, far less than the 0.5 that rounding tolerates.
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    q = rng.integers(info.min, int(info.max) + 1, 64).astype(dtype)
    z = _zero_point(rng, dtype, ())
    inits = {"s": np.array(scale, np.float32), "z": z}
    dq = from_onnx(make_model("DequantizeLinear", {"x": (dtype, [64])}, inits=inits, opset=21))
    qz = from_onnx(make_model("QuantizeLinear", {"x": (np.float32, [64])}, inits=inits, opset=21))
    (x,) = run(dq, [q])
    (back,) = run(qz, [x])
    np.testing.assert_array_equal(back, q)
