"""The op definition record and helpers shared by op families.

An :class:`OpDef` is data: attribute schema, input arity, type inference and a
numpy reference. Op families (``core/ops/*.py``) each export a tuple ``OPS``;
:mod:`core.ops` assembles them into one table explicitly — nothing registers
itself at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import symbolic as sym
from core.errors import VendorSdkError
from core.graph import Attrs
from core.symbolic import Dim
from core.types import TensorType, Type


class OpError(VendorSdkError):
    """Type inference or attribute validation failed for one op application."""


REQUIRED: Any = object()


@dataclass(frozen=True, slots=True)
class AttrSpec:
    kind: str  # "int" | "float" | "str" | "ints" | "floats" | "strs"
    default: Any = REQUIRED


@dataclass(frozen=True, slots=True)
class InferArgs:
    """What type inference sees: argument types, constant values, attributes."""

    types: tuple[TensorType | None, ...]
    consts: tuple[np.ndarray | None, ...]
    attrs: Attrs

    def type(self, i: int) -> TensorType:
        t = self.types[i] if i < len(self.types) else None
        if t is None:
            raise OpError(f"input {i} is required")
        return t

    def has(self, i: int) -> bool:
        return i < len(self.types) and self.types[i] is not None

    def values(self, i: int, what: str) -> tuple[Dim, ...]:
        """The (possibly symbolic) contents of a small integer input, e.g. a shape."""
        c = self.consts[i] if i < len(self.consts) else None
        if c is not None:
            return tuple(int(v) for v in c.reshape(-1))
        t = self.type(i)
        if t.value is None:
            raise OpError(f"{what} (input {i}) must be a constant or computed from shapes")
        return t.value

    def const(self, i: int, what: str) -> np.ndarray:
        c = self.consts[i] if i < len(self.consts) else None
        if c is None:
            raise OpError(f"{what} (input {i}) must be a constant")
        return c


Compute = Callable[[Sequence[np.ndarray | None], Attrs], "np.ndarray | tuple[np.ndarray, ...]"]


@dataclass(frozen=True, slots=True)
class OpDef:
    name: str
    infer: Callable[[InferArgs], Type]
    compute: Compute
    attrs: Mapping[str, AttrSpec] = field(default_factory=dict)
    min_inputs: int = 1
    max_inputs: int = 1  # -1: variadic
    # Pure ops may be constant-folded and live in dataflow blocks.
    pure: bool = True

    def complete_attrs(self, attrs: Mapping[str, Any]) -> Attrs:
        """Validate names and fill defaults; raise OpError naming what is wrong."""
        unknown = sorted(set(attrs) - set(self.attrs))
        if unknown:
            known = ", ".join(sorted(self.attrs)) or "none"
            raise OpError(f"{self.name}: unsupported attribute(s) {unknown}; supported: {known}")
        full: dict[str, Any] = {}
        for name, spec in self.attrs.items():
            if name in attrs:
                full[name] = attrs[name]
            elif spec.default is REQUIRED:
                raise OpError(f"{self.name}: attribute '{name}' is required")
            elif spec.default is not None:
                full[name] = spec.default
        return Attrs.of(full)

    def check_arity(self, n: int) -> None:
        hi = self.max_inputs
        if n < self.min_inputs or (hi >= 0 and n > hi):
            want = f"{self.min_inputs}..{'inf' if hi < 0 else hi}"
            raise OpError(f"{self.name}: takes {want} inputs, got {n}")


# --- shared inference helpers -------------------------------------------------------


def broadcast_shapes(*shapes: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """Numpy/ONNX multidirectional broadcasting over symbolic dims."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        non_one = [d for d in dims if d != 1]
        if not non_one:
            out.append(1)
            continue
        first = non_one[0]
        for d in non_one[1:]:
            if not sym.equal(d, first):
                if isinstance(d, int) and isinstance(first, int):
                    raise OpError(f"shapes {[tuple(map(str, s)) for s in shapes]} do not broadcast")
                # Unequal symbolic dims: assume equal at run time (the executor checks).
        out.append(first)
    return tuple(out)


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise OpError(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0
