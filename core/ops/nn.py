"""Dense and activation-shaped NN ops: MatMul, MatMulInteger, Gemm, Softmax,
LogSoftmax, Dropout.

Convolutions, pooling and normalizations live in :mod:`core.ops.conv`,
:mod:`core.ops.pool` and :mod:`core.ops.norm`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.graph import Attrs
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, broadcast_shapes, norm_axis
from core.symbolic import Dim
from core.types import TensorType, Type

FLOATS = ("float16", "float32", "float64")
MATMUL_DTYPES = (*FLOATS, "int32", "int64", "uint32", "uint64")


def _acc(dtype: np.dtype) -> type[np.generic]:
    if np.issubdtype(dtype, np.integer):
        return np.int64 if np.issubdtype(dtype, np.signedinteger) else np.uint64
    return np.float64 if dtype == np.float64 else np.float32


# --- MatMul ------------------------------------------------------------------------------


def matmul_shape(op: str, a: tuple[Dim, ...], b: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """numpy.matmul's result shape: 1-D operands get a dim prepended/appended and removed."""
    if not a or not b:
        raise OpError(f"{op}: operands must have rank >= 1")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    k_a, k_b = a2[-1], b2[-2]
    if isinstance(k_a, int) and isinstance(k_b, int) and k_a != k_b:
        raise OpError(f"{op}: inner dims differ ({k_a} vs {k_b}) for shapes "
                      f"{tuple(map(str, a))} and {tuple(map(str, b))}")
    rows = (a2[-2],) if len(a) > 1 else ()
    cols = (b2[-1],) if len(b) > 1 else ()
    return (*broadcast_shapes(a2[:-2], b2[:-2]), *rows, *cols)


def _matmul_infer(args: InferArgs) -> Type:
    a, b = args.type(0), args.type(1)
    if a.dtype != b.dtype or a.dtype not in MATMUL_DTYPES:
        raise OpError(f"MatMul: operands must share a dtype in {MATMUL_DTYPES}, got {a}, {b}")
    return TensorType(a.dtype, matmul_shape("MatMul", a.shape, b.shape))


def _matmul(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    a, b = xs[0], xs[1]
    assert a is not None and b is not None
    acc = _acc(a.dtype)
    return np.matmul(a.astype(acc, copy=False), b.astype(acc, copy=False)).astype(a.dtype)


def _matmul_integer_infer(args: InferArgs) -> Type:
    a, b = args.type(0), args.type(1)
    if a.dtype not in ("int8", "uint8") or b.dtype not in ("int8", "uint8"):
        raise OpError(f"MatMulInteger: operands must be int8/uint8, got {a.dtype}, {b.dtype}")
    out = matmul_shape("MatMulInteger", a.shape, b.shape)
    for i, ref, what in ((2, a, "a_zero_point"), (3, b, "b_zero_point")):
        if args.has(i):
            z = args.type(i)
            if z.dtype != ref.dtype or z.rank > 1:
                raise OpError(f"MatMulInteger: {what} must be a {ref.dtype} scalar or 1-D, got {z}")
    return TensorType("int32", out)


def _matmul_integer(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    a, b = xs[0], xs[1]
    assert a is not None and b is not None
    az = xs[2] if len(xs) > 2 and xs[2] is not None else np.zeros((), a.dtype)
    bz = xs[3] if len(xs) > 3 and xs[3] is not None else np.zeros((), b.dtype)
    ai = a.astype(np.int64)
    # A 1-D a_zero_point is per row of A (M), a 1-D b_zero_point per column of B (N).
    ai -= az.astype(np.int64).reshape(-1, 1) if az.ndim == 1 and a.ndim > 1 else az.astype(np.int64)
    bi = b.astype(np.int64) - bz.astype(np.int64)
    return np.matmul(ai, bi).astype(np.int32)


# --- Gemm --------------------------------------------------------------------------------


def _gemm_infer(args: InferArgs) -> Type:
    a, b = args.type(0), args.type(1)
    if a.rank != 2 or b.rank != 2 or a.dtype != b.dtype or a.dtype not in MATMUL_DTYPES:
        raise OpError(f"Gemm: A and B must be 2-D of one dtype in {MATMUL_DTYPES}, got {a}, {b}")
    m, k = a.shape[::-1] if args.attrs["transA"] else a.shape
    k2, n = b.shape[::-1] if args.attrs["transB"] else b.shape
    if isinstance(k, int) and isinstance(k2, int) and k != k2:
        raise OpError(f"Gemm: inner dims differ ({k} vs {k2})")
    if args.has(2):
        c = args.type(2)
        # C broadcasts unidirectionally onto (M, N).
        if c.rank > 2 or c.dtype != a.dtype or broadcast_shapes(c.shape, (m, n)) != (m, n):
            raise OpError(f"Gemm: C {c} does not broadcast to ({m}, {n})")
    return TensorType(a.dtype, (m, n))


def _gemm(xs: Sequence[np.ndarray | None], attrs: Attrs) -> np.ndarray:
    a, b = xs[0], xs[1]
    c = xs[2] if len(xs) > 2 else None
    assert a is not None and b is not None
    acc = _acc(a.dtype)
    a2 = a.T if attrs["transA"] else a
    b2 = b.T if attrs["transB"] else b
    y = np.matmul(a2.astype(acc, copy=False), b2.astype(acc, copy=False))
    alpha, beta = attrs.get_float("alpha"), attrs.get_float("beta")
    if alpha != 1.0:
        y = y * acc(alpha)
    if c is not None and beta != 0.0:
        y = y + (c.astype(acc) if beta == 1.0 else c.astype(acc) * acc(beta))
    return y.astype(a.dtype, copy=False)


# --- Softmax, LogSoftmax -----------------------------------------------------------------


def _softmax(op: str) -> OpDef:
    def infer(args: InferArgs) -> Type:
        x = args.type(0)
        if x.dtype not in FLOATS:
            raise OpError(f"{op}: dtype {x.dtype} is not a float type")
        norm_axis(args.attrs.get_int("axis"), x.rank)
        return x

    def compute(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
        x = xs[0]
        assert x is not None
        axis = norm_axis(a.get_int("axis"), x.ndim)
        xf = x.astype(_acc(x.dtype), copy=False)
        # Subtracting the max keeps exp() finite; the result is mathematically the same.
        shifted = xf - np.max(xf, axis=axis, keepdims=True)
        if op == "LogSoftmax":
            y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        else:
            e = np.exp(shifted)
            y = e / np.sum(e, axis=axis, keepdims=True)
        return y.astype(x.dtype, copy=False)

    return OpDef(op, infer, compute, {"axis": AttrSpec("int", -1)})


# --- Dropout -----------------------------------------------------------------------------


def _dropout_infer(args: InferArgs) -> Type:
    x = args.type(0)
    if args.has(2):
        c = args.consts[2]
        if c is None or bool(np.asarray(c).reshape(-1)[0]):
            raise OpError("Dropout: only inference is supported; training_mode must be a "
                          "constant false")
    if args.has(1) and args.type(1).dtype not in FLOATS:
        raise OpError(f"Dropout: ratio must be a float scalar, got {args.type(1)}")
    return x


def _dropout(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    return x  # inference: identity, whatever the ratio


OPS = (
    OpDef("MatMul", _matmul_infer, _matmul, min_inputs=2, max_inputs=2),
    OpDef("MatMulInteger", _matmul_integer_infer, _matmul_integer, min_inputs=2, max_inputs=4),
    OpDef("Gemm", _gemm_infer, _gemm,
          {"alpha": AttrSpec("float", 1.0), "beta": AttrSpec("float", 1.0),
           "transA": AttrSpec("int", 0), "transB": AttrSpec("int", 0)},
          min_inputs=2, max_inputs=3),
    _softmax("Softmax"),
    _softmax("LogSoftmax"),
    OpDef("Dropout", _dropout_infer, _dropout, {"seed": AttrSpec("int", None)},
          min_inputs=1, max_inputs=3),
)
