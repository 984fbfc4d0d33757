"""Index expressions simplified on loop ranges keep their value.

Random index-expression trees are evaluated three ways: as plain Python integers (the
reference: floor division, as the IR), through ``core.symbolic_ranges.simplify`` (the
algebra the generated C is printed from), and as the C text the emitter prints, run by
Python with ``vsdk_fdiv``/``vsdk_fmod`` as floor division. The point is drawn inside the
ranges the simplification was told about; a condition it decides must hold (or fail) there.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core import symbolic as sym
from core import symbolic_ranges as ranges
from core.schedule.common import to_dim
from core.tir.expr import Bin, Const, Expr, Var, binop
from vendor_sdk.codegen.cexpr import Facts, c_text, decide, evaluate

NAMES = ("a", "b", "t", "e")

# A tree: an int, a variable name, or (op, left, right); divisors are positive constants
# (index math divides by tile sizes).
Tree = Any

_leaf = st.one_of(st.integers(-20, 20), st.sampled_from(NAMES))
_ops = st.sampled_from(("+", "-", "*", "//", "%"))


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    arith = st.tuples(st.sampled_from(("+", "-", "*")), children, children)
    div = st.tuples(st.sampled_from(("//", "%")), children, st.integers(1, 64))
    mm = st.tuples(st.sampled_from(("min", "max")), children, children)
    return st.one_of(arith, div, mm)


trees = st.recursive(_leaf, _extend, max_leaves=10)
# Ranges as loops give them (0 .. extent - 1), or any interval.
intervals = st.one_of(st.integers(1, 80).map(lambda n: (0, n - 1)),
                      st.tuples(st.integers(-30, 30), st.integers(0, 60)).map(
                          lambda p: (p[0], p[0] + p[1])))


def _expr(t: Tree) -> Expr:
    if isinstance(t, int):
        return Const(t)
    if isinstance(t, str):
        return Var(t)
    op, a, b = t
    return binop(op, _expr(a), _expr(b) if not isinstance(b, int) else Const(b))


def _points(data: st.DataObject, rng: dict[str, tuple[int, int]]) -> list[dict[str, int]]:
    return [{v: data.draw(st.integers(lo, hi)) for v, (lo, hi) in rng.items()}
            for _ in range(6)]


def _run_c(text: str, env: dict[str, int]) -> int:
    """The printed C evaluated by Python: ``&&`` and ``!`` spelled in Python, the two
    runtime helpers as floor division, INT64_C as the identity."""
    py = text.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    ns = {"vsdk_fdiv": lambda x, y: x // y, "vsdk_fmod": lambda x, y: x % y,
          "INT64_C": lambda x: x, **env}
    return int(eval(py, ns))  # our own printed arithmetic


@settings(max_examples=150, deadline=None)
@given(trees, st.fixed_dictionaries({v: intervals for v in NAMES}), st.data())
def test_simplify_keeps_values_on_ranges(t: Tree, rng: dict[str, tuple[int, int]],
                                         data: st.DataObject) -> None:
    e = _expr(t)
    d = to_dim(e)
    assert d is not None
    s = ranges.simplify(d, rng)
    lo, hi = ranges.interval(s, rng)
    for env in _points(data, rng):
        want = evaluate(e, env)
        assert sym.evaluate(s, env) == want, (sym.to_str(d), sym.to_str(s), env)
        assert lo <= want <= hi


@settings(max_examples=150, deadline=None)
@given(st.recursive(_leaf, lambda c: st.one_of(
           st.tuples(st.sampled_from(("+", "-", "*")), c, c),
           st.tuples(st.sampled_from(("//", "%")), c, st.integers(1, 64))), max_leaves=8),
       trees, st.sampled_from(("<", "<=", ">", ">=", "==", "!=")),
       st.fixed_dictionaries({v: intervals for v in NAMES}), st.data())
def test_printed_c_and_decided_conditions(t: Tree, u: Tree, op: str,
                                          rng: dict[str, tuple[int, int]],
                                          data: st.DataObject) -> None:
    e = _expr(t)
    cond = Bin("and", Bin(op, e, _expr(u)), Bin(">=", e, Const(-5)))
    facts = Facts(rng)
    text, verdict = c_text(e, facts), decide(cond, facts)
    for env in _points(data, rng):
        assert _run_c(text, env) == evaluate(e, env), (text, env)
        if verdict is not None:
            assert bool(evaluate(cond, env)) == verdict, (c_text(cond, facts), env)
        elif "?" not in (ctext := c_text(cond, facts)):  # min/max print as ternaries
            assert bool(_run_c(ctext, env)) == bool(evaluate(cond, env)), (ctext, env)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 3), st.integers(-3, 3), st.data())
def test_symbolic_extent_decides_guards(n: int, extra: int, k: int,
                                        data: st.DataObject) -> None:
    """Inside ``for (t = 0; t < N; t++)``, ``t + extra < N + k`` holds for every t exactly
    when extra <= k (the largest t is N - 1; N itself is unbounded, so it never fails
    everywhere): decided True exactly then, else left to run time."""
    t, big_n = Var("t"), Var("N")
    cond = Bin("<", binop("+", t, Const(extra)), binop("+", big_n, Const(k)))
    facts = Facts({"t": (0, math.inf)}, {"t": sym.var("N")})
    verdict = decide(cond, facts)
    assert verdict is (True if extra <= k else None)
    env = {"N": n, "t": data.draw(st.integers(0, n - 1))}
    if verdict is not None:
        assert bool(evaluate(cond, env)) == verdict


def test_known_forms() -> None:
    """The forms the generated C used to carry, and what they read now."""
    s_n, t_p, e_p = Var("s_n"), Var("t_p"), Var("e_p")
    facts = Facts({"s_n": (0, 3), "t_p": (0, 48), "e_p": (0, 63)})
    assert c_text(binop("//", binop("*", s_n, Const(8)), Const(8)), facts) == "s_n"
    flat = binop("+", binop("*", t_p, Const(64)), e_p)
    assert decide(Bin("<", flat, Const(3136)), facts) is True  # 49 tiles of 64 cover 3136
    assert c_text(Bin("<", flat, Const(3100)), facts) == "64 * t_p + e_p < 3100"
    ox = binop("+", binop("*", binop("%", binop("//", flat, Const(56)), Const(56)),
                          Const(2)), Const(-1))
    assert c_text(Bin(">=", ox, Const(0)), facts) == "2 * vsdk_fdiv(64 * t_p + e_p, 56) >= 1"
