"""The NPU as vendor-sdk sees it: a target's runtime library (vsdk_device.h) through ctypes.

    with Device(target, "fsim") as dev:
        x = dev.put(np.arange(64, dtype=np.int8))
        lib.region(ctypes.c_void_p(dev.context), ...)   # generated code queues work
        result = dev.run()                              # counters by target.yaml name

The library is the one build_runtime(target) produces from the target's `runtime:`
section; the "rtl" backend additionally gets the target's Verilated RTL (sim.rtl) as
option rtl_lib=. Nothing here knows a particular NPU.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
from numpy.typing import DTypeLike

from core.errors import VendorSdkError
from vendor_sdk.target.load import Target
from vendor_sdk.target.runtime_build import build_runtime

BACKENDS = ("fsim", "rtl")  # what vendor-sdk asks every target for (vsdk_device.h)


class DeviceError(VendorSdkError, RuntimeError):
    """The runtime library refused or failed: says which target, backend and call."""


class _RunResultC(ctypes.Structure):
    _fields_ = [("counters", ctypes.POINTER(ctypes.c_uint64)), ("n_counters", ctypes.c_uint32),
                ("error_code", ctypes.c_int32), ("error_insn", ctypes.c_uint32),
                ("cycles_estimated", ctypes.c_int32)]


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run: counters in target.yaml `counters:` order, and how the machine stopped."""

    counters: dict[str, int]
    error_code: int        # 0, or the machine's own code (error() names it)
    error_insn: int        # index of the faulting instruction when error_code != 0
    cycles_estimated: bool  # cycle counters are a model's estimate (fsim), not measured


_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "vsdk_device_open": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]),
    "vsdk_device_close": (None, [ctypes.c_void_p]),
    "vsdk_device_error": (ctypes.c_char_p, [ctypes.c_void_p]),
    "vsdk_device_context": (ctypes.c_void_p, [ctypes.c_void_p]),
    "vsdk_device_alloc": (ctypes.c_uint32, [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32]),
    "vsdk_device_write": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p,
                                         ctypes.c_uint64]),
    "vsdk_device_read": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p,
                                        ctypes.c_uint64]),
    "vsdk_device_run": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(_RunResultC)]),
}


@functools.cache
def load_runtime(path: Path) -> ctypes.CDLL:
    """The runtime library with the vsdk_device.h signatures; DeviceError if it lacks one."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise DeviceError(f"cannot load the runtime library {path}: {e}") from None
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise DeviceError(f"runtime library {path} does not export {name} (hint: the "
                              "target's runtime sources implement every function of "
                              "vendor_sdk/contract/vsdk_device.h)") from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def device_options(target: Target, backend: str, rtl_lib: Path | None = None,
                   extra: Mapping[str, object] | None = None) -> str:
    """vsdk_device_open's options: every target param in lower case, rtl_lib= for "rtl",
    then ``extra`` (which wins)."""
    opts: dict[str, object] = {k.lower(): v for k, v in target.params.items()}
    if rtl_lib is not None:
        opts["rtl_lib"] = rtl_lib
    opts.update(extra or {})
    for k, v in opts.items():
        if "," in f"{k}{v}" or "=" in str(k):
            raise DeviceError(f"device option {k}={v}: keys and values cannot contain ',' "
                              "(or '=' in a key)")
    return ",".join(f"{k}={v}" for k, v in opts.items())


def interruptible(call: Callable[[], int]) -> int:
    """``call()`` (a foreign call that may run for minutes: an RTL simulation) on a worker
    thread while the main thread waits in short slices. Python handles signals only on
    the main thread between bytecodes, so a Ctrl-C during a ctypes call would wait for the
    call to return; here it raises KeyboardInterrupt within a slice, and the worker (a
    daemon thread) ends with the process."""
    out: list[int] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            out.append(call())
        except BaseException as e:  # handed to the caller's thread
            failed.append(e)

    worker = threading.Thread(target=work, name="vsdk-device-run", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if failed:
        raise failed[0]
    return out[0]


class Device:
    """One open device of a target's runtime library: DRAM, queued work, runs."""

    _dev: int | None = None  # so close() works when __init__ failed
    _running = False          # a run is inside the library (on a worker thread)

    def __init__(self, target: Target, backend: str = "fsim",
                 options: Mapping[str, object] | None = None):
        self.target = target
        self.backend = backend
        self.library = build_runtime(target)
        self._lib = load_runtime(self.library)
        self.counter_names = tuple(target.spec.counters)
        rtl_lib = None
        if backend == "rtl":
            from vendor_sdk.sim.rtl import build_rtl_library

            rtl_lib = build_rtl_library(target)
        self.options = device_options(target, backend, rtl_lib, options)
        handle = self._lib.vsdk_device_open(backend.encode(), self.options.encode())
        if not handle:
            why = (self._lib.vsdk_device_error(None) or b"").decode(errors="replace")
            hint = "" if backend in BACKENDS else f" (vendor-sdk runs {', '.join(BACKENDS)})"
            raise DeviceError(f"{self._where()}: cannot open backend {backend!r}: "
                              f"{why or 'no reason given'}{hint}")
        self._dev = handle

    def _where(self) -> str:
        return f"{self.target.name} runtime ({self.library.name}, backend {self.backend})"

    def close(self) -> None:
        if self._dev is not None and not self._running:
            self._lib.vsdk_device_close(self._dev)
        # A run interrupted by Ctrl-C is still inside the library on its thread: freeing
        # the device under it would crash the process it is about to leave; the handle is
        # dropped instead and the process exit ends the run.
        self._dev = None

    def __enter__(self) -> Device:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def handle(self) -> int:
        if self._dev is None:
            raise DeviceError(f"{self._where()}: the device is closed")
        return self._dev

    @property
    def context(self) -> int:
        """What generated region functions take as their first argument."""
        return int(self._lib.vsdk_device_context(self.handle) or 0)

    def error(self) -> str:
        """The library's message for the last failure ("" if none)."""
        return (self._lib.vsdk_device_error(self.handle) or b"").decode(errors="replace")

    def _fail(self, call: str) -> DeviceError:
        return DeviceError(f"{self._where()}: {call} failed: {self.error() or 'no reason given'}")

    def alloc(self, nbytes: int, align: int = 64) -> int:
        addr = int(self._lib.vsdk_device_alloc(self.handle, nbytes, align))
        if addr == 0:
            raise self._fail(f"allocating {nbytes} bytes of DRAM")
        return addr

    def write(self, addr: int, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array)
        if data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        if self._lib.vsdk_device_write(self.handle, addr, data.ctypes.data, data.nbytes):
            raise self._fail(f"writing {data.nbytes} bytes at DRAM {addr}")

    def read(self, addr: int, shape: int | tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
        out = np.empty(shape, dtype=np.dtype(dtype).newbyteorder("<"))
        if self._lib.vsdk_device_read(self.handle, addr, out.ctypes.data, out.nbytes):
            raise self._fail(f"reading {out.nbytes} bytes at DRAM {addr}")
        return out

    def put(self, array: np.ndarray, align: int = 64) -> int:
        """Allocate DRAM for ``array``, copy it there, return the address."""
        addr = self.alloc(max(array.nbytes, 1), align)
        self.write(addr, array)
        return addr

    def run(self) -> RunResult:
        """Run the work queued on the context. A machine error is in the result
        (error_code, error_insn; error() names it); DeviceError when nothing could run."""
        n = len(self.counter_names)
        values = (ctypes.c_uint64 * max(n, 1))()
        raw = _RunResultC(ctypes.cast(values, ctypes.POINTER(ctypes.c_uint64)), n, 0, 0, 0)
        handle = self.handle
        self._running = True
        rc = interruptible(lambda: int(self._lib.vsdk_device_run(handle, ctypes.byref(raw))))
        self._running = False  # not reached on Ctrl-C: see close()
        if rc < 0:
            raise self._fail("run")
        return RunResult(dict(zip(self.counter_names, (int(v) for v in values[:n]),
                                  strict=True)),
                         int(raw.error_code), int(raw.error_insn), bool(raw.cycles_estimated))
