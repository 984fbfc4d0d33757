"""core.tir TensorIntrins from an intrinsic's declared semantics.

One source of truth: the YAML ``compute`` statement (or a variant) becomes
the description loop nest the tensorizer matches, and the impl that runs an
IntrinCall is the same statement's numpy reference. Nothing is restated.

The statement language computes exactly (int64) and applies the overflow
rule once, at the assignment. The description says the same thing in the
IR's typed arithmetic:

* a ``wrap`` statement built only from ``+ - *`` (and casts, sums, loads)
  is computed in the output dtype, each narrower operand widened by a Cast —
  arithmetic modulo 2^bits commutes with wrapping, so this is exact, and it
  is the form integer programs are written in (``C + i32(A) * i32(B)``);
* anything else is computed in int64 and cast (after a clamp for
  ``saturate``) at the end, which is exact by the checker's int64 proof.

A ``sum`` must be the whole right-hand side or the added term of
``out = out + ...``: that is a reduction block (with an init for the plain
form, matching the IR's first-iteration init), the only shape a block has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from core.errors import VendorSdkError
from core.tir.expr import Bin, Cast, Const, Expr, Load, RShiftRound, Select, Var, binop, const
from core.tir.expr import cast as tcast
from core.tir.stmt import Block, Buffer, For, IterVar, PrimFunc, Stmt, Store, TensorIntrin
from vendor_sdk.intrinsics.check import DTYPES, Operand
from vendor_sdk.intrinsics.lang import (
    Access,
    Binary,
    Call,
    Name,
    Num,
    Sum,
    Unary,
)
from vendor_sdk.intrinsics.lang import Cast as LCast
from vendor_sdk.intrinsics.lang import Expr as LExpr
from vendor_sdk.intrinsics.semantics import Semantics

if TYPE_CHECKING:  # vendor_sdk.target imports this package: no cycle at run time
    from vendor_sdk.target import Target

RING = ("+", "-", "*")


class IntrinsicFormError(VendorSdkError):
    """A statement that has no loop-nest description (e.g. a sum inside a clamp)."""


def extent_var(axis: str) -> Var:
    """The size variable of a variable-extent axis in an intrinsic description."""
    return Var(f"ext_{axis}")


def _ring_only(e: LExpr) -> bool:
    match e:
        case Binary(op, a, b):
            return op in RING and _ring_only(a) and _ring_only(b)
        case Unary(_, a) | LCast(_, a):
            return _ring_only(a)
        case Sum(_, body):
            return _ring_only(body)
        case Call():
            return False
    return True


def _strip_sums(e: LExpr) -> tuple[LExpr, list[str]]:
    axes: list[str] = []
    while isinstance(e, Sum):
        axes.append(e.axis.axis)
        e = e.body
    return e, axes


def _has_sum(e: LExpr) -> bool:
    match e:
        case Sum():
            return True
        case Binary(_, a, b):
            return _has_sum(a) or _has_sum(b)
        case Unary(_, a) | LCast(_, a):
            return _has_sum(a)
        case Call(_, args):
            return any(_has_sum(a) for a in args)
    return False


class _ToTir:
    def __init__(self, bufs: Mapping[str, Buffer], iv: Mapping[str, Var],
                 params: Mapping[str, int], dtype: str) -> None:
        self.bufs, self.iv, self.params, self.dtype = bufs, iv, params, dtype

    def __call__(self, e: LExpr) -> Expr:
        dt = self.dtype
        match e:
            case Num(v):
                return const(v, dt)
            case Name(n) if n in self.params:
                return const(self.params[n], dt)
            case Name(n):
                return tcast(dt, Load(self.bufs[n], ()))
            case Access(name, idx):
                return tcast(dt, Load(self.bufs[name], tuple(self.iv[i.axis] for i in idx)))
            case Unary(_, a):
                return Bin("-", const(0, dt), self(a))
            case LCast(to, a):
                return tcast(dt, Cast(to, self(a)))
            case Binary(op, a, b):
                va, vb = self(a), self(b)
                if op in ("<", "<=", ">", ">=", "==", "!="):
                    return tcast(dt, Bin(op, va, vb))
                return Bin(op, va, vb)
            case Call("rshift_round", (x, s, Name(mode))):
                return RShiftRound(self(x), self(s), mode)
            case Call("clamp", (x, lo, hi)):
                return binop("min", binop("max", self(x), self(lo)), self(hi))
            case Call("min" | "max" as fn, args):
                out = self(args[0])
                for a in args[1:]:
                    out = binop(fn, out, self(a))
                return out
            case Call("select", (c, a, b)):
                return Select(Bin("!=", self(c), const(0, dt)), self(a), self(b))
            case Sum():
                raise IntrinsicFormError("a sum inside a larger expression has no block form; "
                                         "write `out = sum(...)` or `out = out + sum(...)`")
        raise IntrinsicFormError(f"cannot describe {e!r}")


def _param_order(sem: Semantics) -> list[Operand]:
    ins = [o for o in sem.operands.values() if o.kind == "input"]
    return ins + [o for o in sem.operands.values() if o.kind != "input"]


def describe(sem: Semantics, variant: str = "") -> PrimFunc:
    """The description loop nest of one statement of ``sem`` (see the module docstring)."""
    nest = sem.loop_nest(variant)
    stmt = sem.statements[variant]
    extents: dict[str, Expr] = {
        a.name: Const(a.min) if a.min == a.max else extent_var(a.name) for a in nest.axes}
    for a in sem.axes.values():  # axes only some operand uses (a broadcast lane)
        extents.setdefault(a.name, Const(a.min) if a.min == a.max else extent_var(a.name))
    bufs = {o.name: Buffer(o.name, o.dtype, tuple(extents[x] for x in o.shape),
                           o.scope or "global") for o in _param_order(sem)}
    out = bufs[nest.output.operand]
    iv = {a.name: Var(a.name) for a in nest.axes}  # iteration variables are the axes
    loops = {a.name: Var(f"l_{a.name}") for a in nest.axes}
    value = stmt.value
    update = nest.update
    body_expr, red = _strip_sums(update)
    if _has_sum(body_expr) or (red and not isinstance(update, Sum)):
        raise IntrinsicFormError(f"{sem.name}: a sum inside a larger expression has no block "
                                 "form")
    exact = sem.overflow == "wrap" and _ring_only(value)
    work = out.dtype if exact else "int64"
    conv = _ToTir(bufs, iv, sem.params, work)
    idx = tuple(iv[a] for a in nest.output.indices)
    cur = Load(out, idx)
    init: Stmt | None = None
    rhs: Expr
    if nest.accumulate:
        rhs = Bin("+", tcast(work, cur), conv(body_expr))
    elif red:
        rhs = Bin("+", tcast(work, cur), conv(body_expr))
        init = Store(out, idx, const(0, out.dtype))
    else:
        rhs = conv(value)
    if not exact and sem.overflow == "saturate":
        lo, hi = DTYPES[out.dtype]
        rhs = binop("min", binop("max", rhs, const(lo, work)), const(hi, work))
    block = Block(f"{sem.name}{'_' + variant if variant else ''}",
                  tuple(IterVar(iv[a.name], extents[a.name], a.kind) for a in nest.axes),
                  tuple(loops[a.name] for a in nest.axes),
                  Store(out, idx, tcast(out.dtype, rhs)), init)
    body: Stmt = block
    for la in reversed(nest.axes):
        body = For(loops[la.name], extents[la.name], body)
    params = tuple(bufs[o.name] for o in _param_order(sem))
    n_out = sum(1 for o in sem.operands.values() if o.kind != "input")
    return PrimFunc(block.name, params, body, n_out)


def tensor_intrin(sem: Semantics, variant: str = "", emit: str = "") -> TensorIntrin:
    """A TensorIntrin whose description is :func:`describe` and whose impl is the
    statement's bit-exact numpy reference (so an IntrinCall runs the vendor's meaning)."""
    desc = describe(sem, variant)
    order = [o.name for o in _param_order(sem)]
    out_name = sem.loop_nest(variant).output.operand
    reads = {o.name for o in sem.inputs}

    def impl(*views: np.ndarray) -> None:
        arrays = dict(zip(order, views, strict=True))
        result = sem.reference({n: arrays[n] for n in reads}, variant)
        arrays[out_name][...] = result

    payload = (("emit", emit), ("intrinsic", sem.name), ("variant", variant))
    return TensorIntrin(desc.name, desc, impl, payload)


def tensor_intrins(target: Target) -> dict[str, TensorIntrin]:
    """Every describable (intrinsic, variant) of a loaded Target, keyed ``name`` or
    ``name.variant``; intrinsics whose statements have no block form are left out."""
    out: dict[str, TensorIntrin] = {}
    specs = target.spec.intrinsics
    for name, sem in target.semantics.items():
        for variant in sem.variants:
            try:
                out[f"{name}.{variant}" if variant else name] = tensor_intrin(
                    sem, variant, specs[name].emit)
            except IntrinsicFormError:
                continue
    return out
