"""Find a target's requantization intrinsic by what its `compute` says, not by name.

The SDK knows no vendor's intrinsic names. A requantization is recognised
structurally: ``Y = clamp(zp + rshift_round(X * mult, shift, mode), lo, hi)``
(operands in either order of ``+`` and ``*``), X int32 on chip, Y int8 on chip,
``mult``/``shift`` per channel (shape [c]) for per-channel use. The roles
tell the code generator which descriptor param gets which value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.intrinsics.lang import Access, Binary, Call, Name
from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.target import Target


@dataclass(frozen=True, slots=True)
class RequantForm:
    intrinsic: str
    x: str
    y: str
    mult: str
    shift: str
    zp: str
    lo: str
    hi: str
    mode: str
    per_channel: bool
    descriptor: tuple[str, ...]  # descriptor params in declaration order


class HasSemantics(Protocol):
    """What the role finders read of a target: its intrinsics' semantics (a Target, or
    validate's view of a pattern's `tensorize` list)."""

    @property
    def semantics(self) -> Mapping[str, Semantics]: ...


_RESTRICTED: dict[tuple[int, tuple[str, ...]], tuple[Target, Target]] = {}


def restrict(target: Target, names: Sequence[str]) -> Target:
    """The target as a pattern's ``lower: {tensorize: [...]}`` list sees it: only the listed
    intrinsics. Whatever picks an intrinsic (the tensorizer, the requantization and ALU
    roles below, the bias-fill move) then chooses among those alone, so a list that cannot
    lower a composite is a CodegenError (its nodes go back to the host with the reason),
    never a silent substitution. One view per (target, list): the tensorizer memoizes per
    target object."""
    key = (id(target), tuple(names))
    hit = _RESTRICTED.get(key)
    if hit is not None and hit[0] is target:
        return hit[1]
    sems = target.semantics
    unknown = [n for n in names if n not in sems]
    if unknown:
        raise CodegenError(f"lower: tensorize lists {unknown}, which target "
                           f"{target.name} does not define")
    view = dataclasses.replace(target, semantics={n: s for n, s in sems.items()
                                                  if n in names})
    if len(_RESTRICTED) >= 64:
        _RESTRICTED.clear()
    _RESTRICTED[key] = (target, view)
    return view


def _operand(e: object) -> str | None:
    if isinstance(e, Access):
        return e.operand
    if isinstance(e, Name):
        return e.name
    return None


def requant_form(name: str, sem: Semantics) -> RequantForm | None:
    st = sem.statements[""]
    v = st.value
    if not (isinstance(v, Call) and v.func == "clamp" and len(v.args) == 3):
        return None
    add, lo, hi = v.args
    if not (isinstance(add, Binary) and add.op == "+"):
        return None
    found = next(((z, r) for z, r in ((add.lhs, add.rhs), (add.rhs, add.lhs))
                  if isinstance(r, Call) and r.func == "rshift_round" and len(r.args) == 3), None)
    if found is None:
        return None
    zp, rs = found
    prod, shift, mode = rs.args
    if not (isinstance(prod, Binary) and prod.op == "*" and isinstance(mode, Name)):
        return None
    ops = sem.operands
    a, b = _operand(prod.lhs), _operand(prod.rhs)
    x, mult = (a, b) if a is not None and a in ops and ops[a].dtype == "int32" \
        and ops[a].shape else (b, a)
    found_names = [x, mult, _operand(shift), _operand(zp), _operand(lo), _operand(hi)]
    names = [n for n in found_names if n is not None and n in ops]
    if len(names) != len(found_names):
        return None
    y = st.target.operand if isinstance(st.target, Access) else None
    if y is None or ops[y].dtype != "int8":
        return None
    x_, mult_, shift_, zp_, lo_, hi_ = names
    desc = tuple(n for n in ops if n not in (x_, y))
    return RequantForm(name, x_, y, mult_, shift_, zp_, lo_, hi_, mode.name,
                       bool(ops[mult_].shape), desc)


def find_requant(target: HasSemantics, candidates: list[str] | None = None,
                 per_channel: bool = True) -> RequantForm:
    sems = target.semantics
    names = list(dict.fromkeys([*(candidates or []), *sorted(sems)]))  # the pattern's first
    for n in names:
        if n in sems and (f := requant_form(n, sems[n])) and f.per_channel == per_channel:
            return f
    kind = "per-channel" if per_channel else "per-tensor"
    raise CodegenError(f"no {kind} requantization intrinsic among {names} (a statement "
                       "Y = clamp(zp + rshift_round(X * mult, shift, mode), lo, hi))")


def _is_self(e: object, out: str) -> bool:
    return isinstance(e, Access) and e.operand == out


def alu_form(sem: Semantics) -> tuple[str, str, str] | None:
    """(op, other operand, output) of ``D = D op S`` / ``D = max|min(D, S)`` statements;
    op in + - * max min; the other operand is an on-chip row operand or a scalar param."""
    st = sem.statements[""]
    out = st.target.operand if isinstance(st.target, Access) else None
    v = st.value
    if out is None:
        return None
    if isinstance(v, Binary) and v.op in "+-*":
        pairs = [(v.lhs, v.rhs)] + ([(v.rhs, v.lhs)] if v.op != "-" else [])
    elif isinstance(v, Call) and v.func in ("max", "min") and len(v.args) == 2:
        pairs = [(v.args[0], v.args[1]), (v.args[1], v.args[0])]
    else:
        return None
    op = v.op if isinstance(v, Binary) else v.func
    for a, b in pairs:
        if _is_self(a, out) and (n := _operand(b)) is not None and n != out:
            return op, n, out
    return None


def find_alu(target: HasSemantics, op: str, immediate: bool,
             prefer: list[str] | None = None) -> str:
    """An intrinsic computing ``D = D op S`` (S on chip) or ``D = D op imm``."""
    sems = target.semantics
    names = [*(prefer or []), *sorted(sems)]
    for n in names:
        if n not in sems:
            continue
        f = alu_form(sems[n])
        if f is None or f[0] != op:
            continue
        other = sems[n].operands[f[1]]
        if bool(other.scope) != (not immediate) or bool(other.shape) == immediate:
            continue
        return n
    what = "an immediate" if immediate else "an on-chip operand"
    raise CodegenError(f"no intrinsic computes D = D {op} S with S {what}")


def find_move(target: HasSemantics, prefer: list[str] | None = None) -> tuple[str, str, str] | None:
    """(intrinsic, destination, source) of one computing ``D = S`` between two operands of
    the same on-chip memory and dtype, or None when the target has none."""
    sems = target.semantics
    for n in [*(prefer or []), *sorted(sems)]:
        if n not in sems:
            continue
        st, ops = sems[n].statements[""], sems[n].operands
        out = st.target.operand if isinstance(st.target, Access) else None
        src = _operand(st.value) if isinstance(st.value, Access) else None
        if out is None or src is None or src == out or not ops[src].shape:
            continue
        if (ops[src].scope, ops[src].dtype) == (ops[out].scope, ops[out].dtype):
            return n, out, src
    return None
