"""Type inference for graph expressions."""

from __future__ import annotations

from typing import Any

from core import symbolic as sym
from core.graph import (
    Arg,
    Call,
    CallExtern,
    CallFunc,
    CallTIR,
    Constant,
    Expr,
    Module,
    TupleGetItem,
)
from core.ops import get_op
from core.ops.registry import InferArgs, OpError
from core.types import TensorType, TupleType, Type


def arg_type(arg: Arg) -> TensorType | None:
    if arg is None:
        return None
    t = arg.type
    if not isinstance(t, TensorType):
        raise OpError(f"argument {arg} is a tuple; unpack it with TupleGetItem first")
    return t


def infer_call(call: Call) -> Type:
    op = get_op(call.op)
    op.check_arity(len(call.args))
    types = tuple(arg_type(a) for a in call.args)
    consts = tuple(a.value if isinstance(a, Constant) else None for a in call.args)
    return op.infer(InferArgs(types, consts, call.attrs))


def infer_expr(expr: Expr, module: Module | None = None) -> Type:
    """The type of ``expr``; calls to other functions need the ``module``."""
    if isinstance(expr, Call):
        return infer_call(expr)
    if isinstance(expr, CallTIR | CallExtern):
        return expr.out_type
    if isinstance(expr, TupleGetItem):
        t = expr.value.type
        if not isinstance(t, TupleType):
            raise OpError(f"TupleGetItem on non-tuple value %{expr.value.name}: {t}")
        if not 0 <= expr.index < len(t.fields):
            raise OpError(f"TupleGetItem index {expr.index} out of range for {t}")
        return t.fields[expr.index]
    if isinstance(expr, CallFunc):
        if module is None or expr.func not in module:
            raise OpError(f"call to unknown function '{expr.func}'")
        return _call_func_type(expr, module[expr.func])
    raise TypeError(f"not an expression: {expr!r}")


def _call_func_type(expr: CallFunc, callee: Any) -> Type:
    """The callee's return type with its parameter symbols bound to the caller's dims.

    A region extracted from a batch-N graph has parameters of shape [N, ...];
    called with a [M, ...] argument, it returns [M, ...].
    """
    if len(expr.args) != len(callee.params):
        raise OpError(f"@{expr.func} takes {len(callee.params)} arguments, "
                      f"got {len(expr.args)}")
    env: dict[str, sym.Dim] = {}
    for i, (param, arg) in enumerate(zip(callee.params, expr.args, strict=True)):
        at = arg_type(arg)
        pt = param.type
        if at is None or at.dtype != pt.dtype or at.rank != pt.rank:
            raise OpError(f"@{expr.func} argument {i}: expected {pt}, got {at}")
        for pd, ad in zip(pt.shape, at.shape, strict=True):
            names = sym.free_vars(pd)
            if isinstance(pd, sym.Sym) and len(names) == 1 and sym.equal(pd, sym.var(*names)):
                bound = env.setdefault(next(iter(names)), ad)
                if not sym.equal(bound, ad):
                    raise OpError(f"@{expr.func} argument {i}: {pd} is both "
                                  f"{sym.to_str(bound)} and {sym.to_str(ad)}")
            elif not sym.equal(sym.substitute(pd, env), ad):
                raise OpError(f"@{expr.func} argument {i}: expected {pt}, got {at}")
    ret = callee.ret_type
    if isinstance(ret, TupleType):
        return TupleType(tuple(_subst_type(f, env) for f in ret.fields))
    return _subst_type(ret, env)


def _subst_type(t: TensorType, env: dict[str, sym.Dim]) -> TensorType:
    return TensorType(t.dtype, tuple(sym.substitute(d, env) for d in t.shape))
