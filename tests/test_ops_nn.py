"""NN ops against onnxruntime on single-node ONNX models.

Every model is imported once with a symbolic batch dim (and symbolic spatial
dims where the op allows) and executed for two different input shapes; the
reference executor checks every value against its inferred type on the way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from core import symbolic as sym
from core.executor import run
from core.graph import Attrs
from core.ops.registry import OpError
from core.ops.window import output_dims, window_of
from vendor_sdk.frontend.onnx import FrontendError, from_onnx

Shape = Sequence[int | str]


def make_model(op: str, inputs: Mapping[str, tuple[Any, Shape]],
               attrs: Mapping[str, Any] | None = None, *,
               inits: Mapping[str, np.ndarray] | None = None,
               outputs: int | Sequence[str] = 1, opset: int = 18,
               node_inputs: Sequence[str] | None = None) -> onnx.ModelProto:
    """One node; ``inputs`` are graph inputs (dtype, shape), ``inits`` constant inputs."""
    inits = dict(inits or {})
    out_names = [f"y{i}" for i in range(outputs)] if isinstance(outputs, int) else list(outputs)
    names = list(node_inputs) if node_inputs is not None else [*inputs, *inits]
    node = helper.make_node(op, names, out_names, **dict(attrs or {}))
    graph = helper.make_graph(
        [node], op.lower(),
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.dtype(d)), list(s))
         for n, (d, s) in inputs.items()],
        [helper.make_empty_tensor_value_info(n) for n in out_names if n],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    # onnxruntime 1.31 reads IR version <= 13; the onnx package writes newer by default.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def compare(model: onnx.ModelProto, feeds: Sequence[Mapping[str, np.ndarray]], *,
            rtol: float = 1e-5, atol: float = 1e-5, exact: bool = False,
            symbolic_out: Sequence[int] = ()) -> list[list[np.ndarray]]:
    """Import once, run every feed in ours and onnxruntime, compare all outputs."""
    module = from_onnx(model)
    out_type = module.main.outputs[0].type
    for axis in symbolic_out:
        assert isinstance(out_type.shape[axis], sym.Sym), f"output dim {axis} of {out_type}"
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    results = []
    for feed in feeds:
        ref = session.run(None, dict(feed))
        got = run(module, [feed[p] for p in feed])
        assert len(got) == len(ref)
        for g, r in zip(got, ref, strict=True):
            assert g.dtype == r.dtype and g.shape == r.shape, (g.dtype, g.shape, r.dtype, r.shape)
            if exact:
                np.testing.assert_array_equal(g, r)
            else:
                np.testing.assert_allclose(g, r, rtol=rtol, atol=atol)
        results.append(got)
    return results


def rand(rng: np.random.Generator, *shape: int, dtype: Any = np.float32) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# --- Conv -------------------------------------------------------------------------------

CONV_CASES = [
    # (spatial sizes of the two runs, C, M, kernel, attrs)
    ([(9, 10), (12, 7)], 4, 6, (3, 3), {}),
    ([(9, 10), (12, 7)], 4, 6, (3, 3), {"pads": [1, 0, 2, 1], "strides": [2, 1]}),
    ([(11, 10), (8, 13)], 4, 6, (3, 2), {"dilations": [2, 3], "pads": [1, 1, 1, 1]}),
    ([(9, 10), (12, 7)], 4, 6, (3, 3), {"group": 2, "strides": [2, 2]}),
    ([(9, 10), (12, 7)], 6, 6, (3, 3), {"group": 6, "pads": [1, 1, 1, 1]}),  # depthwise
    ([(9, 10), (12, 7)], 6, 12, (3, 3), {"group": 6}),  # depthwise, multiplier 2
    ([(9, 10), (12, 7)], 4, 6, (1, 1), {}),  # pointwise fast path
    ([(9, 10), (12, 7)], 4, 6, (1, 1), {"strides": [2, 3]}),
    ([(9, 10), (12, 7)], 4, 6, (3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ([(9, 10), (12, 7)], 4, 6, (4, 3), {"auto_pad": "SAME_LOWER", "strides": [3, 2]}),
    ([(9, 10), (12, 7)], 4, 6, (3, 3), {"auto_pad": "VALID", "strides": [2, 2]}),
    ([(9,), (14,)], 4, 6, (3,), {"pads": [2, 1], "strides": [2], "dilations": [2]}),  # 1-D
    ([(5, 6, 4), (4, 7, 5)], 2, 3, (2, 3, 2), {"pads": [1, 0, 1, 0, 1, 1]}),  # 3-D
]


@pytest.mark.parametrize(("sizes", "c", "m", "kernel", "attrs"), CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv(sizes: list[tuple[int, ...]], c: int, m: int, kernel: tuple[int, ...],
              attrs: dict[str, Any], bias: bool) -> None:
    rng = np.random.default_rng(0)
    group = attrs.get("group", 1)
    inits = {"w": rand(rng, m, c // group, *kernel)}
    if bias:
        inits["b"] = rand(rng, m)
    spatial = ["H", "W", "D"][: len(kernel)]
    model = make_model("Conv", {"x": (np.float32, ["N", c, *spatial])}, attrs, inits=inits)
    feeds = [{"x": rand(rng, n, c, *s)} for n, s in zip((1, 3), sizes, strict=True)]
    compare(model, feeds, symbolic_out=(0, *range(2, len(kernel) + 2)))


def test_conv_kernel_shape_attr_and_float64() -> None:
    rng = np.random.default_rng(1)
    w = rand(rng, 5, 3, 3, 3)
    model = make_model("Conv", {"x": (np.float32, ["N", 3, 8, 8])}, {"kernel_shape": [3, 3]},
                       inits={"w": w})
    x = rand(rng, 2, 3, 8, 8)
    ((ref,),) = compare(model, [{"x": x}])
    # onnxruntime has no float64 Conv: check float64 against the float32 result.
    m64 = make_model("Conv", {"x": (np.float64, ["N", 3, 8, 8])},
                     inits={"w": w.astype(np.float64)})
    (y,) = run(from_onnx(m64), [x.astype(np.float64)])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


CONV_TRANSPOSE_CASES = [
    (4, 6, (3, 3), {}),
    (4, 6, (3, 3), {"strides": [2, 2], "pads": [1, 0, 1, 2]}),
    (4, 6, (3, 3), {"strides": [2, 3], "output_padding": [1, 2]}),
    (4, 6, (2, 3), {"dilations": [2, 1], "strides": [2, 1]}),
    (4, 6, (3, 3), {"group": 2, "strides": [2, 2]}),
    (4, 6, (3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    (4, 6, (3, 3), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    (4, 6, (3, 3), {"strides": [2, 2], "output_shape": [10, 12]}),  # crop, pad
    (4, 6, (3, 3), {"strides": [2, 2], "output_shape": [9, 13], "auto_pad": "SAME_UPPER"}),
    (4, 6, (3, 3), {"strides": [2, 2], "output_shape": [9, 13], "auto_pad": "SAME_LOWER"}),
    (4, 6, (2, 2), {"strides": [3, 3], "auto_pad": "SAME_LOWER"}),
]


@pytest.mark.parametrize(("c", "m", "kernel", "attrs"), CONV_TRANSPOSE_CASES)
def test_conv_transpose(c: int, m: int, kernel: tuple[int, ...], attrs: dict[str, Any]) -> None:
    rng = np.random.default_rng(2)
    group = attrs.get("group", 1)
    inits = {"w": rand(rng, c, m // group, *kernel), "b": rand(rng, m)}
    fixed = "output_shape" in attrs  # the output extent is given, so spatial stays static
    spatial = [5, 6] if fixed else ["H", "W"]
    model = make_model("ConvTranspose", {"x": (np.float32, ["N", c, *spatial])}, attrs,
                       inits=inits)
    sizes = [(5, 6), (5, 6)] if fixed else [(5, 6), (4, 7)]
    feeds = [{"x": rand(rng, n, c, *s)} for n, s in zip((1, 2), sizes, strict=True)]
    compare(model, feeds, symbolic_out=(0,) if fixed else (0, 2, 3))


@pytest.mark.parametrize("attrs", [{}, {"pads": [1, 1, 1, 1], "strides": [2, 2]}, {"group": 2}])
@pytest.mark.parametrize("dtypes", [(np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)])
def test_conv_integer(attrs: dict[str, Any], dtypes: tuple[Any, Any]) -> None:
    rng = np.random.default_rng(3)
    xt, wt = dtypes
    inits = {"w": rand(rng, 4, 4 // attrs.get("group", 1), 3, 3, dtype=wt),
             "xz": np.array(rng.integers(0, 100), xt), "wz": np.array(rng.integers(0, 50), wt)}
    model = make_model("ConvInteger", {"x": (xt, ["N", 4, 7, 8])}, attrs, inits=inits)
    compare(model, [{"x": rand(rng, n, 4, 7, 8, dtype=xt)} for n in (1, 2)], exact=True,
            symbolic_out=(0,))


# --- pooling ----------------------------------------------------------------------------

POOL_CASES = [
    {"kernel_shape": [3, 3]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [0, 1, 2, 0]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [2, 3], "strides": [3, 2], "pads": [1, 0, 1, 1], "ceil_mode": 1},
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    {"kernel_shape": [2, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"},
    {"kernel_shape": [3, 3], "strides": [2, 1], "auto_pad": "VALID"},
    {"kernel_shape": [2, 2], "dilations": [2, 2], "pads": [1, 1, 0, 0]},
    {"kernel_shape": [3, 3], "dilations": [2, 1], "strides": [2, 2], "ceil_mode": 1},
]


def _pool_feeds(rng: np.random.Generator, dtype: Any = np.float32) -> list[dict[str, np.ndarray]]:
    return [{"x": rand(rng, 1, 3, 9, 10, dtype=dtype)}, {"x": rand(rng, 2, 3, 12, 7, dtype=dtype)}]


@pytest.mark.parametrize("attrs", POOL_CASES)
def test_max_pool(attrs: dict[str, Any]) -> None:
    rng = np.random.default_rng(4)
    model = make_model("MaxPool", {"x": (np.float32, ["N", 3, "H", "W"])}, attrs)
    compare(model, _pool_feeds(rng), exact=True, symbolic_out=(0, 2, 3))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_max_pool_integer(dtype: Any) -> None:
    rng = np.random.default_rng(5)
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    model = make_model("MaxPool", {"x": (dtype, ["N", 3, "H", "W"])}, attrs)
    compare(model, _pool_feeds(rng, dtype), exact=True)


def test_max_pool_1d_and_3d() -> None:
    rng = np.random.default_rng(6)
    m1 = make_model("MaxPool", {"x": (np.float32, ["N", 2, "L"])},
                    {"kernel_shape": [3], "strides": [2], "pads": [1, 1]})
    compare(m1, [{"x": rand(rng, 1, 2, 9)}, {"x": rand(rng, 3, 2, 12)}], exact=True)
    m3 = make_model("MaxPool", {"x": (np.float32, ["N", 2, 5, 6, 7])},
                    {"kernel_shape": [2, 2, 3], "strides": [2, 2, 2]})
    compare(m3, [{"x": rand(rng, 2, 2, 5, 6, 7)}], exact=True)


def test_max_pool_indices_output_is_rejected() -> None:
    model = make_model("MaxPool", {"x": (np.float32, [1, 1, 4, 4])}, {"kernel_shape": [2, 2]},
                       outputs=2)
    with pytest.raises(FrontendError, match="not supported"):
        from_onnx(model)


@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool(attrs: dict[str, Any], count_include_pad: int) -> None:
    rng = np.random.default_rng(7)
    model = make_model("AveragePool", {"x": (np.float32, ["N", 3, "H", "W"])},
                       {**attrs, "count_include_pad": count_include_pad}, opset=19)
    compare(model, _pool_feeds(rng), rtol=1e-6, atol=1e-6, symbolic_out=(0, 2, 3))


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("spatial", [["L"], ["H", "W"], ["D", "H", "W"]])
def test_global_pool(op: str, spatial: list[str]) -> None:
    rng = np.random.default_rng(8)
    model = make_model(op, {"x": (np.float32, ["N", 5, *spatial])})
    sizes = [(1, *range(4, 4 + len(spatial))), (2, *range(6, 6 + len(spatial)))]
    compare(model, [{"x": rand(rng, n, 5, *s)} for n, *s in sizes], symbolic_out=(0,))


# --- normalizations ---------------------------------------------------------------------


def _bn_params(rng: np.random.Generator, c: int) -> dict[str, np.ndarray]:
    return {"scale": rand(rng, c), "b": rand(rng, c), "mean": rand(rng, c),
            "var": rng.uniform(0.5, 2.0, c).astype(np.float32)}


@pytest.mark.parametrize("opset", [9, 15])
@pytest.mark.parametrize("spatial", [[], ["H", "W"], ["D", "H", "W"]])
def test_batch_norm(opset: int, spatial: list[str]) -> None:
    rng = np.random.default_rng(9)
    model = make_model("BatchNormalization", {"x": (np.float32, ["N", 4, *spatial])},
                       {"epsilon": 1e-3}, inits=_bn_params(rng, 4), opset=opset)
    shapes = [(1, 4, *range(3, 3 + len(spatial))), (3, 4, *range(5, 5 + len(spatial)))]
    compare(model, [{"x": rand(rng, *s)} for s in shapes], symbolic_out=(0,))


def test_batch_norm_training_mode_is_rejected() -> None:
    rng = np.random.default_rng(9)
    model = make_model("BatchNormalization", {"x": (np.float32, [2, 4, 3])},
                       {"training_mode": 1}, inits=_bn_params(rng, 4), opset=15)
    with pytest.raises(FrontendError, match="training_mode"):
        from_onnx(model)


def test_instance_norm() -> None:
    rng = np.random.default_rng(10)
    model = make_model("InstanceNormalization", {"x": (np.float32, ["N", 3, "H", "W"])},
                       {"epsilon": 1e-4}, inits={"s": rand(rng, 3), "b": rand(rng, 3)})
    compare(model, [{"x": rand(rng, 1, 3, 4, 5)}, {"x": rand(rng, 2, 3, 6, 3)}],
            symbolic_out=(0, 2, 3))


@pytest.mark.parametrize(("axis", "bias"), [(-1, True), (1, True), (2, False), (0, True)])
def test_layer_norm(axis: int, bias: bool) -> None:
    rng = np.random.default_rng(11)
    shape = [2, 3, 4]
    inits = {"s": rand(rng, *shape[axis:])}
    if bias:
        inits["b"] = rand(rng, *shape[axis:])
    model = make_model("LayerNormalization", {"x": (np.float32, ["N", 3, 4] if axis else shape)},
                       {"axis": axis, "epsilon": 1e-3}, inits=inits, opset=17)
    batches = (2, 5) if axis else (2,)
    compare(model, [{"x": rand(rng, n, 3, 4)} for n in batches])
    # The optional Mean and InvStdDev outputs (built from generic ops by the importer).
    stats = make_model("LayerNormalization", {"x": (np.float32, ["N", 3, 4] if axis else shape)},
                       {"axis": axis}, inits=inits, opset=17, outputs=["y", "mean", "inv"])
    compare(stats, [{"x": rand(rng, n, 3, 4)} for n in batches])


@pytest.mark.parametrize(("size", "attrs"), [(5, {}), (3, {"alpha": 1e-2, "beta": 0.5}),
                                             (7, {"bias": 2.0}), (1, {})])
def test_lrn(size: int, attrs: dict[str, float]) -> None:
    rng = np.random.default_rng(12)
    model = make_model("LRN", {"x": (np.float32, ["N", 7, "H", "W"])}, {"size": size, **attrs})
    compare(model, [{"x": rand(rng, 1, 7, 3, 4)}, {"x": rand(rng, 2, 7, 5, 2)}],
            symbolic_out=(0, 2, 3))


def test_lrn_even_size_follows_the_spec() -> None:
    # onnxruntime only implements odd sizes; check the spec's window directly.
    rng = np.random.default_rng(12)
    x = rand(rng, 2, 6, 3, 2)
    (y,) = run(from_onnx(make_model("LRN", {"x": (np.float32, [2, 6, 3, 2])}, {"size": 4})), [x])
    sq = np.square(x.astype(np.float64))
    for c in range(6):  # channels c-1 .. c+2 for size 4
        total = sq[:, max(0, c - 1):c + 3].sum(axis=1)
        np.testing.assert_allclose(y[:, c], x[:, c] / (1 + 1e-4 / 4 * total) ** 0.75, rtol=1e-6)


# --- Gemm, MatMul -----------------------------------------------------------------------

GEMM_CASES = [
    ({}, (3,)), ({"transA": 1}, (1,)), ({"transB": 1}, (4, 3)), ({"transA": 1, "transB": 1}, ()),
    ({"alpha": 0.5, "beta": 2.0}, (4, 1)), ({"alpha": -1.5}, None), ({"beta": 0.0}, (3,)),
]


@pytest.mark.parametrize(("attrs", "c_shape"), GEMM_CASES)
def test_gemm(attrs: dict[str, Any], c_shape: tuple[int, ...] | None) -> None:
    rng = np.random.default_rng(13)
    a_shape = [5, "M"] if attrs.get("transA") else ["M", 5]
    b_shape = (3, 5) if attrs.get("transB") else (5, 3)
    inits = {"b": rand(rng, *b_shape)}
    if c_shape is not None:
        inits["c"] = rand(rng, *c_shape)
    if c_shape is not None and 4 in c_shape:  # C with a fixed M dim needs a fixed A
        a_shape = [5, 4] if attrs.get("transA") else [4, 5]
    model = make_model("Gemm", {"a": (np.float32, a_shape)}, attrs, inits=inits)
    ms = (4,) if 4 in a_shape else (4, 7)
    feeds = [{"a": rand(rng, *(a_shape[0] if a_shape[0] != "M" else m,
                               a_shape[1] if a_shape[1] != "M" else m))} for m in ms]
    compare(model, feeds)


def test_gemm_opset9_and_integer() -> None:
    rng = np.random.default_rng(14)
    model = make_model("Gemm", {"a": (np.float32, ["M", 5])}, {"transB": 1},
                       inits={"b": rand(rng, 3, 5), "c": rand(rng, 3)}, opset=9)
    compare(model, [{"a": rand(rng, 2, 5)}, {"a": rand(rng, 6, 5)}], symbolic_out=(0,))
    # onnxruntime has no integer Gemm; the spec's formula in numpy is the reference.
    a, b = (rng.integers(-9, 9, s).astype(np.int32) for s in ((5, 2), (5, 3)))
    c = rng.integers(-9, 9, (3,)).astype(np.int32)
    ints = make_model("Gemm", {"a": (np.int32, [5, 2])}, {"transA": 1}, inits={"b": b, "c": c})
    (y,) = run(from_onnx(ints), [a])
    np.testing.assert_array_equal(y, a.T @ b + c)
    assert y.dtype == np.int32


MATMUL_CASES = [
    (["K"], ["K"]), ([4], [4, 3]), ([2, 4], [4]), (["N", 2, 4], [4, 3]),
    (["N", 1, 2, 4], [5, 4, 3]), ([4], ["N", 4, 3]), (["N", 2, 4], ["N", 4, 3]),
]


@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_CASES)
def test_matmul(a_shape: list[int | str], b_shape: list[int | str]) -> None:
    rng = np.random.default_rng(15)
    model = make_model("MatMul", {"a": (np.float32, a_shape), "b": (np.float32, b_shape)})
    feeds = []
    for n in (1, 3):
        def conc(s: list[int | str], n: int = n) -> list[int]:
            return [n if d in ("N", "K") else int(d) for d in s]
        feeds.append({"a": rand(rng, *conc(a_shape)), "b": rand(rng, *conc(b_shape))})
    compare(model, feeds)


def test_matmul_integer() -> None:
    rng = np.random.default_rng(16)
    b = rand(rng, 6, 3, dtype=np.int8)
    az = np.array(rng.integers(0, 255), np.uint8)
    bz = rng.integers(-128, 127, 3).astype(np.int8)  # per column of B
    model = make_model("MatMulInteger", {"a": (np.uint8, ["N", 4, 6])},
                       inits={"b": b, "az": az, "bz": bz})
    module = from_onnx(model)
    for n in (1, 2):
        a = rand(rng, n, 4, 6, dtype=np.uint8)
        (y,) = run(module, [a])
        # The exact integer product, not onnxruntime's: on AVX2 without VNNI its u8s8
        # kernel adds product pairs in saturating int16 (-18462 came out as -6359 here).
        want = (a.astype(np.int64) - int(az)) @ (b.astype(np.int64) - bz.astype(np.int64))
        np.testing.assert_array_equal(y, want.astype(np.int32))


def test_matmul_integer_per_row_a_zero_point() -> None:
    # The spec allows a 1-D a_zero_point (per row of A); onnxruntime does not.
    rng = np.random.default_rng(16)
    a, b = rand(rng, 4, 6, dtype=np.uint8), rand(rng, 6, 3, dtype=np.int8)
    az = rand(rng, 4, dtype=np.uint8)
    model = make_model("MatMulInteger", {"a": (np.uint8, [4, 6])}, inits={"b": b, "az": az})
    (y,) = run(from_onnx(model), [a])
    want = (a.astype(np.int64) - az.astype(np.int64)[:, None]) @ b.astype(np.int64)
    np.testing.assert_array_equal(y, want.astype(np.int32))


# --- Softmax, LogSoftmax, Dropout -------------------------------------------------------


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize(("opset", "axis"), [(13, -1), (13, 1), (13, 0), (11, 1), (11, -1),
                                             (11, 2), (9, None)])
def test_softmax(op: str, opset: int, axis: int | None) -> None:
    rng = np.random.default_rng(17)
    attrs = {} if axis is None else {"axis": axis}
    # Before opset 13 the axis coerces to 2-D: axis 1 of a 4-D input spans three dims.
    model = make_model(op, {"x": (np.float32, ["N", 3, 4, 5])}, attrs, opset=opset)
    compare(model, [{"x": rand(rng, n, 3, 4, 5) * 3} for n in (1, 2)], symbolic_out=(0,))


@pytest.mark.parametrize("opset", [7, 10, 12, 13])
def test_dropout_is_identity(opset: int) -> None:
    rng = np.random.default_rng(18)
    x = rand(rng, 2, 3, 4)
    if opset >= 12:
        model = make_model("Dropout", {"x": (np.float32, ["N", 3, 4])},
                           inits={"ratio": np.array(0.3, np.float32),
                                  "training": np.array(False)}, outputs=["y", "mask"], opset=opset)
        (y, mask), _ = compare(model, [{"x": x}, {"x": rand(rng, 1, 3, 4)}], exact=True)
    else:
        # onnxruntime's legacy Dropout kernels return an all-zero mask in inference; the
        # spec (and onnx's reference implementation) keep every element: all true.
        model = make_model("Dropout", {"x": (np.float32, ["N", 3, 4])}, {"ratio": 0.3},
                           outputs=["y", "mask"], opset=opset)
        compare(make_model("Dropout", {"x": (np.float32, ["N", 3, 4])}, {"ratio": 0.3},
                           opset=opset), [{"x": x}], exact=True)
        y, mask = run(from_onnx(model), [x])
    np.testing.assert_array_equal(y, x)
    assert mask.shape == x.shape and mask.all()
    assert mask.dtype == (np.bool_ if opset >= 10 else np.float32)


def test_dropout_training_is_rejected() -> None:
    model = make_model("Dropout", {"x": (np.float32, [2, 3])},
                       inits={"ratio": np.array(0.5, np.float32), "t": np.array(True)})
    with pytest.raises(FrontendError, match="inference"):
        from_onnx(model)


# --- errors and properties --------------------------------------------------------------


def test_conv_channel_mismatch_names_the_problem() -> None:
    model = make_model("Conv", {"x": (np.float32, [1, 4, 5, 5])},
                       inits={"w": np.zeros((2, 3, 3, 3), np.float32)})
    with pytest.raises(FrontendError, match="channels"):
        from_onnx(model)


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 40), kernel=st.integers(1, 5), stride=st.integers(1, 4),
       dilation=st.integers(1, 3), pads=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       ceil_mode=st.integers(0, 1),
       auto_pad=st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
def test_symbolic_window_extent_matches_concrete(size: int, kernel: int, stride: int,
                                                 dilation: int, pads: tuple[int, int],
                                                 ceil_mode: int, auto_pad: str) -> None:
    attrs = Attrs.of(kernel_shape=[kernel], strides=[stride], dilations=[dilation],
                     pads=list(pads), ceil_mode=ceil_mode, auto_pad=auto_pad)
    win = window_of(attrs, None, 1, "Pool")
    try:
        (concrete,) = output_dims(win, (size,))
    except OpError:
        return  # the window does not fit: nothing to compare
    (symbolic,) = output_dims(win, (sym.var("H"),))
    assert sym.evaluate(symbolic, {"H": size}) == concrete


@settings(max_examples=25, deadline=None)
@given(kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pads=st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)),
       ceil_mode=st.integers(0, 1), count_include_pad=st.integers(0, 1),
       seed=st.integers(0, 2**16))
def test_average_pool_matches_onnxruntime(kernel: tuple[int, int], stride: tuple[int, int],
                                          pads: tuple[int, ...], ceil_mode: int,
                                          count_include_pad: int, seed: int) -> None:
    # onnxruntime requires pads smaller than the kernel.
    pads = tuple(min(p, kernel[i % 2] - 1) for i, p in enumerate(pads))
    attrs = {"kernel_shape": list(kernel), "strides": list(stride), "pads": list(pads),
             "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    model = make_model("AveragePool", {"x": (np.float32, [1, 2, 7, 8])}, attrs)
    rng = np.random.default_rng(seed)
    compare(model, [{"x": rand(rng, 1, 2, 7, 8)}], rtol=1e-6, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pads=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
       group=st.sampled_from([1, 2, 4]), seed=st.integers(0, 2**16))
def test_conv_geometry_matches_onnxruntime(kernel: tuple[int, int], stride: tuple[int, int],
                                           dilation: tuple[int, int], pads: tuple[int, ...],
                                           group: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    attrs = {"strides": list(stride), "dilations": list(dilation), "pads": list(pads),
             "group": group}
    model = make_model("Conv", {"x": (np.float32, ["N", 4, "H", "W"])}, attrs,
                       inits={"w": rand(rng, 4, 4 // group, *kernel), "b": rand(rng, 4)})
    compare(model, [{"x": rand(rng, 2, 4, 7, 8)}, {"x": rand(rng, 1, 4, 9, 6)}])
