"""auto_tensorize maps conv/dense/batch-matmul and operators nobody wrote a kernel for onto
the reference NPU's GEMM, bit-exactly; when nothing fits, each candidate says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorize_programs import conv1d, conv1d_ref, conv2d_int, conv2d_ref, dense

from core.lower.nn import matmul
from core.tir import Buffer, Const, PrimFunc, call, check, func_str
from core.tir.stmt import IntrinCall
from core.tir.visit import walk_stmt
from vendor_sdk.intrinsics.check import Axis, Operand
from vendor_sdk.intrinsics.semantics import build_semantics
from vendor_sdk.intrinsics.tensor_intrin import tensor_intrin
from vendor_sdk.intrinsics.tensorize import auto_tensorize
from vendor_sdk.intrinsics.tensorize_match import Mismatch, match
from vendor_sdk.target.load import load_target

TARGET = load_target(Path(__file__).parents[2] / "reference_npu" / "target.yaml")
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _i8(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def _calls(f: PrimFunc) -> int:
    return sum(isinstance(s, IntrinCall) for s in walk_stmt(f.body))


def _tensorized(f: PrimFunc, **kw: object) -> PrimFunc:
    r = auto_tensorize(f, TARGET, **kw)  # type: ignore[arg-type]
    assert r.ok, r.explain()
    assert r.intrinsic == "gemm_i8_i32" and r.func is not None and _calls(r.func)
    return check(r.func)


@SETTINGS
@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 24),
       sym=st.booleans(), seed=st.integers(0, 99))
def test_dense_random_shapes_keep_results(m: int, k: int, n: int, sym: bool, seed: int) -> None:
    f = dense("M" if sym else m, k, n)
    g = _tensorized(f, sizes={"M": 64})
    rng = np.random.default_rng(seed)
    a, b = _i8(rng, m, k), _i8(rng, k, n)
    np.testing.assert_array_equal(call(g, [a, b])[0], call(f, [a, b])[0], func_str(g))


@pytest.mark.parametrize(("n", "ci", "hw", "co", "k", "stride", "pad", "group", "bias"), [
    (1, 16, 8, 16, 3, 1, 1, 1, True),
    (2, 8, 7, 24, 3, 2, 1, 1, False),
    (1, 3, 9, 8, 5, 2, 2, 1, True),     # 3 input channels: k = 75, padded to the array
    (1, 16, 6, 16, 3, 1, 0, 2, False),  # groups: oc indexes X through its group
    (1, 8, 5, 12, 1, 1, 0, 1, False),   # pointwise
])
def test_conv2d_matches_reference_executor(n: int, ci: int, hw: int, co: int, k: int,
                                           stride: int, pad: int, group: int,
                                           bias: bool) -> None:
    f = conv2d_int(n, ci, hw, hw, co, k, stride, pad, group, bias)
    g = _tensorized(f)
    rng = np.random.default_rng(ci * hw + co)
    x, w = _i8(rng, n, ci, hw, hw), _i8(rng, co, ci // group, k, k)
    ins = [x, w] + ([rng.integers(-9999, 9999, co).astype(np.int32)] if bias else [])
    got = call(g, ins)[0]
    np.testing.assert_array_equal(got, call(f, ins)[0])
    np.testing.assert_array_equal(got, conv2d_ref(x, w, stride, pad, group,
                                                  ins[2] if bias else None))


def test_conv2d_symbolic_batch_handles_the_remainder_at_run_time() -> None:
    f = conv2d_int("N", 8, 6, 6, 16, 3, 1, 1)
    g = _tensorized(f, sizes={"N": 4})
    rng = np.random.default_rng(5)
    w = _i8(rng, 16, 8, 3, 3)
    for batch in (1, 3):
        x = _i8(rng, batch, 8, 6, 6)
        np.testing.assert_array_equal(call(g, [x, w])[0], conv2d_ref(x, w, 1, 1, 1))


def test_batch_matmul_and_transposed_operand() -> None:
    a = Buffer("A", "int8", (Const(3), Const(10), Const(12)))
    b = Buffer("B", "int8", (Const(3), Const(12), Const(9)))
    c = Buffer("C", "int32", (Const(3), Const(10), Const(9)))
    bmm = check(PrimFunc("bmm", (a, b, c), matmul(a, b, c, "int32")))
    rng = np.random.default_rng(7)
    x, y = _i8(rng, 3, 10, 12), _i8(rng, 3, 12, 9)
    np.testing.assert_array_equal(call(_tensorized(bmm), [x, y])[0],
                                  np.matmul(x.astype(np.int32), y.astype(np.int32)))
    # A @ B^T: B is read as B[n, k]; the staging copy transposes the tile.
    bt = Buffer("BT", "int8", (Const(9), Const(12)))
    a2 = Buffer("A2", "int8", (Const(10), Const(12)))
    c2 = Buffer("C2", "int32", (Const(10), Const(9)))
    from core.tir import Block, Load, Store

    f = check(PrimFunc("mm_t", (a2, bt, c2), matmul(a2, bt, c2, "int32")))
    blk = next(s for s in walk_stmt(f.body) if isinstance(s, Block))
    assert isinstance(blk.body, Store)
    from core.tir.visit import map_stmt

    def transpose(e: object) -> object | None:
        if isinstance(e, Load) and e.buffer.name == "BT":
            return Load(bt, (e.indices[1], e.indices[0]))
        return None

    f = check(f.with_body(map_stmt(f.body, expr_fn=transpose)))  # type: ignore[arg-type]
    x2, yt = _i8(rng, 10, 12), _i8(rng, 9, 12)
    np.testing.assert_array_equal(call(_tensorized(f), [x2, yt])[0],
                                  x2.astype(np.int32) @ yt.astype(np.int32).T)


@SETTINGS
@given(n=st.integers(3, 40), k=st.integers(1, 5), p=st.integers(0, 2), sym=st.booleans(),
       seed=st.integers(0, 99))
def test_conv1d_nobody_wrote_a_kernel_for(n: int, k: int, p: int, sym: bool, seed: int) -> None:
    if n + 2 * p < k:
        return
    f = conv1d("N" if sym else n, k, p)
    g = _tensorized(f, sizes={"N": 32})
    rng = np.random.default_rng(seed)
    x, w = _i8(rng, n), _i8(rng, k)
    np.testing.assert_array_equal(call(g, [x, w])[0], conv1d_ref(x, w, p))


def test_search_is_deterministic_and_meets_memories() -> None:
    f = conv2d_int(1, 32, 14, 14, 64, 3, 1, 1)
    r1, r2 = auto_tensorize(f, TARGET, seed=3), auto_tensorize(f, TARGET, seed=3)
    assert r1.plan == r2.plan and r1.trace == r2.trace
    assert any("fused = 288" in t for t in r1.trace), r1.trace


def _wrong_gemm(compute: str, a_dtype: str = "int8", a_axes: tuple[str, str] = ("m", "k")
                ) -> object:
    ops = {"A": Operand("A", a_dtype, a_axes, "input", None, "inp"),
           "B": Operand("B", "int8", ("k", "n"), "input", None, "wgt"),
           "C": Operand("C", "int32", ("m", "n"), "inout", None, "acc")}
    axes = {"m": Axis("m", 1, 64), "n": Axis("n", 8, 8), "k": Axis("k", 8, 8)}
    return tensor_intrin(build_semantics("bad_gemm", ops, axes, {}, compute))


def test_mismatch_messages_name_the_failing_condition() -> None:
    f = dense(16, 16, 16)
    with pytest.raises(Mismatch, match=r"program computes 'i32\(A\[vi, vk\]\) \* i32\(B\[vk, "
                                       r"vj\]\)' where bad_gemm computes"):
        match(f, _wrong_gemm("C[m,n] = C[m,n] + sum(k, A[m,k] - B[k,n])"))
    with pytest.raises(Mismatch, match=r"int16.*a cast differs|\(int16\)") as e:
        match(f, _wrong_gemm("C[m,n] = C[m,n] + sum(k, A[m,k] * B[k,n])", "int16"))
    assert e.value.fix
    with pytest.raises(Mismatch, match=r"spatial variable vj indexes \['B', 'C'\]; no spatial "
                                       r"axis of bad_gemm indexes exactly those"):
        match(f, _wrong_gemm("C[m,n] = C[m,n] + sum(k, A[m,n] * B[k,n])", a_axes=("m", "n")))


def test_float_conv_stays_on_the_host_with_reasons() -> None:
    fx = Buffer("X", "float32", (Const(4), Const(8)))
    fw = Buffer("W", "float32", (Const(8), Const(8)))
    fy = Buffer("Y", "float32", (Const(4), Const(8)))
    f = check(PrimFunc("fmm", (fx, fw, fy), matmul(fx, fw, fy)))
    r = auto_tensorize(f, TARGET)
    assert not r.ok and r.func is None
    assert "accumulates float32" in r.reasons["gemm_i8_i32"]
    assert "fix:" in r.reasons["gemm_i8_i32"] and "stays on the host" in r.explain()


def test_results_are_memoized_per_target_object() -> None:
    f = dense(16, 24, 8)
    first = auto_tensorize(f, TARGET)  # type: ignore[arg-type]
    assert auto_tensorize(f, TARGET) is first  # type: ignore[arg-type]
    # An equal program built again hits the memo too (frozen IR compares by value).
    assert auto_tensorize(dense(16, 24, 8), TARGET) is first  # type: ignore[arg-type]
    other = load_target(Path(__file__).parents[2] / "reference_npu" / "target.yaml")
    fresh = auto_tensorize(f, other)  # type: ignore[arg-type]
    assert fresh is not first
    assert func_str(fresh.func) == func_str(first.func)  # deterministic search
