"""The compute language: column-accurate errors, bit-exact references of the reference NPU."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendor_sdk.intrinsics.check import Axis, Operand
from vendor_sdk.intrinsics.lang import ExprError, format_expr, parse_compute
from vendor_sdk.intrinsics.reference import rshift_round
from vendor_sdk.intrinsics.semantics import SemanticsError, build_semantics
from vendor_sdk.target import load_target

REF = load_target("reference_npu/target.yaml")
I32_MIN, I32_MAX = -(2**31), 2**31 - 1


def run(name: str, variant: str = "", **inputs: object) -> np.ndarray:
    sem = REF.semantics[name]
    arrays = {op.name: np.asarray(inputs[op.name], dtype=op.dtype) for op in sem.inputs}
    return sem.reference(arrays, variant)


@pytest.mark.parametrize(("src", "col", "needle"), [
    ("C[m,n] = C[m,n] + sum(k, A[m,k] * B[k,n]", 41, "expected ')'"),
    ("C[m,n] = C[m,n] / 2", 17, "unexpected character '/'"),
    ("C[m,n] = foo(A[m,k])", 10, "unknown function 'foo'"),
    ("C[m,n] = A[m,k+1]", 15, "expected ']'"),
    ("C[m,n] = ", 10, "expected a value"),
    ("C[m,n] C[m,n]", 8, "expected '='"),
    ("C[m,n] = rshift_round(A[m,k], 1, nearest)", 34, "rounding mode"),
    ("C[m,n] = i8(1, 2)", 10, "takes one argument"),
    ("C[m,n] = 1 < 2 < 3", 16, "do not chain"),
])
def test_parse_errors_point_at_the_column(src: str, col: int, needle: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_compute(src)
    assert info.value.col == col and needle in info.value.message


GEMM_OPS = {"A": Operand("A", "int8", ("m", "k"), "input"),
            "B": Operand("B", "int8", ("k", "n"), "input"),
            "C": Operand("C", "int32", ("m", "n"), "inout")}
GEMM_AXES = {"m": Axis("m", 1, 16), "n": Axis("n", 4, 4), "k": Axis("k", 4, 4)}


@pytest.mark.parametrize(("src", "col", "needle"), [
    ("C[m,n] = C[m,n] + sum(k, A[m,k] * B[n,k])", 37, "dimension 0 of 'B'"),
    ("C[m,n] = C[m,n] + A[m,k]", 23, "free index 'k'"),
    ("C[m,n] = sum(q, A[m,k] * B[k,n])", 14, "unknown axis 'q'"),
    ("C[m,n] = sum(k, X[m,k])", 17, "unknown operand 'X'"),
    ("A[m,k] = A[m,k]", 1, "is an input"),
    ("C[m,n] = sum(n, A[m,k] * B[k,n])", 14, "cannot be reduced"),
    ("C[m,n] = sum(k, A[m,k] * B[k,n]) << C[m,n]", 37, "shift amount"),
    ("C[m,n] = sum(k, i64(C[m,n]) * C[m,n] * C[m,n] * B[k,n])", 38, "leave int64"),
])
def test_check_errors_point_at_the_column(src: str, col: int, needle: str) -> None:
    with pytest.raises(SemanticsError) as info:
        build_semantics("g", GEMM_OPS, GEMM_AXES, {}, src)
    hits = [e for _, e in info.value.errors if needle in e.message]
    assert hits and hits[0].col == col, info.value.errors


def test_gemm_matches_hand_computed_and_wraps() -> None:
    a = np.zeros((2, 8))
    a[0, :2] = [1, 2]
    a[1, :] = -128
    b = np.zeros((8, 8))
    b[0, 3], b[1, 3] = 5, 7  # B[k, n]: k is the input channel, n the output channel
    b[:, 0] = -128
    c = np.zeros((2, 8))
    c[0, 3], c[1, 0] = 100, I32_MAX
    out = run("gemm_i8_i32", A=a, B=b, C=c)
    assert out.dtype == np.int32
    assert out[0, 3] == 100 + 1 * 5 + 2 * 7
    assert out[0, 0] == 1 * -128 + 2 * -128
    assert out[1, 0] == I32_MAX + 8 * 128 * 128 - 2**32  # int32 accumulation wraps
    init = run("gemm_i8_i32", "init", A=a, B=b, C=c)
    assert init[1, 0] == 8 * 128 * 128 and init[0, 3] == 19


def test_requant_rounds_half_up_clamps_and_saturates() -> None:
    x = np.array([[5, -5, 3, -3, 1000, -1000, I32_MAX, 7]])
    mult = np.array([1, 1, 1, 1, 1, 1, I32_MAX, 1])
    shift = np.array([1, 1, 1, 1, 0, 0, 62, 63])
    out = run("requant_i32_i8_pc", X=x, mult=mult, shift=shift, zp=10, lo=-128, hi=127)
    # 2.5 -> 3, -2.5 -> -2, 1.5 -> 2, -1.5 -> -1 (halves go up), then + zp, clamp, int8
    assert out.tolist() == [[13, 8, 12, 9, 127, -128, 11, 10]]
    out = run("requant_i32_i8_pc", X=x, mult=mult, shift=shift, zp=0, lo=-5, hi=5)
    assert out.tolist() == [[3, -2, 2, -1, 5, -5, 1, 0]]


def test_requant_per_tensor_uses_one_descriptor() -> None:
    x = np.arange(-8, 8).reshape(2, 8) * 3
    out = run("requant_i32_i8", X=x, mult=3, shift=2, zp=-1, lo=-128, hi=127)
    want = [[(v * 3 + 2) // 4 - 1 for v in row] for row in x.tolist()]
    assert out.tolist() == want


@pytest.mark.parametrize(("name", "d", "s", "imm", "want"), [
    ("alu_add", I32_MAX, 1, None, I32_MIN),
    ("alu_sub", I32_MIN, 1, None, I32_MAX),
    ("alu_mul", 65536, 65536, None, 0),
    ("alu_mul", -3, 7, None, -21),
    ("alu_max", -5, -7, None, -5),
    ("alu_min", -5, -7, None, -7),
    ("alu_mov", 1, -9, None, -9),
    ("alu_relu", -5, None, None, 0),
    ("alu_relu", 5, None, None, 5),
    ("alu_add_imm", I32_MIN, None, -32768, I32_MAX - 32767),
    ("alu_shr_round_imm", -3, None, 1, -1),
    ("alu_shr_round_imm", 3, None, 1, 2),
    ("alu_shr_round_imm", -6, None, 2, -1),
    ("alu_shr_round_imm", -7, None, 0, -7),
    ("alu_shr_round_imm", I32_MAX, None, 31, 1),
    ("alu_shl_imm", 1, None, 31, I32_MIN),
    ("alu_shl_imm", 3, None, 31, I32_MIN),
    ("alu_shl_imm", -1, None, 4, -16),
])
def test_alu_intrinsics_hand_computed(name: str, d: int, s: int | None, imm: int | None,
                                      want: int) -> None:
    inputs: dict[str, object] = {"D": np.full((1, 8), d)}
    if s is not None:
        inputs["S"] = np.full((1, 8), s)
    if imm is not None:
        inputs["imm"] = imm
    out = run(name, **inputs)
    assert out.dtype == np.int32 and (out == want).all(), out


def _fsim_round_shift(p: int, s: int) -> int:
    """reference_npu/driver/fsim_ops.c round_shift, transcribed."""
    return p if s == 0 else (p >> s) + ((p >> (s - 1)) & 1)


def _fsim_requant(acc: int, mult: int, shift: int, zp: int, lo: int, hi: int) -> int:
    v = zp + _fsim_round_shift(acc * mult, shift & 63)
    v = min(max(v, lo), hi)
    return max(-128, min(127, v))


def test_requant_agrees_with_fsim_formula_on_generated_stimulus() -> None:
    sem = REF.semantics["requant_i32_i8_pc"]
    spec = REF.spec.intrinsics["requant_i32_i8_pc"].test
    for case in sem.cases(32, tuple(spec.corners), seed=3):
        got = sem.reference(case.inputs)
        i = case.inputs
        for (m, c), v in np.ndenumerate(got):
            want = _fsim_requant(int(i["X"][m, c]), int(i["mult"][c]), int(i["shift"][c]),
                                 int(i["zp"]), int(i["lo"]), int(i["hi"]))
            assert v == want, (case.name, m, c)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**62), 2**62), st.integers(0, 63))
def test_rshift_round_modes_match_exact_rationals(x: int, s: int) -> None:
    from fractions import Fraction

    q = Fraction(x, 2**s)
    floor = q.numerator // q.denominator
    frac = q - floor
    want = {"floor": floor, "trunc": int(q),
            "half_up": floor + (frac >= Fraction(1, 2)),
            "half_down": floor + (frac > Fraction(1, 2)),
            "half_even": floor + (frac > Fraction(1, 2) or (frac == Fraction(1, 2) and floor % 2)),
            "half_away": floor + (frac > Fraction(1, 2) or (frac == Fraction(1, 2) and x >= 0))}
    for mode, w in want.items():
        assert int(rshift_round(np.int64(x), np.int64(s), mode)) == w, mode
    assert int(rshift_round(np.int64(x), np.int64(s), "half_up")) == _fsim_round_shift(x, s)


def test_every_reference_intrinsic_runs_its_declared_stimulus() -> None:
    for name, sem in REF.semantics.items():
        spec = REF.spec.intrinsics[name].test
        for case in sem.cases(spec.random, tuple(spec.corners), spec.seed):
            for variant in sem.variants:
                out = sem.reference(case.inputs, variant)
                assert out.shape == tuple(case.extents[a] for a in sem.outputs[0].shape)


def test_loop_nest_describes_gemm_for_the_tensorizer() -> None:
    nest = REF.semantics["gemm_i8_i32"].loop_nest()
    assert nest.spatial == ("m", "n") and nest.reduce == ("k",)
    assert nest.accumulate and nest.output.scope == "acc"
    assert [(r.operand, r.indices, r.scope) for r in nest.reads] == [
        ("C", ("m", "n"), "acc"), ("A", ("m", "k"), "inp"), ("B", ("k", "n"), "wgt")]
    assert format_expr(nest.update) == "sum(k, (A[m,k] * B[k,n]))"
    init = REF.semantics["gemm_i8_i32"].loop_nest("init")
    assert not init.accumulate and format_expr(init.update) == format_expr(nest.update)
    assert [a.max for a in nest.axes] == [1023, 8, 8]


def test_stimulus_respects_ranges_and_corners() -> None:
    sem = REF.semantics["requant_i32_i8_pc"]
    rng = np.random.default_rng(0)
    ext = sem.pick_extents(rng)
    lo = sem.stimulus("min", ext, rng)
    assert (lo["shift"] == 0).all() and lo["zp"] == -128 and (lo["X"] == I32_MIN).all()
    hi = sem.stimulus("max", ext, rng)
    assert (hi["shift"] == 63).all() and hi["zp"] == 127
    for _ in range(5):
        r = sem.stimulus("random", sem.pick_extents(rng), rng)
        assert r["shift"].min() >= 0 and r["shift"].max() <= 63
        assert 1 <= r["X"].shape[0] <= 16 and r["X"].shape[1] == 8
