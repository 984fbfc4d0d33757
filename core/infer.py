"""Type inference for graph expressions."""

from __future__ import annotations

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
        return module[expr.func].ret_type
    raise TypeError(f"not an expression: {expr!r}")
