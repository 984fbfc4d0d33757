"""ctypes access to the example NPU through its runtime library (vsdk_device.h + ex.h).

Tests and benchmarks run raw instruction streams on either backend with the same code
path vendor-sdk uses: the runtime library built from target.yaml `runtime:` and, for
"rtl", the Verilated library built from `sim.rtl` (passed as option rtl_lib=).

    with Device("rtl") as dev:
        dev.write(addr, data)
        status = dev.run([isa.encode("NOP")])
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from example_npu import target as target_path
from example_npu.isa.table import load_isa
from vendor_sdk.sim.rtl import build_rtl_library
from vendor_sdk.target.load import Target, load_target
from vendor_sdk.target.runtime_build import build_runtime

# The RTL parameters (sim.rtl.params) are the target params except DRAM_BYTES.
RTL_PARAMS = ("N", "K", "ACT_ROWS", "WTS_ROWS", "PSUM_ROWS", "RES_ROWS", "PRM_ROWS")


class DeviceError(RuntimeError):
    """The runtime library refused (bad option, failed backend); the message is its own."""


class _Status(ctypes.Structure):
    _fields_ = [("counters", ctypes.c_uint64 * len(load_isa().counters)),
                ("error", ctypes.c_int32), ("error_pc", ctypes.c_uint32)]


@dataclass(frozen=True, slots=True)
class Status:
    counters: dict[str, int]   # isa.yaml `counters` order
    error: int
    error_pc: int


@functools.cache
def example_target() -> Target:
    return load_target(target_path())


@functools.cache
def _library(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    lib.vsdk_device_open.restype = ctypes.c_void_p
    lib.vsdk_device_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.vsdk_device_error.restype = ctypes.c_char_p
    lib.vsdk_device_error.argtypes = [ctypes.c_void_p]
    lib.vsdk_device_close.argtypes = [ctypes.c_void_p]
    lib.vsdk_device_context.restype = ctypes.c_void_p
    lib.vsdk_device_context.argtypes = [ctypes.c_void_p]
    lib.vsdk_device_alloc.restype = ctypes.c_uint32
    lib.vsdk_device_alloc.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32]
    for name in ("vsdk_device_write", "vsdk_device_read"):
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint64]
    lib.ex_run_program.restype = ctypes.c_int
    lib.ex_run_program.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64),
                                   ctypes.c_uint32, ctypes.POINTER(_Status)]
    lib.ex_program_size.restype = ctypes.c_uint32
    lib.ex_program_size.argtypes = [ctypes.c_void_p]
    lib.ex_error.restype = ctypes.c_char_p
    lib.ex_error.argtypes = [ctypes.c_void_p]
    return lib


def rtl_library(params: Mapping[str, int] | None = None) -> Path:
    """The Verilated RTL for the target's params with `params` overriding (cached)."""
    target = example_target()
    overrides = {k: v for k, v in (params or {}).items() if k in RTL_PARAMS}
    return build_rtl_library(target, overrides)


def options(backend: str, params: Mapping[str, int] | None = None) -> str:
    """The option string vendor-sdk passes: every param in lower case, + rtl_lib for rtl."""
    merged = {**example_target().params, **(params or {})}
    items = [f"{k.lower()}={v}" for k, v in merged.items()]
    if backend == "rtl":
        items.append(f"rtl_lib={rtl_library(params)}")
    return ",".join(items)


class Device:
    """One opened device (vsdk_device_open) of the example NPU."""

    def __init__(self, backend: str = "fsim", params: Mapping[str, int] | None = None,
                 option_string: str | None = None):
        self._lib = _library(build_runtime(example_target()))
        opts = options(backend, params) if option_string is None else option_string
        self._dev = self._lib.vsdk_device_open(backend.encode(), opts.encode())
        if not self._dev:
            raise DeviceError(self._lib.vsdk_device_error(None).decode())
        self._ctx = self._lib.vsdk_device_context(self._dev)

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._dev:
            self._lib.vsdk_device_close(self._dev)
            self._dev = None

    def alloc(self, size: int, align: int = 64) -> int:
        addr = int(self._lib.vsdk_device_alloc(self._dev, size, align))
        if not addr:
            raise DeviceError(self._lib.vsdk_device_error(self._dev).decode())
        return addr

    def program_size(self) -> int:
        """Instructions queued by the encoders (ex_program_size)."""
        return int(self._lib.ex_program_size(self._ctx))

    def write(self, addr: int, data: bytes) -> None:
        if self._lib.vsdk_device_write(self._dev, addr, data, len(data)):
            raise DeviceError(self._lib.vsdk_device_error(self._dev).decode())

    def read(self, addr: int, size: int) -> bytes:
        buf = ctypes.create_string_buffer(size)
        if self._lib.vsdk_device_read(self._dev, addr, buf, size):
            raise DeviceError(self._lib.vsdk_device_error(self._dev).decode())
        return buf.raw

    def run(self, words: Sequence[int]) -> Status:
        """Runs the instruction words; a machine error is in the status, not raised."""
        prog = (ctypes.c_uint64 * max(len(words), 1))(*words)
        st = _Status()
        rc = self._lib.ex_run_program(self._ctx, prog, len(words), ctypes.byref(st))
        if rc < 0:
            raise DeviceError(self._lib.ex_error(self._ctx).decode())
        names = list(load_isa().counters)
        return Status(dict(zip(names, st.counters, strict=True)), st.error, st.error_pc)


class _RunResult(ctypes.Structure):  # vsdk_run_result
    _fields_ = [("counters", ctypes.POINTER(ctypes.c_uint64)), ("n_counters", ctypes.c_uint32),
                ("error_code", ctypes.c_int32), ("error_insn", ctypes.c_uint32),
                ("cycles_estimated", ctypes.c_int32)]


@dataclass(frozen=True, slots=True)
class DeviceRun:
    rc: int                    # vsdk_device_run's return
    counters: dict[str, int]
    error_code: int
    error_insn: int
    cycles_estimated: bool


def queue(dev: Device, encoder: str, *args: int) -> int:
    """Calls the driver encoder ex_<encoder>(ctx, *args) (what emit snippets do); its rc."""
    fn = getattr(dev._lib, f"ex_{encoder}")
    fn.restype = ctypes.c_int
    # every encoder argument after ctx is a 32-bit integer (ex.h)
    return int(fn(ctypes.c_void_p(dev._ctx), *(ctypes.c_int32(a) if a < 0 else ctypes.c_uint32(a)
                                              for a in args)))


def run_queued(dev: Device) -> DeviceRun:
    """vsdk_device_run on the queued program, as vendor-sdk's runtime calls it."""
    names = list(load_isa().counters)
    values = (ctypes.c_uint64 * len(names))()
    res = _RunResult(values, len(names), 0, 0, 0)
    lib = dev._lib
    lib.vsdk_device_run.restype = ctypes.c_int
    lib.vsdk_device_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(_RunResult)]
    rc = lib.vsdk_device_run(dev._dev, ctypes.byref(res))
    return DeviceRun(rc, dict(zip(names, values, strict=True)), res.error_code, res.error_insn,
                     bool(res.cycles_estimated))


def device_error(dev: Device) -> str:
    return str(dev._lib.vsdk_device_error(dev._dev).decode())
