"""Calling compiled PrimFuncs on numpy arrays (ctypes).

Everything the machine code assumes is checked here, before the call: dtype,
rank and extents against the buffer declarations (size variables bound from
the shapes, as the interpreter binds them), C-contiguity (the code indexes
row-major), and that no output overlaps another argument (the code declares
its pointers ``noalias``).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np

from core.codegen_llvm.error import CodegenError
from core.codegen_llvm.jit import Artifact, compile_artifact
from core.tir.expr import Const, Expr, Var
from core.tir.interp import Evaluator, InterpError, bind_sizes
from core.tir.printer import expr_str
from core.tir.stmt import PrimFunc

# A declared extent, pre-digested for the per-call check: fixed, a size variable, or other.
_Dim = int | str | Expr


def _digest(d: Expr) -> _Dim:
    if isinstance(d, Const):
        return int(d.value)
    if isinstance(d, Var):
        return d.name
    return d


class CompiledFunc:
    """A PrimFunc as machine code. ``run(arrays)`` works in place (inputs then
    outputs); calling it with the inputs allocates and returns the outputs."""

    def __init__(self, func: PrimFunc, artifact: Artifact) -> None:
        self.func, self.artifact = func, artifact
        sig = artifact.signature
        proto = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * len(sig.params)),
                                 *([ctypes.c_int64] * len(sig.sizes)))
        self._cfunc = proto(artifact.address)
        self._dtypes = [np.dtype(p.dtype) for p in func.params]
        self._dims = [tuple(_digest(d) for d in p.shape) for p in func.params]
        # Extents other than constants and plain variables need the interpreter's solver.
        self._simple = all(isinstance(d, int | str) for ds in self._dims for d in ds)
        self._n_in = len(func.params) - func.num_outputs
        # Whether every size variable is some parameter's extent: then no per-call check.
        named = {d for ds in self._dims for d in ds if isinstance(d, str)}
        self._all_named = self._simple and set(sig.sizes) <= named
        # Fully static signatures (most host programs): one tuple comparison per array.
        self._static = [tuple(ds) if all(isinstance(d, int) for d in ds) else None
                        for ds in self._dims] if not sig.sizes else None

    @property
    def name(self) -> str:
        return self.func.name

    def sizes(self, arrays: Sequence[np.ndarray], count: int | None = None) -> dict[str, int]:
        """Size variables bound from the first ``count`` arrays (default all), checked."""
        f = self.func
        params = f.params if count is None else f.params[:count]
        if self._static is not None and len(arrays) == len(params) and all(
                type(a) is np.ndarray and a.dtype is dt and a.shape == shape
                and a.flags.c_contiguous
                for a, dt, shape in zip(arrays, self._dtypes, self._static, strict=False)):
            return {}  # nothing to bind; anything else takes the checks below (messages)
        if len(arrays) != len(params):
            raise CodegenError(f"{f.name}: takes {len(params)} arrays, got {len(arrays)}")
        env: dict[str, int] = {}
        for p, dt, dims, a in zip(params, self._dtypes, self._dims, arrays, strict=False):
            if not isinstance(a, np.ndarray) or a.dtype != dt or a.ndim != len(dims):
                raise CodegenError(f"{f.name}: {p.name} expects {p.dtype} of rank {p.rank}, got "
                                   f"{getattr(a, 'dtype', type(a).__name__)} of shape "
                                   f"{getattr(a, 'shape', '?')}")
            if not a.flags.c_contiguous:
                raise CodegenError(f"{f.name}: {p.name} is not C-contiguous (strides "
                                   f"{a.strides}); pass np.ascontiguousarray(...)")
            if not self._simple:
                continue
            for d, n in zip(dims, a.shape, strict=True):
                if isinstance(d, str):
                    if env.setdefault(d, n) != n:
                        raise CodegenError(f"{f.name}: {p.name} binds {d}={n}, but it is "
                                           f"{env[d]} from an earlier buffer")
                elif d != n:
                    raise CodegenError(f"{f.name}: {p.name} has shape {a.shape}, declared "
                                       f"[{', '.join(expr_str(x) for x in p.shape)}]")
        if not self._simple:
            try:
                env = bind_sizes(f, arrays, params)
            except InterpError as e:
                raise CodegenError(str(e)) from None
        return env

    def run(self, arrays: Sequence[np.ndarray]) -> None:
        """Execute in place on ``arrays`` (every parameter, outputs last)."""
        env = self.sizes(arrays)
        ptrs = [a.ctypes.data for a in arrays]
        self._check_aliasing(arrays, ptrs)
        self._call(ptrs, env)

    def _check_aliasing(self, arrays: Sequence[np.ndarray], ptrs: list[int]) -> None:
        f = self.func
        # The arrays are C-contiguous (checked above), so each occupies exactly
        # [address, address + nbytes): overlap is an interval test, not np.may_share_memory.
        for k in range(self._n_in, len(arrays)):
            lo, hi = ptrs[k], ptrs[k] + arrays[k].nbytes
            for j, other in enumerate(arrays):  # empty arrays share no memory
                if j != k and other.nbytes and lo < ptrs[j] + other.nbytes and ptrs[j] < hi:
                    raise CodegenError(f"{f.name}: output {f.params[k].name} overlaps "
                                       f"{f.params[j].name}; compiled code assumes no aliasing")

    def _call(self, ptrs: Sequence[int], env: dict[str, int]) -> None:
        """The machine code on checked arrays' addresses, size variables bound in ``env``."""
        f = self.func
        sizes = self.artifact.signature.sizes
        if not self._all_named:
            missing = [s for s in sizes if s not in env]
            if missing:
                raise CodegenError(f"{f.name}: size variables {missing} are not determined by "
                                   "the argument shapes")
        self._cfunc(*ptrs, *(env[s] for s in sizes))

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        arrays = [a if type(a) is np.ndarray else np.asarray(a) for a in inputs]
        n_in = self._n_in
        env = self.sizes(arrays, n_in)
        outs = [np.empty(self._shape(k, env), self._dtypes[k])
                for k in range(n_in, len(self.func.params))]
        # Fresh outputs: their shapes follow from env and they alias nothing.
        self._call([a.ctypes.data for a in (*arrays, *outs)], env)
        return outs

    def _shape(self, k: int, env: dict[str, int]) -> tuple[int, ...]:
        shape = []
        for d in self._dims[k]:
            if isinstance(d, int):
                shape.append(d)
            elif isinstance(d, str) and d in env:
                shape.append(env[d])
            else:
                expr = Var(d) if isinstance(d, str) else d
                try:
                    shape.append(int(Evaluator(dict(env), {})(expr)[0]))
                except InterpError as e:
                    raise CodegenError(f"{self.func.name}: output extent "
                                       f"{expr_str(expr)}: {e}") from None
        return tuple(shape)


def compile_func(func: PrimFunc, reassociate: bool = True) -> CompiledFunc:
    """Compile ``func`` to machine code (cached by its printed text). With
    ``reassociate=False`` float reductions add in program order (bit-identical to the
    interpreter on ``func``); by default the host schedule may split them into partial
    sums over contiguous memory (see :func:`core.schedule.host.host_schedule`)."""
    return CompiledFunc(func, compile_artifact(func, reassociate))
