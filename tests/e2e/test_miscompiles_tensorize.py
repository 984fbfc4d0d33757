"""Regressions of tensorized layers and host code that gave wrong results (issue 12, items
4-7), each run as a user does: `vendor-sdk run` on an onnxruntime-quantized model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from e2e.test_conv_offload import assert_offloaded_and_close
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

import reference_npu
import vendor_sdk.intrinsics.tensorize as tensorize
from core.tir.expr import Const, Load, Var, cast, const
from core.tir.stmt import Block, Buffer, For, IterVar, PrimFunc, Store
from core.tir.verify import check
from vendor_sdk.cli import app
from vendor_sdk.intrinsics.cost import estimate
from vendor_sdk.intrinsics.search import Searched
from vendor_sdk.intrinsics.tensorize_build import Plan
from vendor_sdk.runtime.examples import dense_model
from vendor_sdk.runtime.quantize import quantize


def target_variant(dst: Path, **params: int) -> Path:
    """The reference NPU with some ``params:`` changed (its RTL and templates shared)."""
    src = Path(reference_npu.__file__).parent
    dst.mkdir(parents=True)
    shutil.copytree(src / "templates", dst / "templates")  # templates stay inside
    for d in ("rtl", "driver"):
        (dst / d).symlink_to(src / d)
    text = (src / "target.yaml").read_text()
    for k, v in params.items():
        text, n = re.subn(rf"^  {k}: \d+", f"  {k}: {v}", text, flags=re.M)
        assert n == 1, k
    (dst / "target.yaml").write_text(text)
    return dst / "target.yaml"


def force_gemm_tiles(monkeypatch: pytest.MonkeyPatch, **tiles: int) -> None:
    """Make the tensorizer take these GEMM tiles (the rest of its best plan kept): tiles
    the cost model may pick for other shapes, forced onto a small layer."""
    search = tensorize.search

    def forced(m: object, *args: object) -> Searched:
        found = search(m, *args)  # type: ignore[arg-type]
        if found.plan is None or "gemm" not in m.intrin.name:  # type: ignore[attr-defined]
            return found
        plan = Plan(tuple((dict(found.plan.tiles) | tiles).items()), found.plan.order, ())
        return Searched(plan, estimate(m, plan, args[1], args[2]),  # type: ignore[arg-type]
                        found.considered, "")

    monkeypatch.setattr(tensorize, "search", forced)
    tensorize._MEMO.clear()


@pytest.mark.parametrize("acc_rows", [512, 640, 2048])
def test_bias_fill_of_a_tile_partial_in_rows_and_lanes(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       acc_rows: int) -> None:
    """M = 300 rows in tiles of 64 and N = 100 (104 padded) channels in tiles of 16: the
    last tile's bias fill has one guard over rows and lanes. It moved bias rows for lane
    blocks past N, from beyond the rows reserved for the bias (SRAM_RANGE at the top of
    the accumulator, another constant's rows below it)."""
    target = target_variant(tmp_path / "npu", ACC_ROWS=acc_rows)
    model = quantize(dense_model(tmp_path / "d.onnx", 300, 40, 100), tmp_path / "d.int8.onnx")
    force_gemm_tiles(monkeypatch, m=64, n=16)
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(tmp_path / "cache"))
    try:
        assert_offloaded_and_close(str(model), "--target", str(target))
    finally:
        tensorize._MEMO.clear()
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)


def _float_model(path: Path, nodes: list, inputs: dict[str, list], outputs: dict[str, int],
                 inits: dict[str, np.ndarray]) -> Path:
    g = helper.make_graph(nodes, path.stem,
                          [helper.make_tensor_value_info(k, TensorProto.FLOAT, s)
                           for k, s in inputs.items()],
                          [helper.make_tensor_value_info(k, t, None) for k, t in outputs.items()],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def _run_ok(model: Path, feeds: dict[str, np.ndarray], tmp_path: Path) -> str:
    """`vendor-sdk run MODEL --inputs feeds.npz`: exit 0 (every output agrees with
    onnxruntime, every host op with the reference executor); its output."""
    np.savez(tmp_path / "feeds.npz", **feeds)  # type: ignore[arg-type]
    res = CliRunner().invoke(app, ["run", str(model), "--inputs", str(tmp_path / "feeds.npz")])
    assert res.exit_code == 0, res.output
    assert "FAIL" not in res.output, res.output
    return res.output


def test_host_matmul_with_empty_reduction_is_bias(tmp_path: Path) -> None:
    """MatMul [3, 0] x [0, 4] + b on the host: the reduction is empty, so the block's init
    (at its first reduce iteration) never ran and the output was whatever memory held."""
    model = _float_model(tmp_path / "k0.onnx",
                         [helper.make_node("MatMul", ["x", "w"], ["m"]),
                          helper.make_node("Add", ["m", "b"], ["y"])],
                         {"x": [3, 0]}, {"y": TensorProto.FLOAT},
                         {"w": np.zeros((0, 4), np.float32),
                          "b": np.arange(1, 5, dtype=np.float32)})
    out = _run_ok(model, {"x": np.zeros((3, 0), np.float32)}, tmp_path)
    assert "ok vs onnxruntime: y" in out


@pytest.mark.parametrize("k", [0, 3])
def test_host_matmul_with_symbolic_reduction(tmp_path: Path, k: int) -> None:
    """K symbolic: the zero fill runs only when K is 0 at run time."""
    model = _float_model(tmp_path / "ks.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"])],
                         {"x": [3, "K"], "w": ["K", 4]}, {"y": TensorProto.FLOAT}, {})
    rng = np.random.default_rng(k)
    feeds = {"x": rng.random((3, k), np.float32), "w": rng.random((k, 4), np.float32)}
    assert "ok vs onnxruntime: y" in _run_ok(model, feeds, tmp_path)


def _nan_input(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.random(shape, np.float32)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, flat.size // 6, replace=False)] = np.nan
    flat[:3] = [np.nan, np.inf, -np.inf]
    return x


def test_nan_input_of_a_quantized_model_saturates_like_onnxruntime(tmp_path: Path) -> None:
    """onnxruntime's QuantizeLinear turns NaN into the type's minimum (-128); ours cast
    the NaN left by the clamp (0 on x86), so every NaN pixel entered the NPU as the wrong
    value."""
    from vendor_sdk.runtime.examples import conv_model

    model = quantize(conv_model(tmp_path / "c.onnx", 8, 10, 16, 3, 1), tmp_path / "c.int8.onnx")
    out = _run_ok(model, {"x": _nan_input((1, 8, 10, 10), 0)}, tmp_path)
    assert "offloaded: 1/1" in out


def test_nan_through_host_ops_as_onnxruntime(tmp_path: Path) -> None:
    """NaN propagates through Relu, Clip, Max, Min and Softmax, saturates to the minimum in
    QuantizeLinear, and never wins an ArgMax / ArgMin unless it comes first."""
    f, i8, u8, i64 = TensorProto.FLOAT, TensorProto.INT8, TensorProto.UINT8, TensorProto.INT64
    outs = {"relu": f, "clip": f, "max": f, "min": f, "soft": f, "q": i8, "qu": u8,
            "amax": i64, "amin": i64, "amaxl": i64}
    nodes = [helper.make_node("Relu", ["x"], ["relu"]),
             helper.make_node("Clip", ["x", "lo", "hi"], ["clip"]),
             helper.make_node("Max", ["x", "c"], ["max"]),
             helper.make_node("Min", ["x", "c"], ["min"]),
             helper.make_node("Softmax", ["x"], ["soft"]),
             helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("QuantizeLinear", ["x", "s", "zu"], ["qu"]),
             helper.make_node("ArgMax", ["x"], ["amax"], axis=1),
             helper.make_node("ArgMin", ["x"], ["amin"], axis=1),
             helper.make_node("ArgMax", ["x"], ["amaxl"], axis=1, select_last_index=1)]
    inits = {"lo": np.array(0.1, np.float32), "hi": np.array(0.6, np.float32),
             "c": np.array(0.3, np.float32), "s": np.array(0.01, np.float32),
             "z": np.array(-5, np.int8), "zu": np.array(200, np.uint8)}
    model = _float_model(tmp_path / "nan.onnx", nodes, {"x": [6, 16]}, outs, inits)
    x = _nan_input((6, 16), 1)
    x[1, 0] = 0.75  # a row led by a number, with NaN later, and a repeated maximum
    x[1, 5] = 0.75
    out = _run_ok(model, {"x": x}, tmp_path)
    assert all(f"ok vs onnxruntime: {k}" in out for k in outs), out


def test_nan_disagreement_is_a_failure(tmp_path: Path) -> None:
    """ReduceMax over NaN is not one function in onnxruntime (its vectorised loop keeps or
    drops a NaN by position); ours propagates it as numpy does. The difference must
    fail the run: a NaN difference passed every tolerance and the run printed ok."""
    model = _float_model(tmp_path / "rmax.onnx",
                         [helper.make_node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=0)],
                         {"x": [8, 16]}, {"y": TensorProto.FLOAT}, {})
    x = np.random.default_rng(2).random((8, 16), np.float32)
    x[:, 15] = np.nan  # a last-lane NaN: onnxruntime keeps the maximum of the numbers
    np.savez(tmp_path / "feeds.npz", x=x)
    res = CliRunner().invoke(app, ["run", str(model), "--inputs", str(tmp_path / "feeds.npz")])
    assert res.exit_code == 1, res.output
    assert "FAIL vs onnxruntime: y" in res.output


def _dense_symbolic_lanes() -> PrimFunc:
    """C[16, N] = A[16, 16] B[16, N] in int32, N symbolic: the lane axis of B and C."""
    n = Var("N")
    a = Buffer("A", "int8", (Const(16), Const(16)))
    b = Buffer("B", "int8", (Const(16), n))
    c = Buffer("C", "int32", (Const(16), n))
    i, j, r, vi, vj, vk = (Var(x) for x in ("i", "j", "r", "vi", "vj", "vk"))
    upd = cast("int32", Load(a, (vi, vk))) * cast("int32", Load(b, (vk, vj)))
    blk = Block("C", (IterVar(vi, Const(16)), IterVar(vj, n), IterVar(vk, Const(16), "reduce")),
                (i, j, r), Store(c, (vi, vj), Load(c, (vi, vj)) + upd),
                init=Store(c, (vi, vj), const(0, "int32")))
    return check(PrimFunc("dense", (a, b, c), For(i, Const(16), For(j, n, For(r, Const(16),
                                                                              blk)))))


@pytest.mark.parametrize("hint", [11, 16])
def test_symbolic_lane_extent_is_refused_at_every_hint(hint: int) -> None:
    """A symbolic extent on the lane axis: the last tile's lane guard holds for whole rows of
    DIM lanes only when N is a multiple of DIM. With a hint of 16 the emitter's sample
    check passed and a run with N = 11 stored whole rows past C (fsim's range check caught
    it when C was the last buffer in DRAM); now any hint is refused, with the fix."""
    from vendor_sdk.codegen.cexpr import CodegenError
    from vendor_sdk.codegen.nest import emit_prim_func
    from vendor_sdk.target.load import load_target

    target = load_target(Path(reference_npu.__file__).parent / "target.yaml")
    res = tensorize.auto_tensorize(_dense_symbolic_lanes(), target, sizes={"N": hint})
    assert res.ok and res.func is not None
    with pytest.raises(CodegenError, match="symbolic N: rows of 8 lanes fit only at multiples"):
        emit_prim_func(res.func, target, {"A": "A", "B": "B", "C": "C"}, {"N": hint})
