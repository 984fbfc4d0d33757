"""Symbolic dims: simplification is sound, canonical forms compare equal, printing is stable.

The property tests build random expression trees twice — once through
``core.symbolic`` (which simplifies as it goes) and once as plain Python
integer arithmetic after binding the variables — and require the same integer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import symbolic as sym
from core.symbolic import Dim

N, M, K = sym.var("N"), sym.var("M"), sym.var("K")
NAMES = ("N", "M", "K")

# An expression tree: an int, a variable name, or (op, left, right).
Tree = Any

_SYM: dict[str, Callable[[Dim, Dim], Dim]] = {
    "+": sym.add, "-": sym.sub, "*": sym.mul, "//": sym.floordiv, "%": sym.mod,
    "min": sym.smin, "max": sym.smax,
}
_INT: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "//": lambda a, b: a // b, "%": lambda a, b: a % b, "min": min, "max": max,
}

_leaf = st.one_of(st.integers(-6, 6), st.sampled_from(NAMES))
# Divisors stay non-zero under any binding of the variables to positive integers.
_divisor = st.one_of(
    st.integers(1, 6),
    st.integers(-6, -1),
    st.sampled_from(NAMES),
    st.tuples(st.just("+"), st.sampled_from(NAMES), st.integers(0, 3)),
    st.tuples(st.just("*"), st.sampled_from(NAMES), st.integers(1, 3)),
)


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "min", "max"]), children, children),
        st.tuples(st.sampled_from(["//", "%"]), children, _divisor),
    )


trees = st.recursive(_leaf, _extend, max_leaves=8)
bindings = st.fixed_dictionaries({n: st.integers(1, 9) for n in NAMES})


def build(t: Tree) -> Dim:
    if isinstance(t, int):
        return t
    if isinstance(t, str):
        return sym.var(t)
    op, a, b = t
    return _SYM[op](build(a), build(b))


def direct(t: Tree, env: dict[str, int]) -> int:
    if isinstance(t, int):
        return t
    if isinstance(t, str):
        return env[t]
    op, a, b = t
    return _INT[op](direct(a, env), direct(b, env))


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(trees, bindings)
def test_simplification_is_sound(t: Tree, env: dict[str, int]) -> None:
    assert sym.evaluate(build(t), env) == direct(t, env)


@settings(max_examples=150, deadline=None)
@given(trees, bindings)
def test_substitute_all_variables_gives_the_integer(t: Tree, env: dict[str, int]) -> None:
    assert sym.substitute(build(t), env) == direct(t, env)


@settings(max_examples=150, deadline=None)
@given(trees, trees, bindings)
def test_partial_substitution_commutes_with_evaluation(a: Tree, b: Tree,
                                                       env: dict[str, int]) -> None:
    expr = sym.add(build(a), sym.mul(build(b), N))
    partial = sym.substitute(expr, {"N": env["N"], "M": sym.add(K, 1)})
    shifted = {**env, "M": env["K"] + 1}
    assert sym.evaluate(partial, env) == sym.evaluate(expr, shifted)


@settings(max_examples=150, deadline=None)
@given(trees, trees, trees)
def test_ring_laws_hold_structurally(a: Tree, b: Tree, c: Tree) -> None:
    x, y, z = build(a), build(b), build(c)
    assert sym.add(x, y) == sym.add(y, x)
    assert sym.mul(x, y) == sym.mul(y, x)
    assert sym.add(sym.add(x, y), z) == sym.add(x, sym.add(y, z))
    assert sym.mul(sym.add(x, y), z) == sym.add(sym.mul(x, z), sym.mul(y, z))
    assert sym.sub(x, x) == 0
    assert hash(sym.add(x, y)) == hash(sym.add(y, x))
    assert sym.equal(sym.smin(x, y), sym.smin(y, x))


@settings(max_examples=100, deadline=None)
@given(trees)
def test_printing_is_deterministic_and_names_the_variables(t: Tree) -> None:
    e = build(t)
    assert sym.to_str(e) == sym.to_str(build(t))
    for name in sym.free_vars(e):
        assert name in sym.to_str(e)


# --- unit tests ------------------------------------------------------------------------------


def test_constants_stay_ints() -> None:
    assert sym.sub(N, N) == 0 and isinstance(sym.sub(N, N), int)
    assert sym.mul(N, 0) == 0
    assert sym.floordiv(sym.mul(N, 6), sym.mul(N, 3)) == 2
    assert sym.mod(sym.mul(N, 6), 3) == 0
    assert sym.product([2, 3, 4]) == 24


def test_equality_up_to_simplification() -> None:
    assert (N + 1) * (N - 1) == N * N - 1
    assert sym.equal(2 * N + M - N, M + N)
    assert N + 1 != N
    assert sym.floordiv(4 * N + 2, 2) == 2 * N + 1
    assert sym.floordiv(48 * N, N) == 48
    assert sym.floordiv(N * M * 12, 4 * M) == 3 * N
    assert sym.smin(N, N + 1) == N and sym.smax(N, N - 2) == N
    assert sym.smin(N, M) == sym.smin(M, N)


def test_floordiv_and_mod_reduce_common_factors() -> None:
    # floor(2N / 4) == floor(N / 2); the canonical form must not depend on how it was written.
    assert sym.floordiv(2 * N, 4) == sym.floordiv(N, 2)
    assert sym.mod(2 * N, 4) == 2 * sym.mod(N, 2)
    assert sym.floordiv(6 * N + 3, 9) == sym.floordiv(2 * N + 1, 3)
    # A negative divisor has one canonical form too: floor(a / -k) == floor(-a / k).
    assert sym.floordiv(N, -2) == sym.floordiv(-N, 2)
    assert sym.mod(N, -3) == -sym.mod(-N, 3)
    assert sym.mod(N + 2, -1) == 0


def test_printing() -> None:
    assert sym.to_str(2 * N + 1) == "2*N + 1"
    assert sym.to_str(3 - N) == "-N + 3"
    assert sym.to_str(N * M - 3) == "M*N - 3"
    assert sym.to_str(sym.floordiv(N + 1, 2)) == "((N + 1) // 2)"
    assert sym.to_str(sym.mod(N, 3)) == "(N % 3)"
    assert sym.to_str(sym.smax(N, M)) == "max(M, N)"
    assert str(N * N) == "N*N" and repr(N) == "Sym(N)"


def test_free_vars_see_inside_atoms() -> None:
    assert sym.free_vars(sym.floordiv(N + M, K)) == {"N", "M", "K"}
    assert sym.free_vars(7) == frozenset()


def test_errors_name_the_problem() -> None:
    with pytest.raises(ZeroDivisionError):
        sym.floordiv(N, 0)
    with pytest.raises(ZeroDivisionError):
        sym.mod(N, 0)
    with pytest.raises(KeyError, match="'M' is not bound"):
        sym.evaluate(N + M, {"N": 1})
    with pytest.raises(ValueError, match="identifier"):
        sym.var("not a name")
    with pytest.raises(TypeError):
        sym.add(N, 1.5)  # type: ignore[arg-type]
