"""Elementwise ops: unary math, broadcasting binary ops, comparisons, Where, Cast, Clip."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from core import symbolic as sym
from core.graph import Attrs
from core.ops.dims import carry_value, known_values, lower_bound
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError, broadcast_shapes
from core.symbolic import Dim
from core.types import TensorType, Type

_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def _erf(x: np.ndarray) -> np.ndarray:
    # frompyfunc gives an object array (a bare float for a 0-d input): float64 either way.
    return np.asarray(_erf_ufunc(x), dtype=np.float64)


UnaryFn = Callable[[np.ndarray, Attrs], np.ndarray]
BinaryFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _float_unary(name: str, fn: UnaryFn, **attrs: AttrSpec) -> OpDef:
    def compute(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
        x = xs[0]
        assert x is not None
        return np.asarray(fn(x, a)).astype(x.dtype, copy=False)

    return OpDef(name, _unary_infer(_SYM_UNARY.get(name)), compute, attrs)


# Only these unary ops may carry symbolic contents; any other (Abs, Relu, Clip...) would
# need its own rule, and passing the input's contents through unchanged would be wrong.
_SYM_UNARY: dict[str, Callable[[Dim], Dim]] = {
    "Identity": lambda d: d,
    "Neg": lambda d: sym.mul(-1, d),
}


def _unary_infer(fn: Callable[[Dim], Dim] | None) -> Callable[[InferArgs], Type]:
    def infer(args: InferArgs) -> Type:
        t = args.type(0)
        value = None
        if fn is not None and t.value is not None and t.dtype.startswith("int"):
            value = tuple(map(fn, t.value))
        return TensorType(t.dtype, t.shape, value)

    return infer


def _gelu(x: np.ndarray, a: Attrs) -> np.ndarray:
    xf = x.astype(np.float64)
    if a["approximate"] == "tanh":
        return 0.5 * xf * (1 + np.tanh(math.sqrt(2 / math.pi) * (xf + 0.044715 * xf**3)))
    return 0.5 * xf * (1 + _erf(xf / math.sqrt(2)))


def _hard_sigmoid(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    # In x's own float type, as onnxruntime computes it (alpha * x + beta, then the clamp),
    # so host code that does the same operations is bit-identical to both.
    t = x.dtype.type
    return np.minimum(np.maximum(t(alpha) * x + t(beta), t(0)), t(1))


def _round_half_even(x: np.ndarray, _: Attrs) -> np.ndarray:
    return np.round(x)  # numpy rounds half to even, as ONNX Round specifies


UNARY = (
    _float_unary("Relu", lambda x, a: np.maximum(x, 0)),
    _float_unary("Sigmoid", lambda x, a: 1 / (1 + np.exp(-x.astype(np.float64)))),
    _float_unary("Tanh", lambda x, a: np.tanh(x)),
    _float_unary("Exp", lambda x, a: np.exp(x)),
    _float_unary("Log", lambda x, a: np.log(x)),
    _float_unary("Sqrt", lambda x, a: np.sqrt(x)),
    _float_unary("Neg", lambda x, a: np.negative(x)),
    _float_unary("Abs", lambda x, a: np.abs(x)),
    _float_unary("Reciprocal", lambda x, a: np.reciprocal(x)),
    _float_unary("Floor", lambda x, a: np.floor(x)),
    _float_unary("Ceil", lambda x, a: np.ceil(x)),
    _float_unary("Round", _round_half_even),
    _float_unary("Sign", lambda x, a: np.sign(x)),
    _float_unary("Erf", lambda x, a: _erf(x.astype(np.float64))),
    _float_unary("Identity", lambda x, a: x),
    _float_unary("Softplus", lambda x, a: np.logaddexp(0, x.astype(np.float64))),
    _float_unary(
        "LeakyRelu", lambda x, a: np.where(x >= 0, x, x * a["alpha"]),
        alpha=AttrSpec("float", 0.01),
    ),
    _float_unary(
        "Elu", lambda x, a: np.where(x > 0, x, a["alpha"] * np.expm1(x.astype(np.float64))),
        alpha=AttrSpec("float", 1.0),
    ),
    _float_unary("HardSigmoid",
                 lambda x, a: _hard_sigmoid(x, a.get_float("alpha"), a.get_float("beta")),
                 alpha=AttrSpec("float", 0.2), beta=AttrSpec("float", 0.5)),
    # HardSwish is x * HardSigmoid(x) with alpha 1/6, beta 1/2 (its ONNX function body).
    _float_unary("HardSwish", lambda x, a: x * _hard_sigmoid(x, 1 / 6, 0.5)),
    _float_unary("Gelu", _gelu, approximate=AttrSpec("str", "none")),
    _float_unary("Not", lambda x, a: np.logical_not(x)),
)


# --- binary ops with broadcasting ------------------------------------------------------


def _int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # ONNX integer Div truncates toward zero (C semantics), unlike numpy's floor division.
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return _int_div(a, b)
    return a / b


def _pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return np.power(a.astype(np.int64), b.astype(np.int64))
    return np.power(a, b.astype(a.dtype))


_SYM_BINARY: dict[str, Callable[[Dim, Dim], Dim]] = {
    "Add": sym.add,
    "Sub": sym.sub,
    "Mul": sym.mul,
    "Div": sym.floordiv,  # only used for non-negative shape arithmetic
    "Max": sym.smax,
    "Min": sym.smin,
    "Sum": sym.add,
    "Equal": lambda a, b: _sym_equal(a, b),
}


def _sym_equal(a: Dim, b: Dim) -> int:
    """1 or 0 when decidable (shape variables are at least 1), else ValueError: torch's
    ``expand(b, -1, -1)`` compares a symbolic batch with -1 to find the dims to keep."""
    d = sym.sub(a, b)
    if isinstance(d, int):
        return int(d == 0)
    if any(lb is not None and lb > 0 for lb in (lower_bound(d), lower_bound(sym.mul(-1, d)))):
        return 0
    raise ValueError(f"cannot decide {sym.to_str(a)} == {sym.to_str(b)}")


def _binary(name: str, fn: BinaryFn, logical: bool = False) -> OpDef:
    def infer(args: InferArgs) -> Type:
        a, b = args.type(0), args.type(1)
        if not logical and a.dtype != b.dtype:
            raise OpError(f"{name}: input dtypes differ ({a.dtype} vs {b.dtype})")
        shape = broadcast_shapes(a.shape, b.shape)
        value = _sym_values(name, a, b, shape)
        return TensorType("bool" if logical else a.dtype, shape, value)

    def compute(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
        a, b = xs[0], xs[1]
        assert a is not None and b is not None
        out = np.asarray(fn(a, b))
        return out if logical else out.astype(a.dtype, copy=False)

    return OpDef(name, infer, compute, min_inputs=2, max_inputs=2)


def _sym_values(
    name: str, a: TensorType, b: TensorType, shape: tuple[Dim, ...]
) -> tuple[Dim, ...] | None:
    """Propagate symbolic contents of small shape tensors through arithmetic."""
    fn = _SYM_BINARY.get(name)
    if fn is None or a.value is None or b.value is None or len(shape) > 1:
        return None
    n = shape[0] if shape else 1
    if not isinstance(n, int):
        return None
    av = a.value if len(a.value) == n else a.value * n
    bv = b.value if len(b.value) == n else b.value * n
    try:
        return tuple(fn(x, y) for x, y in zip(av, bv, strict=True))
    except (ZeroDivisionError, ValueError):
        return None


def _mod(fmod: int) -> BinaryFn:
    return np.fmod if fmod else np.mod


def _mod_op() -> OpDef:
    base = _binary("Mod", np.mod)

    def compute(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
        x, y = xs[0], xs[1]
        assert x is not None and y is not None
        return np.asarray(_mod(a.get_int("fmod"))(x, y)).astype(x.dtype, copy=False)

    return OpDef("Mod", base.infer, compute, {"fmod": AttrSpec("int", 0)}, 2, 2)


BINARY = (
    _binary("Add", np.add),
    _binary("Sub", np.subtract),
    _binary("Mul", np.multiply),
    _binary("Div", _div),
    _binary("Equal", np.equal, logical=True),
    _binary("Less", np.less, logical=True),
    _binary("LessOrEqual", np.less_equal, logical=True),
    _binary("Greater", np.greater, logical=True),
    _binary("GreaterOrEqual", np.greater_equal, logical=True),
    _binary("And", np.logical_and, logical=True),
    _binary("Or", np.logical_or, logical=True),
    _binary("Xor", np.logical_xor, logical=True),
    _mod_op(),
)


def _pow_infer(args: InferArgs) -> Type:
    a, b = args.type(0), args.type(1)
    return TensorType(a.dtype, broadcast_shapes(a.shape, b.shape))


def _pow_compute(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    a, b = xs[0], xs[1]
    assert a is not None and b is not None
    return _pow(a, b).astype(a.dtype)


def _prelu_compute(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x, slope = xs[0], xs[1]
    assert x is not None and slope is not None
    return np.where(x < 0, x * slope, x).astype(x.dtype)


# --- variadic ops --------------------------------------------------------------------


def _variadic(name: str, fn: Callable[[list[np.ndarray]], np.ndarray]) -> OpDef:
    def infer(args: InferArgs) -> Type:
        ts = [args.type(i) for i in range(len(args.types))]
        if len({t.dtype for t in ts}) > 1:
            raise OpError(f"{name}: input dtypes differ ({sorted({t.dtype for t in ts})})")
        shape = broadcast_shapes(*(t.shape for t in ts))
        # Max/Min of shape tensors appear in exported padding arithmetic (CenterCropPad).
        acc = TensorType(ts[0].dtype, shape, ts[0].value if ts[0].shape == shape else None)
        for t in ts[1:]:
            acc = TensorType(acc.dtype, shape, _sym_values(name, acc, t, shape))
        return acc

    def compute(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
        arrays = [x for x in xs if x is not None]
        return np.asarray(fn(arrays)).astype(arrays[0].dtype, copy=False)

    return OpDef(name, infer, compute, min_inputs=1, max_inputs=-1)


def _fold(fn: BinaryFn) -> Callable[[list[np.ndarray]], np.ndarray]:
    def run(arrays: list[np.ndarray]) -> np.ndarray:
        out = arrays[0]
        for x in arrays[1:]:
            out = fn(out, x)
        return out

    return run


VARIADIC = (
    _variadic("Sum", _fold(np.add)),
    _variadic("Max", _fold(np.maximum)),
    _variadic("Min", _fold(np.minimum)),
    _variadic("Mean", lambda xs: _fold(np.add)(xs) / len(xs)),
)


# --- Where, Cast, Clip ----------------------------------------------------------------


def _where_infer(args: InferArgs) -> Type:
    c, x, y = args.type(0), args.type(1), args.type(2)
    if x.dtype != y.dtype:
        raise OpError(f"Where: branch dtypes differ ({x.dtype} vs {y.dtype})")
    shape = broadcast_shapes(c.shape, x.shape, y.shape)
    # Symbolic contents flow through (torch's expand writes Where(size == -1, 1, size)).
    const = args.consts[0]
    cond = tuple(int(v) for v in const.reshape(-1)) if const is not None else c.value
    value = carry_value(x.dtype, lambda *v: np.where(*v), (cond, c.shape),
                        (known_values(args, 1), x.shape), (known_values(args, 2), y.shape))
    return TensorType(x.dtype, shape, value)


def _where(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    c, x, y = xs
    assert c is not None and x is not None and y is not None
    return np.where(c, x, y)


def _cast_infer(args: InferArgs) -> Type:
    t = args.type(0)
    to = str(args.attrs["to"])
    keep = to.startswith("int") and t.value is not None
    return TensorType(to, t.shape, t.value if keep else None)


def _cast(xs: Sequence[np.ndarray | None], a: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    to = np.dtype(str(a["to"]))
    if np.issubdtype(x.dtype, np.floating) and np.issubdtype(to, np.integer):
        # float -> int truncates toward zero; out-of-range is undefined in ONNX, wrap like C.
        with np.errstate(invalid="ignore"):
            return np.trunc(x).astype(np.int64).astype(to)
    return x.astype(to)


def _clip(xs: Sequence[np.ndarray | None], _: Attrs) -> np.ndarray:
    x = xs[0]
    assert x is not None
    lo = xs[1] if len(xs) > 1 else None
    hi = xs[2] if len(xs) > 2 else None
    out = x
    if lo is not None:
        out = np.maximum(out, lo.astype(x.dtype))
    if hi is not None:
        out = np.minimum(out, hi.astype(x.dtype))
    return out.astype(x.dtype, copy=False)


OPS = (
    *UNARY,
    *BINARY,
    *VARIADIC,
    OpDef("Pow", _pow_infer, _pow_compute, min_inputs=2, max_inputs=2),
    OpDef("PRelu", _pow_infer, _prelu_compute, min_inputs=2, max_inputs=2),
    OpDef("Where", _where_infer, _where, min_inputs=3, max_inputs=3),
    OpDef("Cast", _cast_infer, _cast, {"to": AttrSpec("str")}),
    OpDef("Clip", _unary_infer(None), _clip, min_inputs=1, max_inputs=3),
)
