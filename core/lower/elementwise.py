"""Elementwise ops with broadcasting, quantize/dequantize, and copies (reshape,
transpose, concat) as tensor programs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.graph import Attrs
from core.lower.build import LowerError, broadcast_index, nest
from core.tir.expr import (
    Bin,
    Const,
    Expr,
    Load,
    Unary,
    binop,
    cast,
    const,
    is_float,
    is_int,
    select,
    smax,
    smin,
)
from core.tir.stmt import Buffer, Stmt, Store, seq

Unop = Callable[[Expr], Expr]


def _one(x: Expr, v: float) -> Expr:
    return const(v, x.dtype)


UNARY: dict[str, Unop] = {
    "Relu": lambda x: smax(x, _one(x, 0)),
    "Neg": lambda x: Unary("neg", x),
    "Abs": lambda x: Unary("abs", x),
    "Exp": lambda x: Unary("exp", x),
    "Log": lambda x: Unary("log", x),
    "Sqrt": lambda x: Unary("sqrt", x),
    "Tanh": lambda x: Unary("tanh", x),
    "Erf": lambda x: Unary("erf", x),
    "Floor": lambda x: Unary("floor", x),
    "Sigmoid": lambda x: Bin("/", _one(x, 1), Bin("+", _one(x, 1), Unary("exp", Unary("neg", x)))),
    "Identity": lambda x: x,
}
BINARY: dict[str, str] = {"Add": "+", "Sub": "-", "Mul": "*", "Max": "max", "Min": "min"}


def elementwise(op: str, attrs: Attrs, ins: Sequence[Buffer | float | None], out: Buffer) -> Stmt:
    def load(b: Buffer | float | None, idx: list) -> Expr:
        assert isinstance(b, Buffer)
        return Load(b, broadcast_index(b, out.rank, idx))

    if op in UNARY:
        fn = UNARY[op]
        return nest(op.lower(), out.shape, (),
                    lambda i, _: Store(out, tuple(i), fn(load(ins[0], i))))
    if op == "LeakyRelu":
        a = attrs.get_float("alpha")
        return nest("leakyrelu", out.shape, (), lambda i, _: Store(out, tuple(i), select(
            Bin("<", load(ins[0], i), const(0, out.dtype)),
            Bin("*", load(ins[0], i), const(a, out.dtype)), load(ins[0], i))))
    if op in ("HardSigmoid", "HardSwish"):
        return nest(op.lower(), out.shape, (), lambda i, _: Store(
            out, tuple(i), hard_sigmoid(op, attrs, load(ins[0], i))))
    if op == "Clip":
        lo, hi = (ins[k] if len(ins) > k else None for k in (1, 2))

        def clip(i: list) -> Store:
            v = load(ins[0], i)
            if isinstance(lo, float | int):
                v = smax(v, const(lo, out.dtype))
            if isinstance(hi, float | int):
                v = smin(v, const(hi, out.dtype))
            return Store(out, tuple(i), v)

        return nest("clip", out.shape, (), lambda i, _: clip(i))
    if op in BINARY or (op == "Div" and out.dtype.startswith("float")):
        sym = BINARY.get(op, "/")
        return nest(op.lower(), out.shape, (), lambda i, _: Store(
            out, tuple(i), binop(sym, load(ins[0], i), load(ins[1], i))))
    raise LowerError(f"no elementwise lowering for {op} on {out.dtype}")


def hard_sigmoid(op: str, attrs: Attrs, x: Expr) -> Expr:
    """min(max(alpha x + beta, 0), 1), times x for HardSwish: the reference's operations."""
    alpha, beta = ((1 / 6, 0.5) if op == "HardSwish" else
                   (attrs.get_float("alpha"), attrs.get_float("beta")))
    y = smin(smax(Bin("+", Bin("*", const(alpha, x.dtype), x), const(beta, x.dtype)),
                  _one(x, 0)), _one(x, 1))
    return Bin("*", x, y) if op == "HardSwish" else y


def convert(x: Buffer, out: Buffer) -> Stmt:
    """Cast between numeric dtypes as the reference computes it: float -> int goes
    through int64 (truncate, then wrap), so an int8 target wraps rather than saturates."""
    if "bool" in (x.dtype, out.dtype):
        raise LowerError(f"Cast from {x.dtype} to {out.dtype}: bool casts have no lowering")

    def body(i: list, _: list) -> Store:
        v: Expr = Load(x, tuple(i))
        if is_float(x.dtype) and is_int(out.dtype):
            v = cast("int64", v)
        return Store(out, tuple(i), cast(out.dtype, v))

    return nest("cast", out.shape, (), body)


def quantize(ins: Sequence[Buffer | None], attrs: Attrs, out: Buffer) -> Stmt:
    """QuantizeLinear: saturate(round_half_even(x / scale) + zp), per tensor or per axis."""
    x, scale, zp = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    assert x is not None and scale is not None
    info = np.iinfo(out.dtype)

    def body(i: list, _: list) -> Store:
        q: Expr = Unary("round_even", Bin("/", Load(x, tuple(i)), _param(scale, x, attrs, i)))
        if zp is not None:
            q = Bin("+", q, cast(q.dtype, _param(zp, x, attrs, i)))
        # max(min, q) is ``q > min ? q : min``: NaN saturates to the minimum (onnxruntime).
        q = smin(smax(const(int(info.min), q.dtype), q), const(int(info.max), q.dtype))
        return Store(out, tuple(i), cast(out.dtype, q))

    return nest("quantize", out.shape, (), body)


def dequantize(ins: Sequence[Buffer | None], attrs: Attrs, out: Buffer) -> Stmt:
    x, scale, zp = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    assert x is not None and scale is not None

    def body(i: list, _: list) -> Store:
        v = cast("int32", Load(x, tuple(i)))
        if zp is not None:
            v = Bin("-", v, cast("int32", _param(zp, x, attrs, i)))
        return Store(out, tuple(i), Bin("*", cast(scale.dtype, v), _param(scale, x, attrs, i)))

    return nest("dequantize", out.shape, (), body)


def _param(p: Buffer, x: Buffer, attrs: Attrs, i: list) -> Expr:
    if p.rank == 0:
        return Load(p, ())
    if p.shape == (Const(1),):
        return Load(p, (Const(0),))
    if attrs.get_int("block_size"):
        raise LowerError("blocked quantization has no lowering")
    axis = attrs.get_int("axis") % x.rank
    return Load(p, (i[axis],))


def reshape(x: Buffer, out: Buffer) -> Stmt:
    """Row-major copy: output element i is input element flatten(i)."""

    def body(i: list, _: list) -> Store:
        flat: Expr = Const(0)
        for v, d in zip(i, out.shape, strict=True):
            flat = binop("+", binop("*", flat, d), v)
        idx: list[Expr] = []
        for d in reversed(x.shape):
            idx.append(binop("%", flat, d))
            flat = binop("//", flat, d)
        return Store(out, tuple(i), Load(x, tuple(reversed(idx))))

    return nest("reshape", out.shape, (), body)


def transpose(x: Buffer, perm: Sequence[int], out: Buffer) -> Stmt:
    def body(i: list, _: list) -> Store:
        idx = [Const(0)] * x.rank
        for k, p in enumerate(perm):
            idx[p] = i[k]
        return Store(out, tuple(i), Load(x, tuple(idx)))

    return nest("transpose", out.shape, (), body)


def concat(xs: Sequence[Buffer], axis: int, out: Buffer) -> Stmt:
    """One copy block per input into its slice of the output."""
    parts: list[Stmt] = []
    offset: Expr = Const(0)
    for k, x in enumerate(xs):
        def body(i: list, _: list, x: Buffer = x, off: Expr = offset) -> Store:
            dst = [binop("+", v, off) if d == axis else v for d, v in enumerate(i)]
            return Store(out, tuple(dst), Load(x, tuple(i)))

        parts.append(nest(f"concat{k}", x.shape, (), body))
        offset = binop("+", offset, x.shape[axis])
    return seq(*parts)
