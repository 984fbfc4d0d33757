"""Symbolic integer expressions for shape dimensions.

A dimension is either a Python ``int`` or a :class:`Sym`. Every ``Sym`` is kept
in one canonical form — a polynomial over *atoms* (variables and the
non-polynomial operations ``//``, ``%``, ``min``, ``max`` over canonical
arguments) — so that two expressions that simplify to the same thing compare
equal with ``==`` and hash alike. Arithmetic between ``Dim`` values goes
through :func:`add`, :func:`mul`, ... (or the operators on ``Sym``) and always
returns a plain ``int`` when the result is constant, which keeps static shapes
static.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

Dim = Union[int, "Sym"]

# A monomial is a sorted tuple of atoms (repeated for powers); a term pairs a
# monomial with its integer coefficient. The constant term has monomial ().
Monomial = tuple["Atom", ...]


@dataclass(frozen=True, slots=True)
class Atom:
    """An indivisible factor: a variable or an opaque operation."""

    kind: str  # "var" | "floordiv" | "mod" | "min" | "max"
    name: str = ""
    args: tuple[Dim, ...] = ()

    def sort_key(self) -> str:
        return _atom_str(self)


@dataclass(frozen=True, slots=True)
class Sym:
    """A canonical polynomial over atoms; never a constant (that is an ``int``)."""

    terms: tuple[tuple[Monomial, int], ...]

    # Arithmetic operators delegate to the module functions so that int op Sym works.
    def __add__(self, other: Dim) -> Dim:
        return add(self, other)

    def __radd__(self, other: Dim) -> Dim:
        return add(other, self)

    def __sub__(self, other: Dim) -> Dim:
        return sub(self, other)

    def __rsub__(self, other: Dim) -> Dim:
        return sub(other, self)

    def __mul__(self, other: Dim) -> Dim:
        return mul(self, other)

    def __rmul__(self, other: Dim) -> Dim:
        return mul(other, self)

    def __floordiv__(self, other: Dim) -> Dim:
        return floordiv(self, other)

    def __rfloordiv__(self, other: Dim) -> Dim:
        return floordiv(other, self)

    def __mod__(self, other: Dim) -> Dim:
        return mod(self, other)

    def __rmod__(self, other: Dim) -> Dim:
        return mod(other, self)

    def __neg__(self) -> Dim:
        return mul(-1, self)

    def __str__(self) -> str:
        return to_str(self)

    def __repr__(self) -> str:
        return f"Sym({to_str(self)})"


def var(name: str) -> Sym:
    """A symbolic variable, e.g. ``var("N")`` for a batch dimension."""
    if not name.isidentifier():
        raise ValueError(f"symbolic variable name {name!r} is not an identifier")
    return Sym(((((Atom("var", name),)), 1),))


# --- canonical polynomial helpers -------------------------------------------------


def _poly(x: Dim) -> dict[Monomial, int]:
    if isinstance(x, int):
        return {(): x} if x else {}
    if isinstance(x, Sym):
        return dict(x.terms)
    raise TypeError(f"not a dimension: {x!r} ({type(x).__name__})")


def _from_poly(p: Mapping[Monomial, int]) -> Dim:
    items = [(m, c) for m, c in p.items() if c != 0]
    if not items:
        return 0
    if len(items) == 1 and items[0][0] == ():
        return items[0][1]
    # Deterministic order: higher degree first, then by printed atoms.
    items.sort(key=lambda mc: (-len(mc[0]), [a.sort_key() for a in mc[0]]))
    return Sym(tuple(items))


def _atom(kind: str, *args: Dim) -> Sym:
    return Sym((((Atom(kind, "", tuple(args)),), 1),))


def _as_int(x: Dim) -> int | None:
    return x if isinstance(x, int) else None


def add(a: Dim, b: Dim) -> Dim:
    p = _poly(a)
    for m, c in _poly(b).items():
        p[m] = p.get(m, 0) + c
    return _from_poly(p)


def sub(a: Dim, b: Dim) -> Dim:
    return add(a, mul(-1, b))


def mul(a: Dim, b: Dim) -> Dim:
    out: dict[Monomial, int] = {}
    for ma, ca in _poly(a).items():
        for mb, cb in _poly(b).items():
            m = tuple(sorted(ma + mb, key=Atom.sort_key))
            out[m] = out.get(m, 0) + ca * cb
    return _from_poly(out)


def _divide_monomial(p: dict[Monomial, int], dm: Monomial, dc: int) -> dict[Monomial, int] | None:
    """Exact division of every term by ``dc * dm``, or None if one term does not divide."""
    out: dict[Monomial, int] = {}
    for m, c in p.items():
        if c % dc:
            return None
        rest = list(m)
        for a in dm:
            if a not in rest:
                return None
            rest.remove(a)
        out[tuple(rest)] = c // dc
    return out


def _single_atom(p: Mapping[Monomial, int]) -> Atom | None:
    """The atom when the polynomial is exactly one atom with coefficient 1."""
    if len(p) == 1:
        ((m, c),) = p.items()
        if c == 1 and len(m) == 1:
            return m[0]
    return None


def floordiv(a: Dim, b: Dim) -> Dim:
    ia, ib = _as_int(a), _as_int(b)
    if ib == 0:
        raise ZeroDivisionError(f"symbolic floordiv by zero: {to_str(a)} // 0")
    if ia is not None and ib is not None:
        return ia // ib
    if ib == 1:
        return a
    if ib is not None and ib < 0:
        return floordiv(mul(-1, a), -ib)  # floor(a / -k) == floor(-a / k): one canonical form
    pa = _poly(a)
    if ib is not None and ib > 0:
        c0 = pa.get((), 0)
        nested = _single_atom({m: c for m, c in pa.items() if m != ()})
        if nested is not None and nested.kind == "floordiv":
            inner, k = nested.args
            if isinstance(k, int) and k > 0:
                # floor((floor(x / k) + c) / b) == floor((x + c*k) / (k*b)) for positive k, b:
                # keeps the shape expressions of deep CNNs short ((H-1)//4, not nested).
                return floordiv(add(inner, c0 * k), k * ib)
        # floor((c*q + r) / c) == q + floor(r / c) for integers; split off the divisible part.
        q = {m: c // ib for m, c in pa.items() if c % ib == 0}
        r = {m: c for m, c in pa.items() if c % ib != 0}
        if () in r:  # floor((x + q0*k + r0) / k) == q0 + floor((x + r0) / k), 0 <= r0 < k
            q[()] = q.get((), 0) + r[()] // ib
            r[()] %= ib
            if not r[()]:
                del r[()]
            q = {m: c for m, c in q.items() if c}
        if not r:
            return _from_poly(q)
        if q:
            return add(_from_poly(q), floordiv(_from_poly(r), ib))
        # floor(g*x / (g*k)) == floor(x / k): without this 2*N // 4 and N // 2 would differ.
        g = math.gcd(ib, *r.values())
        return _atom("floordiv", _from_poly({m: c // g for m, c in r.items()}), ib // g)
    pb = _poly(b)
    if len(pb) == 1:
        ((dm, dc),) = pb.items()
        if dc > 0:
            exact = _divide_monomial(pa, dm, dc)
            if exact is not None:
                return _from_poly(exact)
    return _atom("floordiv", a, b)


def mod(a: Dim, b: Dim) -> Dim:
    ia, ib = _as_int(a), _as_int(b)
    if ib == 0:
        raise ZeroDivisionError(f"symbolic mod by zero: {to_str(a)} % 0")
    if ia is not None and ib is not None:
        return ia % ib
    if ib in (1, -1):
        return 0
    if ib is not None and ib < 0:
        return mul(-1, mod(mul(-1, a), -ib))  # a % -k == -((-a) % k): one canonical form
    pa = _poly(a)
    if ib is not None and ib > 0:
        r = {m: c % ib for m, c in pa.items() if c % ib}
        rd = _from_poly(r)
        if isinstance(rd, int):
            return rd % ib
        # (g*x) % (g*k) == g * (x % k), so 2*N % 4 and 2*(N % 2) share one form.
        g = math.gcd(ib, *r.values())
        return mul(g, _atom("mod", _from_poly({m: c // g for m, c in r.items()}), ib // g))
    pb = _poly(b)
    if len(pb) == 1:
        ((dm, dc),) = pb.items()
        if dc > 0 and _divide_monomial(pa, dm, dc) is not None:
            return 0
    return _atom("mod", a, b)


def _minmax(kind: str, a: Dim, b: Dim) -> Dim:
    ia, ib = _as_int(a), _as_int(b)
    if ia is not None and ib is not None:
        return min(ia, ib) if kind == "min" else max(ia, ib)
    if a == b:
        return a
    d = sub(a, b)
    if isinstance(d, int):  # a and b differ by a constant: the order is known.
        a_smaller = d < 0
        return a if (a_smaller == (kind == "min")) else b
    x, y = sorted((a, b), key=to_str)  # commutative: canonical argument order
    return _atom(kind, x, y)


def smin(a: Dim, b: Dim) -> Dim:
    return _minmax("min", a, b)


def smax(a: Dim, b: Dim) -> Dim:
    return _minmax("max", a, b)


def simplify(x: Dim) -> Dim:
    """Return the canonical form (values are already canonical; this checks the type)."""
    _poly(x)
    return x


def equal(a: Dim, b: Dim) -> bool:
    """Equality up to simplification."""
    return sub(a, b) == 0


def free_vars(x: Dim) -> frozenset[str]:
    names: set[str] = set()

    def visit(d: Dim) -> None:
        for m, _ in _poly(d).items():
            for atom in m:
                if atom.kind == "var":
                    names.add(atom.name)
                for arg in atom.args:
                    visit(arg)

    visit(x)
    return frozenset(names)


def evaluate(x: Dim, env: Mapping[str, int]) -> int:
    """Evaluate with every free variable bound; raise KeyError naming a missing one."""
    total = 0
    for m, c in _poly(x).items():
        v = c
        for atom in m:
            v *= _eval_atom(atom, env)
        total += v
    return total


def substitute(x: Dim, env: Mapping[str, Dim]) -> Dim:
    """Replace variables by dimensions (ints or expressions) and re-simplify."""
    total: Dim = 0
    for m, c in _poly(x).items():
        v: Dim = c
        for atom in m:
            v = mul(v, _subst_atom(atom, env))
        total = add(total, v)
    return total


_OPS = {"floordiv": floordiv, "mod": mod, "min": smin, "max": smax}


def _eval_atom(atom: Atom, env: Mapping[str, int]) -> int:
    if atom.kind == "var":
        if atom.name not in env:
            raise KeyError(f"symbolic dimension '{atom.name}' is not bound")
        return int(env[atom.name])
    args = [evaluate(a, env) for a in atom.args]
    result = _OPS[atom.kind](*args)
    assert isinstance(result, int)
    return result


def _subst_atom(atom: Atom, env: Mapping[str, Dim]) -> Dim:
    if atom.kind == "var":
        return env.get(atom.name, Sym((((atom,), 1),)))
    return _OPS[atom.kind](*(substitute(a, env) for a in atom.args))


# --- printing ---------------------------------------------------------------------


def _atom_str(atom: Atom) -> str:
    if atom.kind == "var":
        return atom.name
    a, b = (to_str(x, nested=True) for x in atom.args)
    if atom.kind == "floordiv":
        return f"({a} // {b})"
    if atom.kind == "mod":
        return f"({a} % {b})"
    return f"{atom.kind}({to_str(atom.args[0])}, {to_str(atom.args[1])})"


def _term_str(m: Monomial, c: int) -> str:
    factors = "*".join(_atom_str(a) for a in m)
    if not factors:
        return str(abs(c))
    return factors if abs(c) == 1 else f"{abs(c)}*{factors}"


def to_str(x: Dim, nested: bool = False) -> str:
    if isinstance(x, int):
        return str(x)
    parts: list[str] = []
    for i, (m, c) in enumerate(x.terms):
        t = _term_str(m, c)
        if i == 0:
            parts.append(f"-{t}" if c < 0 else t)
        else:
            parts.append(f"- {t}" if c < 0 else f"+ {t}")
    s = " ".join(parts)
    return f"({s})" if nested and len(x.terms) > 1 else s


def static(d: Dim) -> int:
    """``d`` as an int where the caller knows it is concrete (an array's extent, a dim of a
    type checked static); a symbolic one there is a bug upstream, named in the error."""
    if isinstance(d, Sym):
        raise TypeError(f"expected a concrete extent, got {to_str(d)}")
    return int(d)


def is_static(dims: tuple[Dim, ...]) -> bool:
    return all(isinstance(d, int) for d in dims)


def product(dims: tuple[Dim, ...] | list[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = mul(out, d)
    return out
