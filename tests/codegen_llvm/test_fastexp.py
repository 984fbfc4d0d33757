"""The inline float32 exp (core.codegen_llvm.fastexp): accuracy against float64 exp over
the whole range that does not round to 0 or inf, subnormal results, and the edges."""

from __future__ import annotations

import numpy as np
import pytest

from core.codegen_llvm import compile_func, emit_ir, mathlib
from core.tir import Block, Buffer, For, IterVar, Load, PrimFunc, Store, Var
from core.tir.expr import Unary

N = Var("n")
BOUND_ULP = 1.3  # measured maximum 1.25 ulp (docs/host_codegen.md)


def _exp_func(dtype: str = "float32", name: str = "exp_test") -> PrimFunc:
    a, o = Buffer("a", dtype, (N,)), Buffer("o", dtype, (N,))
    i, v = Var("i"), Var("v")
    return PrimFunc(name, (a, o), For(i, N, Block("b", (IterVar(v, N),), (i,), Store(
        o, (v,), Unary("exp", Load(a, (v,)))))))


def _ulps(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|got - exp(x)| in units of the float32 spacing at exp(x) (finite results only)."""
    exact = np.exp(x.astype(np.float64))
    spacing = np.spacing(exact.astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


@pytest.fixture(params=[True, False], ids=["ldexp", "two_multiplies"])
def scalef(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways of scaling by 2^n, whatever this host has (the cache keys on the program
    text, so each variant gets its own function name)."""
    monkeypatch.setattr(mathlib, "has_scalef", lambda: request.param)
    return bool(request.param)


def test_accuracy_over_the_finite_range(scalef: bool) -> None:
    x = np.linspace(-103.9, 88.72, 2_000_003).astype(np.float32)
    got = compile_func(_exp_func(name=f"exp_{scalef}"))(x)[0]
    err = _ulps(got, x)
    assert err.max() <= BOUND_ULP, (x[err.argmax()], got[err.argmax()])
    # and it is a real exp, not a coarse one: most results are correctly rounded
    assert np.mean(got == np.exp(x.astype(np.float64)).astype(np.float32)) > 0.7


def test_small_arguments_and_every_exponent(scalef: bool) -> None:
    bits = np.arange(0, 0x3F800000, 997, dtype=np.uint32)  # all magnitudes below 1
    x = np.concatenate([bits.view(np.float32), -bits.view(np.float32)])
    got = compile_func(_exp_func(name=f"exp_{scalef}"))(x)[0]
    assert _ulps(got, x).max() <= BOUND_ULP


def test_edges(scalef: bool) -> None:
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 88.7228, 88.72284, 89.0, 1e30,
                  -87.3, -103.9, -103.97, -104.0, -1e30], np.float32)
    got = compile_func(_exp_func(name=f"exp_{scalef}"))(x)[0]
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got, want)  # NaN == NaN here; inf and 0 exactly


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_no_libm_call_for_float32(dtype: str) -> None:
    """float16 computes in float32 (as numpy does) and takes the same inline code."""
    text = emit_ir(_exp_func(dtype))
    assert "expf" not in text and "llvm.fma" in text
    if mathlib.has_scalef():  # AVX-512: one vscalefps per vector, not a libm call
        assert "llvm.ldexp" in text
    x = np.linspace(-10, 10, 1001).astype(dtype)
    got = compile_func(_exp_func(dtype))(x)[0]
    np.testing.assert_allclose(got, np.exp(x), rtol=1e-3)


def test_float64_keeps_libm() -> None:
    assert "tir_exp" in emit_ir(_exp_func("float64"))
