"""Symbolic dimensions simplified under known variable ranges.

:mod:`core.symbolic` simplifies what holds for every integer value of its variables
(``(8*n) // 8 == n``). Generated code knows more: inside ``for (e = 0; e < 16; e++)``,
``e // 16`` is 0 and ``(e + 16*t) // 48`` is ``t // 3``. :func:`simplify` rewrites the
``//``, ``%``, ``min`` and ``max`` atoms of a dimension with such facts, each an exact
identity on the ranges given, so the result has the same value wherever they hold.

A range is inclusive, ``(lo, hi)``; ``math.inf`` / ``-math.inf`` stand for no bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from core.symbolic import (
    Atom,
    Dim,
    Sym,
    add,
    floordiv,
    mod,
    mul,
    smax,
    smin,
    sub,
)

Bound = int | float  # an int, or +-math.inf
Interval = tuple[Bound, Bound]
Ranges = Mapping[str, Interval]
UNBOUNDED: Interval = (-math.inf, math.inf)


def _terms(x: Dim) -> dict[tuple[Atom, ...], int]:
    if isinstance(x, int):
        return {(): x} if x else {}
    return dict(x.terms)


def _times(a: Bound, b: Bound) -> Bound:
    return 0 if a == 0 or b == 0 else a * b  # 0 * inf is 0 here: the factor is exactly 0


def _mul(a: Interval, b: Interval) -> Interval:
    ends = [_times(x, y) for x in a for y in b]
    return min(ends), max(ends)


def _floor_div(x: Bound, k: int) -> Bound:
    return x if math.isinf(x) else int(x) // k


def interval(x: Dim, ranges: Ranges) -> Interval:
    """Lowest and highest value of ``x`` over the ranges (variables not in them: any)."""
    lo: Bound = 0
    hi: Bound = 0
    for m, c in _terms(x).items():
        iv: Interval = (c, c)
        for atom in m:
            iv = _mul(iv, _atom_interval(atom, ranges))
        lo, hi = lo + iv[0], hi + iv[1]
    return lo, hi


def _atom_interval(atom: Atom, ranges: Ranges) -> Interval:
    if atom.kind == "var":
        return ranges.get(atom.name, UNBOUNDED)
    a, b = atom.args
    if not isinstance(b, int):
        return UNBOUNDED
    lo, hi = interval(a, ranges)
    if atom.kind == "floordiv" and b > 0:
        return _floor_div(lo, b), _floor_div(hi, b)
    if atom.kind == "mod" and b > 0:
        q = _floor_div(lo, b)
        if not math.isinf(q) and q == _floor_div(hi, b):
            return lo - q * b, hi - q * b
        return 0, b - 1
    if atom.kind in ("min", "max"):
        other = interval(b, ranges)
        pick = min if atom.kind == "min" else max
        return pick(lo, other[0]), pick(hi, other[1])
    return UNBOUNDED


def simplify(x: Dim, ranges: Ranges) -> Dim:
    """``x`` with its atoms rewritten by what ``ranges`` imply (same value on them)."""
    total: Dim = 0
    for m, c in _terms(x).items():
        v: Dim = c
        for atom in m:
            v = mul(v, _simplify_atom(atom, ranges))
        total = add(total, v)
    return total


def _simplify_atom(atom: Atom, ranges: Ranges) -> Dim:
    if atom.kind == "var":
        lo, hi = ranges.get(atom.name, UNBOUNDED)
        return int(lo) if lo == hi else Sym((((atom,), 1),))  # a one-value loop: a constant
    a, b = (simplify(x, ranges) for x in atom.args)
    if atom.kind in ("floordiv", "mod") and isinstance(b, int) and b > 0:
        return _div_mod(atom.kind, a, b, ranges)
    if atom.kind in ("min", "max"):
        lo, hi = interval(sub(a, b), ranges)
        if hi <= 0:  # a <= b everywhere
            return a if atom.kind == "min" else b
        if lo >= 0:
            return b if atom.kind == "min" else a
        return (smin if atom.kind == "min" else smax)(a, b)
    return floordiv(a, b) if atom.kind == "floordiv" else mod(a, b)


def _div_mod(kind: str, a: Dim, k: int, ranges: Ranges) -> Dim:
    """``a // k`` or ``a % k`` (k > 0) by the largest g dividing k such that
    ``a = S + R`` with every coefficient of S a multiple of g and ``0 <= R < g`` on the
    ranges: then ``a // k == S // k`` and ``a % k == S % k + R`` (write S = g*s, k = g*q:
    ``(g*s + R) / (g*q)`` lies in ``[s/q, (s+1)/q)``, which holds no multiple of 1/q
    past s/q; the remainder likewise)."""
    lo, hi = interval(a, ranges)
    q = _floor_div(lo, k)
    if not math.isinf(q) and q == _floor_div(hi, k):  # one quotient on the whole range
        return int(q) if kind == "floordiv" else sub(a, int(q) * k)
    terms = _terms(a)
    for g in _divisors(k):
        s = {m: c for m, c in terms.items() if m and c % g == 0}
        c0 = terms.get((), 0)
        s[()] = c0 - c0 % g
        r = sub(a, _from_terms(s))
        rlo, rhi = interval(r, ranges)
        shift = _floor_div(rlo, g)
        if math.isinf(shift) or shift != _floor_div(rhi, g):
            continue
        s[()] += int(shift) * g  # R in [shift*g, (shift+1)*g): move shift*g into S
        r = sub(r, int(shift) * g)
        if r == 0:
            continue  # nothing to drop with this g
        whole = _from_terms(s)
        if kind == "floordiv":
            inner = floordiv(whole, k)
        else:
            inner = add(mod(whole, k), r)
        return simplify(inner, ranges)  # S // k may simplify further (S's own ranges)
    return floordiv(a, k) if kind == "floordiv" else mod(a, k)


def _divisors(k: int) -> list[int]:
    """Divisors of ``k`` above 1, largest first."""
    small = [d for d in range(1, math.isqrt(k) + 1) if k % d == 0]
    return sorted({*small, *(k // d for d in small)} - {1}, reverse=True)


def _from_terms(terms: Mapping[tuple[Atom, ...], int]) -> Dim:
    total: Dim = 0
    for m, c in terms.items():
        v: Dim = c
        for atom in m:
            v = mul(v, Sym((((atom,), 1),)))
        total = add(total, v)
    return total
