"""Building graph functions binding by binding, with types inferred as you go."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import VendorSdkError
from core.graph import (
    Arg,
    Attrs,
    Binding,
    Block,
    Call,
    Constant,
    Expr,
    Function,
    Module,
    TupleGetItem,
    Var,
)
from core.infer import infer_expr
from core.ops import get_op
from core.ops.registry import OpError
from core.types import TensorType


class BuildError(VendorSdkError):
    """A binding could not be typed; the message names the binding and its source."""


@functools.lru_cache(maxsize=4096)
def sanitize(name: str) -> str:
    """A printable SSA name from an arbitrary tensor name (ONNX allows '/', ':', ...)."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_") or "v"
    return f"v{s}" if s[0].isdigit() else s


class FunctionBuilder:
    """Accumulates bindings; ``finish`` returns an immutable :class:`Function`.

    Names are made unique here so that every Var in a function is distinct.
    """

    def __init__(self, name: str, module: Module | None = None) -> None:
        self.name = name
        self.module = module
        self._params: list[Var] = []
        self._bindings: list[Binding] = []
        self._names: set[str] = set()

    def fresh(self, hint: str) -> str:
        base = sanitize(hint)
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def param(self, name: str, type_: TensorType) -> Var:
        v = Var(self.fresh(name), type_)
        self._params.append(v)
        return v

    def emit(self, expr: Expr, name: str = "v", source: str = "") -> Var:
        try:
            t = infer_expr(expr, self.module)
        except OpError as e:
            where = f" (from {source})" if source else ""
            raise BuildError(f"binding %{sanitize(name)}{where}: {e}") from None
        v = Var(self.fresh(name), t)
        self._bindings.append(Binding(v, expr, source))
        return v

    def op(self, op: str, *args: Arg | np.ndarray, name: str | None = None,
           source: str = "", **attrs: Any) -> Var:
        """Emit a built-in op call; numpy arrays become constants, attributes get defaults."""
        try:
            full = get_op(op).complete_attrs(attrs)
        except OpError as e:
            raise BuildError(f"binding %{sanitize(name or op.lower())}: {e}") from None
        atoms = tuple(Constant(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in args)
        return self.emit(Call(op, atoms, full), name or op.lower(), source)

    def unpack(self, value: Var, count: int, names: Sequence[str] | None = None) -> list[Var]:
        names = names or [f"{value.name}_{i}" for i in range(count)]
        return [self.emit(TupleGetItem(value, i), names[i]) for i in range(count)]

    def finish(self, outputs: Sequence[Var | Constant], attrs: Attrs | None = None) -> Function:
        return Function(
            self.name,
            tuple(self._params),
            (Block(tuple(self._bindings), dataflow=True),),
            tuple(outputs),
            attrs or Attrs(),
        )


def single_function_module(func: Function) -> Module:
    return Module((func,), entry=func.name)
