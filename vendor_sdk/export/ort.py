"""The NpuRegion kernels for onnxruntime (onnxruntime-extensions' Python custom ops).

    import vendor_sdk.export.ort as npu
    sess = onnxruntime.InferenceSession("x.npu.onnx", npu.session_options("x.npu.onnx"))

Importing this module registers one op type per region signature (ops.py); a session
registers the extensions library through ``session_options``. The kernel of a region node
hands its int8 inputs to ``NpuSession.run_region`` (what `vendor-sdk run` calls for the
region) on the export's backend and returns what the NPU wrote.

onnxruntime-extensions turns a Python exception inside a kernel into a process abort, so
``session_options(model)`` opens every package the model names first (library, target,
backend, the device) and raises ExportError there; what can only fail during a run (the
NPU stops with an error) prints the reason and ends the process with exit code 2.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime_extensions import (  # type: ignore[import-untyped]  # no stubs
    PyCustomOpDef,
    get_library_path,
    onnx_op,
)

from vendor_sdk.export.errors import ExportError
from vendor_sdk.export.ops import (
    ATTRIBUTES,
    DOMAIN,
    DTYPES,
    OP_PREFIX,
    Signature,
    all_signatures,
)
from vendor_sdk.export.package import Package, cached_library, load_package
from vendor_sdk.runtime.npu import NpuSession

__all__ = ["open_model", "recording", "session_options"]

_PY_TYPES = {3: PyCustomOpDef.dt_int8, 2: PyCustomOpDef.dt_uint8}


@dataclass
class _Open:
    """One export's package with its device open; calls are serialized (one device)."""

    package: Package
    session: NpuSession
    lock: threading.Lock = field(default_factory=threading.Lock)


_OPEN: dict[tuple[str, str], _Open] = {}     # (export id, backend) -> open device
_DIRS: dict[str, Path] = {}                  # export id -> its package, by session_options
_BACKEND: dict[str, str] = {}                # export id -> backend chosen at session time
_GUARD = threading.Lock()
_RECORD: list[list[tuple[str, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]] = []


@contextmanager
def recording(calls: list[tuple[str, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]
              ) -> Iterator[None]:
    """Append every region call (region, inputs, outputs as the NPU gave them) to ``calls``
    while inside (vendor_sdk.export.verify)."""
    _RECORD.append(calls)
    try:
        yield
    finally:
        _RECORD.remove(calls)


def _open(export_id: str, package: str, backend: str, target: str) -> _Open:
    """The export's open device (opened on first use; the package is found where
    session_options saw it, else relative to the working directory)."""
    backend = _BACKEND.get(export_id, backend)
    with _GUARD:
        key = (export_id, backend)
        if key not in _OPEN:
            root = _DIRS.get(export_id, Path(package))
            pkg = load_package(root, export_id)
            _OPEN[key] = _Open(pkg, _session(pkg, target, backend))
        return _OPEN[key]


def _session(pkg: Package, target: str, backend: str) -> NpuSession:
    from vendor_sdk.export.model import check_backend
    from vendor_sdk.plugins import resolve_target
    from vendor_sdk.runtime.device import DeviceError
    from vendor_sdk.target import TargetError

    check_backend(backend)
    try:
        tgt = resolve_target(target)
    except TargetError as e:
        raise ExportError(f"target {target}", f"does not load: {e}", "install the target's "
                          "package (vendor-sdk targets lists what is installed)") from None
    try:
        return NpuSession(cached_library(pkg), pkg.regions, tgt, backend)
    except OSError as e:  # the dynamic loader: the runtime library it was linked against
        raise ExportError(str(pkg.library), f"does not load ({e})", "it was built against "
                          f"another build of the {tgt.name} runtime; export again") from None
    except DeviceError as e:
        raise ExportError(f"target {tgt.name}, backend {backend}", str(e)) from None


def _to_npu(x: np.ndarray) -> np.ndarray:
    """uint8 activations are int8 ones plus 128 (vendor_sdk.frontend.uint8): exact."""
    return (x.astype(np.int16) - 128).astype(np.int8) if x.dtype == np.uint8 else x


def _from_npu(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return (y.astype(np.int16) + 128).astype(np.uint8) if dtype == np.uint8 else y


def _kernel(sig: Signature) -> Callable[..., np.ndarray | tuple[np.ndarray, ...]]:
    out_dtype = DTYPES[sig.outputs][1]

    def run(*xs: np.ndarray, region: str, package: str, export_id: str, backend: str,
            target: str) -> np.ndarray | tuple[np.ndarray, ...]:
        try:
            op = _open(export_id, package, backend, target)
            ins = tuple(map(_to_npu, xs))
            with op.lock:
                ys = op.session.run_region(region, *ins)
        except Exception as e:  # any: raising here aborts the process (module doc)
            _fail(region, e)
        outs = ys if isinstance(ys, tuple) else (ys,)
        for calls in _RECORD:
            calls.append((region, tuple(x.copy() for x in ins), tuple(y.copy() for y in outs)))
        outs = tuple(_from_npu(y, out_dtype) for y in outs)
        return outs if len(outs) > 1 else outs[0]

    return run


def _fail(region: str, e: Exception) -> NoReturn:
    text = e.describe() if isinstance(e, ExportError) else str(e)
    print(f"error: NPU region {region}: {text}", file=sys.stderr, flush=True)
    if not isinstance(e, ExportError):
        print("    hint: open the session with vendor_sdk.export.ort.session_options(MODEL) "
              "to have such errors raised before the run", file=sys.stderr, flush=True)
    os._exit(2)


for _sig in all_signatures():
    onnx_op(op_type=_sig.op_type, inputs=[_PY_TYPES[_sig.inputs]] * _sig.n_inputs,
            outputs=[_PY_TYPES[_sig.outputs]] * _sig.n_outputs,
            attrs=dict.fromkeys(ATTRIBUTES, PyCustomOpDef.dt_string))(_kernel(_sig))


def _region_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node
            if n.domain == DOMAIN and n.op_type.startswith(OP_PREFIX)]


def open_model(model: str | Path, backend: str | None = None) -> int:
    """Open every package ``model`` names (relative to the model file) on ``backend`` (None:
    the export's); raise ExportError naming what is missing. Returns the region nodes."""
    path = Path(model)
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise ExportError(str(path), "no such file") from None
    except Exception as e:  # protobuf's DecodeError and friends
        raise ExportError(str(path), f"not an ONNX model ({type(e).__name__}: {e})") from None
    nodes = _region_nodes(proto)
    for n in nodes:
        a = {x.name: x.s.decode() for x in n.attribute}
        missing = [k for k in ATTRIBUTES if k not in a]
        if missing:
            raise ExportError(f"{path}: node {n.name}", f"lacks attributes {missing}",
                              "export the model again with this vendor-sdk")
        _DIRS[a["export_id"]] = (path.parent / a["package"]).absolute()  # a later chdir
        if backend is not None:
            _BACKEND[a["export_id"]] = backend
        _open(a["export_id"], a["package"], a["backend"], a["target"])
    return len(nodes)


def session_options(model: str | Path | None = None, backend: str | None = None,
                    options: ort.SessionOptions | None = None,
                    optimize: bool = False) -> ort.SessionOptions:
    """SessionOptions that run NpuRegion nodes. With ``model``, its packages open now (errors
    are ExportError here, not an abort in the run); ``backend`` overrides the export's.

    ``optimize=False`` (the default) turns onnxruntime's graph optimizations off: the host
    remainder then runs node by node (DequantizeLinear -> float op -> QuantizeLinear), as
    `vendor-sdk run` computes and checks it; onnxruntime's optimizer would fuse such chains
    into QLinear kernels that round differently (docs/export.md)."""
    if model is not None:
        open_model(model, backend)
    elif backend is not None:
        raise ExportError(f"session_options(backend={backend!r})", "a backend override "
                          "needs the model it applies to", "pass model= as well")
    so = options or ort.SessionOptions()
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.register_custom_ops_library(get_library_path())
    return so


@atexit.register
def _close() -> None:
    for op in _OPEN.values():
        op.session.close()
    _OPEN.clear()
