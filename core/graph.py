"""Graph IR: a module of functions whose bodies are SSA bindings.

The shape follows Relax: a function has typed parameters and a body of
binding blocks (``dataflow`` blocks hold only pure calls), and a call is one
of

* :class:`Call` — a built-in op from :mod:`core.ops` (ONNX names and attribute
  semantics, every attribute filled in with its default);
* :class:`CallTIR` — a tensor program in destination-passing style: the caller
  states the output type, the program writes into buffers it is given;
* :class:`CallExtern` — an external function by symbol name (a vendor kernel,
  an offloaded region);
* :class:`CallFunc` — another graph function of the module (composites and
  partitioned regions).

Arguments are atoms (a :class:`Var`, a :class:`Constant`, or ``None`` for an
omitted optional input), so every intermediate value has a name. All nodes
are frozen; passes build new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from core.types import TensorType, TupleType, Type, tensor_type_of

AttrValue = Union[int, float, str, tuple[Any, ...]]


def _freeze(value: Any) -> AttrValue:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"unsupported attribute value {value!r} ({type(value).__name__})")


class AttrError(ValueError):
    """An attribute of the wrong kind for its op: a malformed model, reported as bad input
    (the importer turns ValueErrors into located errors)."""


@dataclass(frozen=True, slots=True)
class Attrs(Mapping[str, AttrValue]):
    """An immutable, hashable attribute map, kept sorted by name."""

    items_: tuple[tuple[str, AttrValue], ...] = ()

    @staticmethod
    def of(mapping: Mapping[str, Any] | None = None, **kwargs: Any) -> Attrs:
        merged = {**(mapping or {}), **kwargs}
        return Attrs(tuple(sorted((k, _freeze(v)) for k, v in merged.items())))

    def __getitem__(self, key: str) -> AttrValue:
        for k, v in self.items_:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self.items_)

    def __len__(self) -> int:
        return len(self.items_)

    def replace(self, **kwargs: Any) -> Attrs:
        return Attrs.of(dict(self.items_), **kwargs)

    # Typed reads. An op's schema (AttrSpec.kind) says what each attribute holds, but the
    # map stores the AttrValue union; these narrow it for the type checker and name the
    # attribute when a model carries the wrong kind (where int(tuple) gave a bare TypeError).
    def get_int(self, key: str, default: int | None = None) -> int:
        v = self._get(key, default)
        if not isinstance(v, int | float):
            raise AttrError(f"attribute '{key}' must be a number, got {v!r}")
        return int(v)

    def get_float(self, key: str, default: float | None = None) -> float:
        v = self._get(key, default)
        if not isinstance(v, int | float):
            raise AttrError(f"attribute '{key}' must be a number, got {v!r}")
        return float(v)

    def get_str(self, key: str, default: str | None = None) -> str:
        return str(self._get(key, default))

    def get_ints(self, key: str, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
        v = self._get(key, default)
        if not isinstance(v, tuple):
            raise AttrError(f"attribute '{key}' must be a list of integers, got {v!r}")
        return tuple(int(x) for x in v)

    def get_floats(self, key: str, default: tuple[float, ...] | None = None
                   ) -> tuple[float, ...]:
        v = self._get(key, default)
        if not isinstance(v, tuple):
            raise AttrError(f"attribute '{key}' must be a list of numbers, got {v!r}")
        return tuple(float(x) for x in v)

    def _get(self, key: str, default: AttrValue | None) -> AttrValue:
        # No default: the attribute must be there (KeyError, like attrs[key]).
        return self[key] if default is None else self.get(key, default)


@dataclass(frozen=True, slots=True)
class Var:
    """A named SSA value (function parameter or binding result)."""

    name: str
    type: Type

    def __str__(self) -> str:
        return f"%{self.name}"

    @property
    def tensor_type(self) -> TensorType:
        """``type`` where the var must be a tensor (every var but a multi-output call's)."""
        if not isinstance(self.type, TensorType):
            raise TypeError(f"%{self.name} is the tuple {self.type}, not a tensor")
        return self.type


@dataclass(frozen=True, slots=True, eq=False)
class Constant:
    """A literal tensor (initializers, folded values). Compared by identity."""

    value: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        self.value.setflags(write=False)  # constants are shared between modules

    @property
    def type(self) -> TensorType:
        return tensor_type_of(self.value)

    @property
    def tensor_type(self) -> TensorType:
        return self.type  # so Var | Constant reads a tensor type one way

    def __str__(self) -> str:
        if self.value.size <= 8:
            data = np.array2string(self.value.reshape(-1), separator=",").replace("\n", "")
            return f"const<{self.type}>{data}"
        label = f" {self.name}" if self.name else ""
        return f"const<{self.type}{label}>"


Arg = Union[Var, Constant, None]


@dataclass(frozen=True, slots=True)
class Call:
    """Call of a built-in op (see :mod:`core.ops`)."""

    op: str
    args: tuple[Arg, ...]
    attrs: Attrs = field(default_factory=Attrs)


@dataclass(frozen=True, slots=True)
class CallTIR:
    """Destination-passing call of a tensor program ``func`` of the module."""

    func: str
    args: tuple[Arg, ...]
    out_type: Type


@dataclass(frozen=True, slots=True)
class CallExtern:
    """Call of an external function by symbol (vendor kernel, compiled region)."""

    symbol: str
    args: tuple[Arg, ...]
    out_type: Type
    attrs: Attrs = field(default_factory=Attrs)


@dataclass(frozen=True, slots=True)
class CallFunc:
    """Call of another graph function of the module."""

    func: str
    args: tuple[Arg, ...]


@dataclass(frozen=True, slots=True)
class TupleGetItem:
    """Field ``index`` of a tuple-typed value."""

    value: Var
    index: int


Expr = Union[Call, CallTIR, CallExtern, CallFunc, TupleGetItem]


@dataclass(frozen=True, slots=True)
class Binding:
    var: Var
    value: Expr
    # Where the binding came from (e.g. the ONNX node name), for messages.
    source: str = ""


@dataclass(frozen=True, slots=True)
class Block:
    """A sequence of bindings; a ``dataflow`` block holds only pure calls."""

    bindings: tuple[Binding, ...]
    dataflow: bool = True


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[Var, ...]
    blocks: tuple[Block, ...]
    outputs: tuple[Var | Constant, ...]
    attrs: Attrs = field(default_factory=Attrs)

    @property
    def bindings(self) -> Iterator[Binding]:
        for block in self.blocks:
            yield from block.bindings

    @property
    def ret_type(self) -> Type:
        types = tuple(o.type for o in self.outputs)
        if len(types) == 1:
            return types[0]
        fields = tuple(t for t in types if isinstance(t, TensorType))
        assert len(fields) == len(types)
        return TupleType(fields)


@dataclass(frozen=True, slots=True)
class Module:
    """Functions by name. Graph functions and (later) tensor programs live side by side."""

    functions: tuple[Any, ...]
    entry: str = "main"

    def __getitem__(self, name: str) -> Any:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(f"module has no function '{name}'")

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.functions)

    @property
    def main(self) -> Function:
        return self[self.entry]

    def with_function(self, func: Any) -> Module:
        """A new module where ``func`` replaces the function of the same name (or is added)."""
        rest = tuple(f for f in self.functions if f.name != func.name)
        if func.name in self:
            ordered = tuple(func if f.name == func.name else f for f in self.functions)
            return Module(ordered, self.entry)
        return Module((*rest, func), self.entry)


def args_of(expr: Expr) -> tuple[Arg, ...]:
    if isinstance(expr, TupleGetItem):
        return (expr.value,)
    return expr.args


def used_vars(expr: Expr) -> Iterable[Var]:
    return (a for a in args_of(expr) if isinstance(a, Var))


def with_args(expr: Expr, args: tuple[Arg, ...]) -> Expr:
    """The same expression over new arguments."""
    if isinstance(expr, TupleGetItem):
        (value,) = args
        assert isinstance(value, Var)
        return TupleGetItem(value, expr.index)
    if isinstance(expr, Call):
        return Call(expr.op, args, expr.attrs)
    if isinstance(expr, CallTIR):
        return CallTIR(expr.func, args, expr.out_type)
    if isinstance(expr, CallExtern):
        return CallExtern(expr.symbol, args, expr.out_type, expr.attrs)
    return CallFunc(expr.func, args)
