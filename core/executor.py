"""Reference executor: runs a module on numpy inputs.

This is the living definition of op semantics that every later stage is
tested against. Symbolic dimensions are bound from the input shapes, and
every computed value is checked against its inferred type, so an inference
bug shows up here as an error naming the binding, not as a wrong result later.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from core import symbolic as sym
from core.builder import sanitize
from core.errors import VendorSdkError
from core.graph import (
    Arg,
    Call,
    CallExtern,
    CallFunc,
    CallTIR,
    Constant,
    Function,
    Module,
    TupleGetItem,
    Var,
)
from core.ops import get_op
from core.types import TensorType, TupleType, Type

Value = np.ndarray | tuple[np.ndarray, ...]
# An external implementation: arrays in, arrays out (a tuple for multi-output).
Extern = Callable[..., Value]


class ExecutionError(VendorSdkError):
    """Running a module failed; the message names the function and binding."""


# A declared extent, digested once: fixed, one symbol, or an expression to evaluate.
_Extent = int | str | sym.Dim


def _digest(dim: sym.Dim) -> _Extent:
    names = sym.free_vars(dim)
    if not names:
        return sym.evaluate(dim, {})
    name = next(iter(names)) if len(names) == 1 else ""
    return name if name and sym.equal(dim, sym.var(name)) else dim


@functools.lru_cache(maxsize=4096)
def _tensor_plan(t: TensorType) -> tuple[np.dtype, tuple[_Extent, ...]]:
    """What checking a value against ``t`` needs, computed once per type."""
    return np.dtype(t.dtype), tuple(_digest(d) for d in t.shape)


def bind_shapes(params: Sequence[Var], arrays: Sequence[np.ndarray], where: str) -> dict[str, int]:
    """Bind symbolic dims from concrete input shapes; check everything that is fixed."""
    env: dict[str, int] = {}
    pending: list[tuple[str, sym.Dim, int]] = []
    for p, a in zip(params, arrays, strict=True):
        t = p.type
        assert isinstance(t, TensorType)
        dtype, dims = _tensor_plan(t)
        if a.ndim != len(dims):
            raise ExecutionError(f"{where}: input '{p.name}' has rank {a.ndim}, expected {t}")
        if a.dtype != dtype:
            raise ExecutionError(f"{where}: input '{p.name}' has dtype {a.dtype}, expected {t}")
        for dim, actual in zip(dims, a.shape, strict=True):
            if isinstance(dim, int):
                if dim != actual:
                    raise ExecutionError(f"{where}: input '{p.name}' has extent {actual} where "
                                         f"{t} says {dim}")
            elif isinstance(dim, str):
                if env.setdefault(dim, actual) != actual:
                    raise ExecutionError(
                        f"{where}: input '{p.name}' binds {dim}={actual}, but it is {env[dim]} "
                        "from an earlier input"
                    )
            else:
                pending.append((p.name, dim, actual))
    for name, dim, actual in pending:
        _solve_linear(dim, actual, env)
        try:
            expect = sym.evaluate(dim, env)
        except KeyError as e:
            raise ExecutionError(f"{where}: input '{name}': {e.args[0]}") from None
        if expect != actual:
            raise ExecutionError(
                f"{where}: input '{name}' has extent {actual} where {sym.to_str(dim)} = {expect}"
            )
    return env


def _solve_linear(dim: sym.Dim, actual: int, env: dict[str, int]) -> None:
    """Bind the one unbound symbol of a linear dim like ``2*N + 1`` from its extent."""
    unbound = sorted(sym.free_vars(dim) - set(env))
    if len(unbound) != 1:
        return
    (name,) = unbound
    try:
        b = sym.evaluate(dim, {**env, name: 0})
        a = sym.evaluate(dim, {**env, name: 1}) - b
        linear = sym.evaluate(dim, {**env, name: 2}) == 2 * a + b
    except KeyError:
        return
    if linear and a != 0 and (actual - b) % a == 0:
        env[name] = (actual - b) // a


def _check(value: Value, t: Type, env: Mapping[str, int], where: object) -> None:
    if isinstance(t, TupleType):
        if not isinstance(value, tuple) or len(value) != len(t.fields):
            raise ExecutionError(f"{where}: expected a tuple of {len(t.fields)} values")
        for v, f in zip(value, t.fields, strict=True):
            _check(v, f, env, where)
        return
    if not isinstance(value, np.ndarray):
        raise ExecutionError(f"{where}: produced {type(value).__name__}, expected a tensor {t}")
    assert isinstance(t, TensorType)
    dtype, dims = _tensor_plan(t)
    if value.dtype != dtype:
        raise ExecutionError(f"{where}: produced dtype {value.dtype}, type says {t}")
    try:
        shape = tuple(d if isinstance(d, int) else env[d] if isinstance(d, str)
                      else sym.evaluate(d, env) for d in dims)
    except KeyError:
        return  # a data-dependent dim: nothing static to check against
    if shape != value.shape:
        raise ExecutionError(f"{where}: produced shape {value.shape}, type says {t} = {shape}")


class _Where:
    """``main: %y (Conv_3)``, formatted on demand."""

    __slots__ = ("func", "source", "var")

    def __init__(self, func: str, var: str, source: str | None) -> None:
        self.func, self.var, self.source = func, var, source

    def __str__(self) -> str:
        return f"{self.func}: %{self.var}" + (f" ({self.source})" if self.source else "")


HOSTS = ("llvm", "interp")


class Executor:
    """Interprets graph functions; ``externs`` implement CallExtern / CallTIR targets.

    ``host`` says how the module's own tensor programs (CallTIR) run: ``"llvm"``
    as machine code (core.codegen_llvm), ``"interp"`` through the TIR interpreter.
    ``reassociate`` (llvm only) lets the host schedule split float sums into partial
    sums, as onnxruntime and BLAS do; False keeps them bit-identical to ``"interp"``.
    """

    def __init__(self, module: Module, externs: Mapping[str, Extern] | None = None,
                 host: str = "llvm", reassociate: bool = True) -> None:
        if host not in HOSTS:
            raise ExecutionError(f"unknown host {host!r}; choose one of {', '.join(HOSTS)}")
        self.module = module
        self.externs = dict(externs or {})
        self.host = host
        self.reassociate = reassociate

    def run(self, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
            func: str | None = None) -> list[np.ndarray]:
        f: Function = self.module[func or self.module.entry]
        if isinstance(inputs, Mapping):
            # Accept the model's own tensor names too ('gpu_0/data_0' for %gpu_0_data_0).
            by_name = {sanitize(k): v for k, v in inputs.items()} | dict(inputs)
            missing = [p.name for p in f.params if p.name not in by_name]
            if missing:
                raise ExecutionError(f"{f.name}: missing inputs {missing}")
            arrays = [np.asarray(by_name[p.name]) for p in f.params]
        else:
            arrays = [np.asarray(a) for a in inputs]
            if len(arrays) != len(f.params):
                raise ExecutionError(f"{f.name}: takes {len(f.params)} inputs, got {len(arrays)}")
        return self._call(f, arrays)

    def _call(self, f: Function, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        env = bind_shapes(f.params, arrays, f.name)
        values: dict[str, Value] = {p.name: a for p, a in zip(f.params, arrays, strict=True)}

        def get(arg: Arg) -> Any:
            if arg is None:
                return None
            if isinstance(arg, Constant):
                return arg.value
            return values[arg.name]

        for b in f.bindings:
            # The binding's location is formatted only when a message needs it: this loop
            # runs once per op call, and compiled ops take a few microseconds.
            where = _Where(f.name, b.var.name, b.source)
            try:
                out = self._eval(b.value, get, where)
            except ExecutionError:
                raise
            except Exception as e:  # an op's numpy code failed: say where
                raise ExecutionError(f"{where}: {type(e).__name__}: {e}") from e
            _check(out, b.var.type, env, where)
            values[b.var.name] = out
        return [np.asarray(get(o)) for o in f.outputs]

    def _eval(self, expr: Any, get: Callable[[Arg], Any], where: object) -> Value:
        if isinstance(expr, Call):
            result = get_op(expr.op).compute([get(a) for a in expr.args], expr.attrs)
            return result if isinstance(result, tuple) else np.asarray(result)
        if isinstance(expr, TupleGetItem):
            return get(expr.value)[expr.index]
        if isinstance(expr, CallFunc):
            outs = self._call(self.module[expr.func], [get(a) for a in expr.args])
            return outs[0] if len(outs) == 1 else tuple(outs)
        if isinstance(expr, CallExtern | CallTIR):
            key = expr.symbol if isinstance(expr, CallExtern) else expr.func
            impl = self.externs.get(key)
            if impl is None and isinstance(expr, CallTIR) and key in self.module:
                impl = _tir_impl(self.module[key], self.host, self.reassociate)
                if impl is not None:
                    self.externs[key] = impl  # compile (or wrap) once per executor
            if impl is None:
                raise ExecutionError(f"{where}: no implementation for external '{key}'")
            return impl(*[get(a) for a in expr.args])
        raise ExecutionError(f"{where}: cannot execute {type(expr).__name__}")


def _tir_impl(func: Any, host: str, reassociate: bool) -> Extern | None:
    """A tensor program of the module, as machine code or run by the TIR interpreter."""
    from core.tir import PrimFunc, call

    if not isinstance(func, PrimFunc):
        return None
    run: Callable[..., list[np.ndarray]]
    if host == "llvm":
        from core.codegen_llvm import compile_func

        run = compile_func(func, reassociate)
    else:
        def run(*arrays: np.ndarray) -> list[np.ndarray]:
            return call(func, arrays)
    return lambda *arrays: run(*arrays)[0] if func.num_outputs == 1 else tuple(run(*arrays))


def run(module: Module, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
        externs: Mapping[str, Extern] | None = None, host: str = "llvm",
        reassociate: bool = True) -> list[np.ndarray]:
    """Run the module's entry function; see :class:`Executor`."""
    return Executor(module, externs, host, reassociate).run(inputs)
