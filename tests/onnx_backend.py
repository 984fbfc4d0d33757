"""An ``onnx.backend.base.Backend`` over the graph IR: ONNX import + reference executor.

It exists so ONNX's own conformance suite (``onnx.backend.test``) can check the
IR's op semantics, from the frontend's opset conversions down to each op's
numpy reference and the executor's type checks.

Shape-like inputs: the node-test models feed some values the IR needs at
import time (a Reshape target, Slice starts, reduce axes, Range bounds) as
graph *inputs* rather than initializers; the IR types those from their values.
So :class:`IRBackendRep` imports eagerly when it can, and otherwise imports
in :meth:`IRBackendRep.run`, binding such inputs to the values it is given as
if they were initializers — first only small integer tensors, then any small
1-D/scalar input. A model whose import fails even then reports the original
import error. Each binding is imported once and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

from core.executor import run
from core.graph import Module
from vendor_sdk.frontend.onnx import FrontendError, from_onnx

# Inputs at most this large may be bound as constants to make import possible.
_MAX_BOUND_SIZE = 64


def _is_shape_like(a: np.ndarray) -> bool:
    return a.ndim <= 1 and a.size <= _MAX_BOUND_SIZE and a.dtype.kind in "iub"


def _is_small(a: np.ndarray) -> bool:
    return a.ndim <= 1 and a.size <= _MAX_BOUND_SIZE


_BINDING_STRATEGIES: tuple[Callable[[np.ndarray], bool], ...] = (_is_shape_like, _is_small)


class IRBackendRep(BackendRep):
    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        initializers = {i.name for i in model.graph.initializer}
        self.input_names = [i.name for i in model.graph.input if i.name not in initializers]
        self._cache: dict[tuple[Any, ...], tuple[Module, list[bool]]] = {}
        self._eager_error: FrontendError | None = None
        try:
            module = from_onnx(model)
            self._cache[()] = (module, [True] * len(self.input_names))
        except FrontendError as e:
            self._eager_error = e

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        arrays = [np.asarray(x) for x in (inputs if isinstance(inputs, list | tuple) else [inputs])]
        if len(arrays) != len(self.input_names):
            raise ValueError(f"model takes {len(self.input_names)} inputs, got {len(arrays)}")
        module, fed = self._module_for(arrays)
        return tuple(run(module, [a for a, keep in zip(arrays, fed, strict=True) if keep]))

    def _module_for(self, arrays: Sequence[np.ndarray]) -> tuple[Module, list[bool]]:
        if () in self._cache:
            return self._cache[()]
        assert self._eager_error is not None
        for bindable in _BINDING_STRATEGIES:
            bound = [bindable(a) for a in arrays]
            if not any(bound):
                continue
            key = tuple((i, a.dtype.str, a.tobytes()) for i, a in enumerate(arrays) if bound[i])
            if key not in self._cache:
                try:
                    self._cache[key] = (from_onnx(self._bind(arrays, bound)),
                                        [not b for b in bound])
                except FrontendError:
                    continue
            return self._cache[key]
        raise self._eager_error

    def _bind(self, arrays: Sequence[np.ndarray], bound: Sequence[bool]) -> onnx.ModelProto:
        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        for name, a, b in zip(self.input_names, arrays, bound, strict=True):
            if b:  # the importer skips graph inputs that an initializer defines
                model.graph.initializer.append(numpy_helper.from_array(a, name))
        return model


class IRBackend(Backend):
    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> IRBackendRep:
        return IRBackendRep(model)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"
