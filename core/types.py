"""Types of graph values: tensors (dtype + symbolic shape) and tuples of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from core import symbolic as sym
from core.symbolic import Dim

# dtype names follow numpy; onnx names map onto them in the frontend.
DTYPES = (
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64",
)  # fmt: skip


def itemsize(dtype: str) -> int:
    """Bytes of one element (the one place element sizes come from: numpy's)."""
    return np.dtype(dtype).itemsize


def int_range(dtype: str) -> tuple[int, int]:
    """The smallest and largest value of an integer dtype."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


@dataclass(frozen=True, slots=True)
class TensorType:
    """A tensor's dtype and shape.

    ``value`` is set for small integer tensors whose *contents* are known
    symbolically (the output of ``Shape`` and arithmetic on it), flattened in
    row-major order. It is how a symbolic batch flows through
    ``Shape -> Gather -> Concat -> Reshape`` chains exported from PyTorch.
    """

    dtype: str
    shape: tuple[Dim, ...]
    value: tuple[Dim, ...] | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}")
        for d in self.shape:
            sym.simplify(d)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return sym.is_static(self.shape)

    def numel(self) -> Dim:
        return sym.product(self.shape)

    def __str__(self) -> str:
        dims = ", ".join(sym.to_str(d) for d in self.shape)
        s = f"{self.dtype}[{dims}]"
        if self.value is not None and not all(isinstance(v, int) for v in self.value):
            s += "{" + ", ".join(sym.to_str(v) for v in self.value) + "}"
        return s


@dataclass(frozen=True, slots=True)
class TupleType:
    """The type of a multi-output call; unpacked with ``TupleGetItem``."""

    fields: tuple[TensorType, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(str(f) for f in self.fields) + ")"


Type = Union[TensorType, TupleType]


def tensor_type_of(array: np.ndarray) -> TensorType:
    """Type of a concrete array; small int64 arrays carry their values (shape data)."""
    dtype = str(array.dtype)
    value = None
    if array.dtype in (np.int64, np.int32) and array.ndim <= 1 and array.size <= 16:
        value = tuple(int(v) for v in array.reshape(-1))
    return TensorType(dtype, tuple(int(d) for d in array.shape), value)


def same_type(a: Type, b: Type) -> bool:
    """Structural equality up to symbolic simplification (values ignored)."""
    if isinstance(a, TupleType) or isinstance(b, TupleType):
        return (
            isinstance(a, TupleType)
            and isinstance(b, TupleType)
            and len(a.fields) == len(b.fields)
            and all(same_type(x, y) for x, y in zip(a.fields, b.fields, strict=True))
        )
    return (
        a.dtype == b.dtype
        and a.rank == b.rank
        and all(sym.equal(x, y) for x, y in zip(a.shape, b.shape, strict=True))
    )
