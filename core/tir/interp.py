"""Reference interpreter of tensor programs: the definition every transformation is
tested against.

Values are numpy arrays in the node's own dtype, so integer arithmetic wraps
exactly as the IR (and C) says, with no int64 detour that could hide an
overflow. Loop nests are evaluated vectorised where that is provably the same
as running them in order (see :mod:`core.tir.vectorize`); everything else runs
one iteration at a time. Loads out of bounds are "poison": harmless when a
``select`` or a predicate discards them (padding), an error naming the load
when they reach a store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from core.errors import VendorSdkError
from core.tir.expr import Bin, Cast, Const, Expr, Load, RShiftRound, Select, Unary, Var
from core.tir.printer import expr_str
from core.tir.stmt import Allocate, Block, Buffer, For, IntrinCall, PrimFunc, Seq, Stmt, Store


class InterpError(VendorSdkError):
    """Running a tensor program failed; the message names the statement."""


Poison = np.ndarray | None
_erf = np.frompyfunc(math.erf, 1, 1)


def rshift_round(x: np.ndarray, s: np.ndarray, mode: str) -> np.ndarray:
    """``x / 2**s`` rounded by mode, computed in int64 (0 <= s <= 63)."""
    x64, s64 = np.broadcast_arrays(np.asarray(x, np.int64), np.asarray(s, np.int64))
    q = x64 >> s64
    rem = x64 & ~(np.int64(-1) << s64)
    half = np.where(s64 > 0, np.int64(1) << np.maximum(s64 - 1, 0), 0)
    above, tie = rem > half, (rem == half) & (s64 > 0)
    ups = {
        "floor": np.zeros_like(above), "trunc": (rem != 0) & (x64 < 0),
        "half_up": above | tie, "half_down": above,
        "half_even": above | (tie & ((q & 1) == 1)), "half_away": above | (tie & (x64 >= 0)),
    }
    return q + ups[mode].astype(np.int64)


def _or(a: Poison, b: Poison) -> Poison:
    if a is None:
        return b
    return a if b is None else a | b


class Evaluator:
    """Evaluates expressions under ``env`` (ints or broadcastable index arrays)."""

    def __init__(self, env: dict[str, Any], buffers: dict[str, np.ndarray]) -> None:
        self.env, self.buffers = env, buffers
        self.bad_loads: list[str] = []

    def __call__(self, e: Expr) -> tuple[np.ndarray, Poison]:
        match e:
            case Const(v, dt):
                return np.asarray(v, dtype=dt), None
            case Var(name):
                try:
                    return np.asarray(self.env[name], dtype=e.dtype), None
                except KeyError:
                    raise InterpError(f"variable '{name}' is not bound") from None
            case Bin(op, a, b):
                (va, pa), (vb, pb) = self(a), self(b)
                return _binary(op, va, vb), _or(pa, pb)
            case Unary(op, a):
                va, pa = self(a)
                return _unary(op, va), pa
            case Cast(dt, a):
                va, pa = self(a)
                with np.errstate(invalid="ignore", over="ignore"):
                    return va.astype(dt), pa
            case Select(c, a, b):
                (vc, pc), (va, pa), (vb, pb) = self(c), self(a), self(b)
                poison = None
                if pa is not None or pb is not None:
                    za = np.zeros((), bool)
                    poison = np.where(vc, za if pa is None else pa, za if pb is None else pb)
                return np.where(vc, va, vb).astype(va.dtype), _or(pc, poison)
            case RShiftRound(x, s, mode):
                (vx, px), (vs, ps) = self(x), self(s)
                return rshift_round(vx, vs, mode).astype(vx.dtype), _or(px, ps)
            case Load(buf, idx):
                return self.load(buf, idx)
        raise InterpError(f"cannot evaluate {e!r}")

    def load(self, buf: Buffer, idx: tuple[Expr, ...]) -> tuple[np.ndarray, Poison]:
        arr = self.buffers[buf.name]
        poison: Poison = None
        coords = []
        for i, (ix, n) in enumerate(zip(idx, arr.shape, strict=True)):
            v, p = self(ix)
            poison = _or(poison, p)
            v = v.astype(np.int64)
            out = (v < 0) | (v >= n)
            if out.any():
                first = np.argwhere(np.broadcast_to(out, v.shape))[0] if v.ndim else ()
                bad = int(v[tuple(first)]) if v.ndim else int(v)
                self.bad_loads.append(f"{buf.name}[{', '.join(expr_str(x) for x in idx)}] "
                                      f"(index {i} = {bad}, extent {n})")
                poison = _or(poison, out)
                v = np.clip(v, 0, max(n - 1, 0))
            coords.append(v)
        if arr.size == 0:
            shape = np.broadcast_shapes(*(c.shape for c in coords))
            return np.zeros(shape, arr.dtype), np.ones(shape, bool)
        return arr[tuple(coords)], poison


def _binary(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        match op:
            case "+":
                return a + b
            case "-":
                return a - b
            case "*":
                return a * b
            case "/":
                return a / b
            case "//":
                return np.floor_divide(a, b)
            case "%":
                return np.mod(a, b)
            # Defined by comparison (C's `a < b ? a : b`), not IEEE min: the same in
            # every backend, NaN included.
            case "min":
                return np.where(b < a, b, a)
            case "max":
                return np.where(b > a, b, a)
            case "<<":
                return a << b
            case ">>":
                return a >> b
            case "&":
                return a & b
            case "|":
                return a | b
            case "^":
                return a ^ b
            case "and":
                return np.logical_and(a, b)
            case "or":
                return np.logical_or(a, b)
            case "<":
                return a < b
            case "<=":
                return a <= b
            case ">":
                return a > b
            case ">=":
                return a >= b
            case "==":
                return a == b
            case "!=":
                return a != b
    raise InterpError(f"unknown binary operator {op!r}")


def _unary(op: str, a: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        match op:
            case "neg":
                return np.negative(a)
            case "not":
                return np.logical_not(a)
            case "abs":
                return np.abs(a)
            case "exp" | "log" | "sqrt" | "tanh" | "floor":
                return getattr(np, op)(a)
            case "round_even":
                return np.rint(a)
            case "erf":
                return _erf(a).astype(a.dtype)
    raise InterpError(f"unknown unary operator {op!r}")


def garbage(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Fresh scratch memory: NaN / a recognisable integer, so reading it shows."""
    fill: float | int = np.nan if np.issubdtype(np.dtype(dtype), np.floating) else 77
    return np.full(shape, fill, dtype)


def bind_sizes(f: PrimFunc, arrays: Sequence[np.ndarray],
               params: Sequence[Buffer] | None = None) -> dict[str, int]:
    """Size variables from the shapes of ``arrays`` (for ``params``, default all);
    shapes and dtypes are checked."""
    params = f.params if params is None else params
    if len(arrays) != len(params):
        raise InterpError(f"{f.name}: takes {len(params)} buffers, got {len(arrays)}")
    env: dict[str, int] = {}
    pending: list[tuple[str, Expr, int]] = []
    for p, a in zip(params, arrays, strict=True):
        if a.ndim != p.rank or str(a.dtype) != p.dtype:
            raise InterpError(f"{f.name}: {p.name} expects {p.dtype} of rank {p.rank}, got "
                              f"{a.dtype} of shape {a.shape}")
        for d, n in zip(p.shape, a.shape, strict=True):
            if isinstance(d, Var):
                if env.setdefault(d.name, n) != n:
                    raise InterpError(f"{f.name}: {p.name} binds {d.name}={n}, but it is "
                                      f"{env[d.name]} from an earlier buffer")
            else:
                pending.append((p.name, d, n))
    for name, d, n in pending:
        _solve(d, n, env)
        try:
            want = int(Evaluator(dict(env), {})(d)[0])
        except InterpError as e:
            raise InterpError(f"{f.name}: extent of {name}: {e}") from None
        if want != n:
            raise InterpError(f"{f.name}: {name} has extent {n} where {expr_str(d)} = {want}")
    return env


def _solve(d: Expr, n: int, env: dict[str, int]) -> None:
    """Bind the one unbound variable of a linear extent such as ``2*N + 1``."""
    from core.tir.visit import free_vars

    unbound = sorted(free_vars(d) - set(env))
    if len(unbound) != 1:
        return
    (v,) = unbound

    def at(x: int) -> int:
        return int(Evaluator({**env, v: x}, {})(d)[0])

    b, a = at(0), at(1) - at(0)
    if a and at(2) == 2 * a + b and (n - b) % a == 0:
        env[v] = (n - b) // a


class Interpreter:
    def __init__(self, buffers: dict[str, np.ndarray], env: dict[str, Any]) -> None:
        self.buffers, self.env = buffers, env

    def evaluator(self, env: dict[str, Any] | None = None) -> Evaluator:
        return Evaluator(self.env if env is None else env, self.buffers)

    def scalar(self, e: Expr) -> int:
        v, p = self.evaluator()(e)
        if p is not None and p.any():
            raise InterpError(f"'{expr_str(e)}' reads out of bounds")
        return int(v)

    def exec(self, s: Stmt) -> None:
        from core.tir.vectorize import try_vectorized

        match s:
            case Seq(stmts):
                for x in stmts:
                    self.exec(x)
            case For(var, extent, body):
                if try_vectorized(self, s):
                    return
                for i in range(self.scalar(extent)):
                    self.env[var.name] = i
                    self.exec(body)
                self.env.pop(var.name, None)
            case Block():
                self.block(s)
            case Store():
                self.store(s)
            case Allocate(buf, body):
                shape = tuple(self.scalar(d) for d in buf.shape)
                self.buffers[buf.name] = garbage(shape, buf.dtype)
                self.exec(body)
                del self.buffers[buf.name]
            case IntrinCall():
                self.intrin(s)
            case _:
                raise InterpError(f"cannot execute {type(s).__name__}")

    def block(self, b: Block) -> None:
        if b.predicate is not None and not self.scalar(b.predicate):
            return
        first = True
        for iv, binding in zip(b.iters, b.bindings, strict=True):
            v, ext = self.scalar(binding), self.scalar(iv.extent)
            if not 0 <= v < ext:
                raise InterpError(f"block {b.name}: {iv.var.name} = {expr_str(binding)} = {v} "
                                  f"is outside [0, {ext})")
            first = first and (iv.kind == "spatial" or v == 0)
            self.env[iv.var.name] = v
        if b.init is not None and first:
            self.exec(b.init)
        self.exec(b.body)

    def store(self, s: Store) -> None:
        ev = self.evaluator()
        value, poison = ev(s.value)
        if poison is not None and poison.any():
            raise InterpError(f"store to {s.buffer.name}: out-of-bounds load "
                              f"{'; '.join(dict.fromkeys(ev.bad_loads))}")
        arr = self.buffers[s.buffer.name]
        idx = tuple(self.scalar(i) for i in s.indices)
        if any(not 0 <= i < n for i, n in zip(idx, arr.shape, strict=True)):
            raise InterpError(f"store to {s.buffer.name}{list(idx)} is out of bounds "
                              f"{arr.shape}")
        arr[idx] = value

    def intrin(self, call: IntrinCall) -> None:
        views = []
        for k, r in enumerate(call.args):
            arr = self.buffers[r.buffer.name]
            sl = []
            for ax, (st, ex) in enumerate(zip(r.starts, r.extents, strict=True)):
                a, n = self.scalar(st), self.scalar(ex)
                if a < 0 or a + n > arr.shape[ax]:
                    raise InterpError(f"{call.intrin.name}: region of {r.buffer.name} axis {ax} "
                                      f"[{a}, {a + n}) leaves [0, {arr.shape[ax]})")
                sl.append(slice(a, a + n))
            view = arr[tuple(sl)]
            keep = call.operand_axes(k)
            # Squeezing unit axes keeps a view, so the intrinsic writes land in the buffer.
            views.append(view.squeeze(tuple(a for a in range(view.ndim) if a not in keep)))
        if call.intrin.impl is not None:
            call.intrin.impl(*views)
        else:
            run(call.intrin.desc, views)


def run(f: PrimFunc, args: Sequence[np.ndarray], sizes: Mapping[str, int] | None = None) -> None:
    """Execute ``f`` in place on ``args`` (inputs then outputs, destination-passing)."""
    env: dict[str, Any] = dict(sizes or {}) or bind_sizes(f, args)
    buffers = {p.name: a for p, a in zip(f.params, args, strict=True)}
    Interpreter(buffers, env).exec(f.body)


def call(f: PrimFunc, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Allocate the outputs (shapes from the inputs' sizes) and run ``f``."""
    inputs = [np.asarray(a) for a in inputs]
    if len(inputs) != len(f.inputs):
        raise InterpError(f"{f.name}: takes {len(f.inputs)} inputs, got {len(inputs)}")
    ev = Evaluator(dict(bind_sizes(f, inputs, f.inputs)), {})
    outs = [garbage(tuple(int(ev(d)[0]) for d in p.shape), p.dtype) for p in f.outputs]
    run(f, [*inputs, *outs])
    return outs
