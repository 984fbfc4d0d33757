"""The numpy reference of a `compute` statement.

Every sub-expression is an int64 array with one dimension per intrinsic axis
(size 1 where the value does not depend on that axis), so numpy broadcasting
does the index bookkeeping. The checker has proven that no intermediate leaves
int64, so int64 arithmetic here is exact; the only rounding or wrapping is
what the statement says: casts, rshift_round, and the overflow rule applied
once at the assignment.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vendor_sdk.intrinsics.check import DTYPES, Operand
from vendor_sdk.intrinsics.lang import (
    Access,
    Assign,
    Binary,
    Call,
    Cast,
    Expr,
    Name,
    Num,
    Sum,
    Unary,
)

Overflow = str  # "wrap" | "saturate"


def wrap(x: np.ndarray, dtype: str) -> np.ndarray:
    """Two's-complement wrap of int64 values into dtype (numpy casts are modular)."""
    return x.astype(dtype).astype(np.int64)


def saturate(x: np.ndarray, dtype: str) -> np.ndarray:
    lo, hi = DTYPES[dtype]
    return np.clip(x, lo, hi)


def rshift_round(x: np.ndarray, s: np.ndarray, mode: str) -> np.ndarray:
    """x / 2**s rounded as `mode`, for 0 <= s <= 63, without leaving int64.

    half_up is floor((x + 2**(s-1)) / 2**s): the added half is bit s-1 of x,
    which is how the reference NPU computes it without a wider adder.
    """
    x, s = np.broadcast_arrays(np.asarray(x, np.int64), np.asarray(s, np.int64))
    q = x >> s
    rem = x & ~(np.int64(-1) << s)  # the s bits shifted out, as a non-negative number
    half = np.where(s > 0, np.int64(1) << np.maximum(s - 1, 0), 0)
    above, tie = rem > half, (rem == half) & (s > 0)
    if mode == "floor":
        up = np.zeros_like(q)
    elif mode == "trunc":
        up = (rem != 0) & (x < 0)
    elif mode == "half_up":
        up = above | tie
    elif mode == "half_down":
        up = above
    elif mode == "half_even":
        up = above | (tie & ((q & 1) == 1))
    elif mode == "half_away":
        up = above | (tie & (x >= 0))
    else:
        raise ValueError(f"unknown rounding mode {mode!r}")
    return q + up.astype(np.int64)


class _Eval:
    def __init__(self, operands: Mapping[str, Operand], order: tuple[str, ...],
                 extents: Mapping[str, int], inputs: Mapping[str, np.ndarray],
                 params: Mapping[str, int]) -> None:
        self.operands, self.order, self.extents = operands, order, extents
        self.inputs, self.params = inputs, params

    def scalar(self, v: int | np.integer | np.ndarray) -> np.ndarray:
        return np.full((1,) * len(self.order), v, dtype=np.int64)

    def load(self, op: Operand) -> np.ndarray:
        arr = np.asarray(self.inputs[op.name]).astype(np.int64)
        if not op.shape:
            return self.scalar(arr.reshape(()))
        # Put the operand's axes in intrinsic order, then insert size-1 dims.
        perm = sorted(range(len(op.shape)), key=lambda i: self.order.index(op.shape[i]))
        full = [self.extents[a] if a in op.shape else 1 for a in self.order]
        return arr.transpose(perm).reshape(full)

    def __call__(self, e: Expr) -> np.ndarray:
        match e:
            case Num(v):
                return self.scalar(v)
            case Name(n) if n in self.params:
                return self.scalar(self.params[n])
            case Name(n):
                return self.load(self.operands[n])
            case Access(name, _):
                return self.load(self.operands[name])
            case Unary(_, a):
                return -self(a)
            case Cast(dtype, a):
                return wrap(self(a), dtype)
            case Binary(op, a, b):
                return _binary(op, self(a), self(b))
            case Sum(axis, body):
                terms = self(body)
                pos = self.order.index(axis.axis)
                if terms.shape[pos] == 1:  # the body does not depend on the axis
                    return terms * self.extents[axis.axis]
                return terms.sum(axis=pos, keepdims=True, dtype=np.int64)
            case Call("rshift_round", (x, s, Name(mode))):
                return rshift_round(self(x), self(s), mode)
            case Call(f, args):
                vals = [self(a) for a in args]
                if f == "min":
                    return np.minimum.reduce(np.broadcast_arrays(*vals))
                if f == "max":
                    return np.maximum.reduce(np.broadcast_arrays(*vals))
                if f == "clamp":
                    return np.minimum(np.maximum(vals[0], vals[1]), vals[2])
                if f == "select":
                    return np.where(vals[0] != 0, vals[1], vals[2])
        raise TypeError(e)


def _binary(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "<<":
        return a << b
    if op == ">>":
        return a >> b
    cmp = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
           "==": np.equal, "!=": np.not_equal}[op]
    return cmp(a, b).astype(np.int64)


def evaluate(stmt: Assign, operands: Mapping[str, Operand], order: tuple[str, ...],
             extents: Mapping[str, int], inputs: Mapping[str, np.ndarray],
             params: Mapping[str, int], overflow: Overflow) -> np.ndarray:
    """The value stmt assigns, shaped like its target and in the target's dtype.

    `order` lists every axis of the intrinsic; inputs must hold values inside
    the operands' declared ranges (the checker's int64 proof assumes them).
    """
    target = stmt.target
    name = target.operand if isinstance(target, Access) else target.name
    out = operands[name]
    value = _Eval(operands, order, extents, inputs, params)(stmt.value)
    # Reduced axes are size 1 by now; spatial axes may still be broadcast.
    full = tuple(extents[a] if a in out.shape else 1 for a in order)
    in_order = [a for a in order if a in out.shape]
    value = np.broadcast_to(value, full).reshape([extents[a] for a in in_order])
    value = value.transpose([in_order.index(a) for a in out.shape])
    value = wrap(value, out.dtype) if overflow == "wrap" else saturate(value, out.dtype)
    return value.astype(out.dtype)
