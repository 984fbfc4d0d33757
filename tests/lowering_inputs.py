"""Random inputs and one-function modules over them, for the lowering tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core import symbolic as sym
from core.builder import FunctionBuilder, single_function_module
from core.graph import Module
from core.types import TensorType

N = sym.var("N")
Build = Callable[..., list]
rng = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def i8(*shape: int) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def scalar(v: float) -> np.ndarray:
    return np.array(v, np.float32)


def module_of(build: Build, inputs: list[np.ndarray], symbolic_batch: bool) -> Module:
    """``main(x0, x1, ...) = build(fb, x0, x1, ...)``; with ``symbolic_batch`` the leading
    dim of every input with the first input's rank and leading extent is N."""
    fb = FunctionBuilder("main")
    lead = inputs[0].shape[:1]
    params = []
    for k, a in enumerate(inputs):
        batched = symbolic_batch and a.ndim == inputs[0].ndim and a.shape[:1] == lead
        shape = tuple(N if batched and d == 0 else s for d, s in enumerate(a.shape))
        params.append(fb.param(f"x{k}", TensorType(str(a.dtype), shape)))
    return single_function_module(fb.finish(build(fb, *params)))
