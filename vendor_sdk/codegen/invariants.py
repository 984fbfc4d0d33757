"""Loop-invariant floor divisions and modulos, declared once per loop with a readable name.

A tiled layer's index expressions divide outer loop variables again and again: a 3x3
conv's weight rows, input rows and GEMM operands all read ``vsdk_fdiv(t_k, 3)`` and
``vsdk_fmod(t_k, 2)`` inside loops that do not change ``t_k``. Where such a term is
printed inside a loop that does not change it, it is declared once at the top of the
loop that binds its innermost variable, and printed as its name everywhere inside that
loop::

    for (int64_t t_k = 0; t_k < 9; t_k++) {
        const int64_t t_k_mod2 = vsdk_fmod(t_k, 2);
        const int64_t t_k_div3 = vsdk_fdiv(t_k, 3);
        ...
            for (int64_t A_load_m = 0; A_load_m < 64; A_load_m++) {
                ... 64 * t_k_mod2 + A_load_m ...

A term that varies in the loop where it is printed stays in full there (naming it would
only move it one line up). Only loop variables count as bound: a term of a size argument
(``N``) or of a name declared inside a loop body (``iy``) stays where it is. The values
are the same integers computed earlier: the C's results do not change.

Names say what a term is: ``t_k_div3``, ``t_k_div2_mod3``; an argument over the tile and
element loops of one axis (``64 * t_p + e_p``, the flat pixel index split by the
schedule) is named by the axis: ``p_div55``. A name is never reused for another term in
the same function (so an inner declaration never shadows an outer one) nor taken from
the function's own names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core import symbolic as sym
from vendor_sdk.codegen.cexpr import c_atom, c_name

_HOISTED = ("floordiv", "mod")
# tile / element / sub-tile loop of one axis (vendor_sdk.intrinsics.tensorize_build,
# codegen.lower_gemm, codegen.elementwise): t_p, e_p, s_p
_SPLIT = re.compile(r"[tes]_(\w+)")
_DECLARED = re.compile(r"\s*const int64_t (\w+) = ")


def term_name(atom: sym.Atom) -> str:
    """A readable C name of a floor division or modulo (not yet made unique)."""
    x, k = atom.args
    return f"{_stem(x)}_{'div' if atom.kind == 'floordiv' else 'mod'}{_stem(k)}"


def _stem(d: sym.Dim) -> str:
    if isinstance(d, int):
        return str(d) if d >= 0 else f"m{-d}"
    ((m, c), *rest) = d.terms
    if not rest and c == 1 and len(m) == 1:
        a = m[0]
        if a.kind == "var":
            return c_name(a.name)
        if a.kind in _HOISTED:
            return term_name(a)
    names = sorted(sym.free_vars(d))
    axes = {s.group(1) if (s := _SPLIT.fullmatch(n)) else None for n in names}
    if len(axes) == 1 and None not in axes:
        return c_name(str(axes.pop()))
    return "_".join(c_name(n) for n in names) or "k"


@dataclass(slots=True)
class _Body:
    """The body of an open C loop: where its next declaration goes and what it declared."""

    var: str    # the loop variable
    start: int  # index of its first line in the writer's lines
    at: int     # index of its next declaration (they are its first lines)
    pad: str    # the body's indentation
    names: dict[sym.Atom, str] = field(default_factory=dict)


class Invariants:
    """The declarations of one function's loops, written into its ``lines`` as terms are
    printed (:meth:`name` is the printer's hook: cexpr.Facts.named)."""

    def __init__(self, lines: list[str], taken: Iterable[str] = ()) -> None:
        self.lines = lines
        self.taken = set(taken)                # the function's own names
        self._given: dict[str, sym.Atom] = {}  # every name declared, and its term
        self._bodies: list[_Body | None] = []  # per open loop; None: not a C loop
        self._declaring = False

    def open(self, var: str, printed: bool, pad: str) -> None:
        """A loop opened; ``pad`` indents its body, which starts at the next line."""
        self.taken.add(c_name(var))
        at = len(self.lines)
        self._bodies.append(_Body(var, at, at, pad) if printed else None)

    def close(self) -> None:
        """The innermost loop ends (its last line is written): declarations nothing in
        it reads are dropped (a term printed into text the emitter did not keep, e.g.
        an operand view the emit snippet does not use), later ones first (they may
        read earlier ones, never the other way round)."""
        body = self._bodies.pop()
        if body is None:
            return
        for k in reversed(range(body.start, body.at)):
            name = _DECLARED.match(self.lines[k])
            assert name is not None, self.lines[k]
            used = re.compile(rf"\b{name[1]}\b")
            if not any(used.search(ln) for ln in self.lines[k + 1:]):
                del self.lines[k]

    def name(self, atom: sym.Atom) -> str | None:
        """The name ``atom`` is printed as here (declared now if it is new), or None."""
        if atom.kind not in _HOISTED:
            return None
        free = sym.free_vars(sym.Sym((((atom,), 1),)))
        bodies = [b for b in self._bodies if b is not None]
        if not free or not free <= {b.var for b in bodies}:
            return None
        home = next(b for b in reversed(bodies) if b.var in free)
        if atom in home.names:
            return home.names[atom]
        # a term of the innermost loop's own variable varies where it is printed; the
        # parts of a term being declared are declared (or named) with it
        if home is bodies[-1] and not self._declaring:
            return None
        name = self._fresh(term_name(atom), atom)
        was, self._declaring = self._declaring, True
        try:
            text = c_atom(atom, self.name)  # its parts first: they go in above it
        finally:
            self._declaring = was
        self.lines.insert(home.at, f"{home.pad}const int64_t {name} = {text};")
        home.at += 1
        k = next(i for i, b in enumerate(self._bodies) if b is home)
        for b in self._bodies[k + 1:]:  # the bodies inside it moved down a line
            if b is not None:
                b.start, b.at = b.start + 1, b.at + 1
        home.names[atom] = name
        return name

    def _fresh(self, base: str, atom: sym.Atom) -> str:
        name, n = base, 1
        while name in self.taken or self._given.get(name, atom) != atom:
            n += 1
            name = f"{base}_{n}"
        self._given[name] = atom
        return name
