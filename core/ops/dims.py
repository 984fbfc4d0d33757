"""Symbolic helpers shared by the shape, indexing and reduction op families.

Two jobs live here:

* reading the contents of small integer inputs (axes, pads, a Reshape target)
  whether they are constants or computed from ``Shape`` (``TensorType.value``);
* carrying such contents through data-movement ops. Rather than writing a
  second, symbolic version of every op, the op's own numpy indexing code runs
  on an ``object`` array of dims — numpy gathers, slices and concatenates
  Python objects just as well as integers.

Clamping (Slice, Range) needs ``min``/``max`` of dims. Shape variables stand
for tensor extents, so :func:`dmin`/:func:`dmax` assume every variable is at
least 1 to simplify ``max(0, N - 1)`` to ``N - 1``. A zero extent is legal
ONNX, but the executor checks each inferred shape against the computed one, so
a model run with one fails loudly instead of silently computing garbage.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from core import symbolic as sym
from core.ops.registry import InferArgs, OpError
from core.symbolic import Atom, Dim, Sym

# Larger integer tensors are data, not shapes; tracking their contents would only cost time.
MAX_VALUE_SIZE = 64


def is_int_dtype(dtype: str) -> bool:
    return dtype.startswith(("int", "uint"))


def known_values(args: InferArgs, i: int) -> tuple[Dim, ...] | None:
    """The flattened contents of integer input ``i`` if known (constant or symbolic)."""
    if not args.has(i):
        return None
    t = args.type(i)
    if not is_int_dtype(t.dtype):
        return None
    c = args.consts[i] if i < len(args.consts) else None
    if c is not None:
        return tuple(int(v) for v in c.reshape(-1)) if c.size <= MAX_VALUE_SIZE else None
    return t.value


def int_values(args: InferArgs, i: int, what: str) -> tuple[int, ...]:
    """Contents of input ``i`` that must be concrete integers (axes, pads, repeats...)."""
    c = args.consts[i] if i < len(args.consts) else None
    if c is not None:
        return tuple(int(v) for v in c.reshape(-1))
    values = args.values(i, what)
    if not all(isinstance(v, int) for v in values):
        shown = ", ".join(sym.to_str(v) for v in values)
        raise OpError(f"{what} (input {i}) must be static integers, got [{shown}]")
    return tuple(sym.static(v) for v in values)


def optional_int_values(args: InferArgs, i: int, what: str) -> tuple[int, ...] | None:
    return int_values(args, i, what) if args.has(i) else None


def norm_axes(axes: tuple[int, ...], rank: int, what: str = "axes") -> tuple[int, ...]:
    out: list[int] = []
    for a in axes:
        if not -rank <= a < rank:
            raise OpError(f"{what}: axis {a} is out of range for rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise OpError(f"{what}: repeated axis in {list(axes)}")
    return tuple(out)


# --- contents of small integer tensors as object arrays -------------------------------------


def as_object_array(values: tuple[Dim, ...] | None, shape: tuple[Dim, ...]) -> np.ndarray | None:
    if values is None or not sym.is_static(shape):
        return None
    static = tuple(sym.static(d) for d in shape)
    if math.prod(static) != len(values):
        return None
    flat = np.empty(len(values), dtype=object)
    flat[:] = list(values)
    return flat.reshape(static)


def from_object_array(array: np.ndarray) -> tuple[Dim, ...] | None:
    if array.size > MAX_VALUE_SIZE:
        return None
    return tuple(v if isinstance(v, Sym) else int(v) for v in np.asarray(array).reshape(-1))


def carry_value(
    dtype: str,
    fn: Callable[..., np.ndarray],
    *operands: tuple[tuple[Dim, ...] | None, tuple[Dim, ...]],
) -> tuple[Dim, ...] | None:
    """Apply ``fn`` to the known contents of ``operands`` ((value, shape) pairs), if all known."""
    if not is_int_dtype(dtype):
        return None
    arrays = [as_object_array(v, s) for v, s in operands]
    if any(a is None for a in arrays):
        return None
    try:
        return from_object_array(np.asarray(fn(*arrays)))
    except (ValueError, IndexError, TypeError):
        return None  # the op itself will report the problem; contents just stay unknown


# --- bounds, assuming shape variables are >= 1 -------------------------------------------------


def lower_bound(d: Dim) -> int | None:
    """A lower bound on ``d`` when every variable is at least 1, or None if none is obvious."""
    if isinstance(d, int):
        return d
    total = 0
    for monomial, coef in d.terms:
        lb = 1
        for atom in monomial:
            alb = _atom_lower_bound(atom)
            if alb is None or alb < 0:
                return None
            lb *= alb
        if coef < 0 and monomial:
            return None  # would need an upper bound on the monomial
        total += coef * lb
    return total


def _atom_lower_bound(atom: Atom) -> int | None:
    if atom.kind == "var":
        return 1
    bounds = [lower_bound(a) for a in atom.args]
    if atom.kind == "min":
        return None if None in bounds else min(b for b in bounds if b is not None)
    if atom.kind == "max":
        known = [b for b in bounds if b is not None]
        return max(known) if known else None
    a, b = bounds
    if a is None or b is None or a < 0 or b < 1:
        return None
    if atom.kind == "floordiv" and isinstance(atom.args[1], int):
        return a // atom.args[1]
    return 0  # floordiv / mod of non-negatives


def dmin(a: Dim, b: Dim) -> Dim:
    if (lb := lower_bound(sym.sub(b, a))) is not None and lb >= 0:
        return a
    if (lb := lower_bound(sym.sub(a, b))) is not None and lb >= 0:
        return b
    return sym.smin(a, b)


def dmax(a: Dim, b: Dim) -> Dim:
    if (lb := lower_bound(sym.sub(b, a))) is not None and lb >= 0:
        return b
    if (lb := lower_bound(sym.sub(a, b))) is not None and lb >= 0:
        return a
    return sym.smax(a, b)


def is_negative(d: Dim, what: str) -> bool:
    """Sign of an index; symbolic indices must be visibly non-negative."""
    if isinstance(d, int):
        return d < 0
    lb = lower_bound(d)
    if lb is None or lb < 0:
        raise OpError(f"{what} {sym.to_str(d)} has an unknown sign")
    return False


def ceil_div(a: Dim, b: int) -> Dim:
    return sym.floordiv(sym.add(a, b - 1), b)
