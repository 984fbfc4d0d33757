"""Python access to the C driver (npu.h) through ctypes.

    with Npu("fsim") as npu:
        x = npu.put(np.arange(64, dtype=np.int8))
        npu.append([Load(mem_id=MemId.INP, dram_base=x, y_size=1, x_size=8, x_stride=8), ...])
        stats = npu.run()          # raises NpuError naming the code and instruction

The same driver library serves every backend, so Python tests of fsim run
exactly the code that generated C programs link against.
"""

from __future__ import annotations

import ctypes
import functools
import pathlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import TracebackType

import numpy as np
from numpy.typing import DTypeLike

from reference_npu.driver.build import build_driver
from reference_npu.isa.encoding import INSN_BYTES, ErrorCode, Insn, encode_program
from reference_npu.sim import HwConfigC as _HwConfig
from reference_npu.sim import NpuStatsC as _Stats


class NpuError(RuntimeError):
    """A backend failed, or the machine stopped with an error code.

    code and pc are set when the machine reported an error (pc = index of
    the faulting instruction); both are None for host-side failures.
    """

    def __init__(self, message: str, code: ErrorCode | None = None, pc: int | None = None):
        super().__init__(message)
        self.code = code
        self.pc = pc


_DRAM_FIRST = 64  # npu.c: the allocator starts here, so address 0 is never handed out



@dataclass(frozen=True, slots=True)
class HwConfig:
    dim: int
    inp_rows: int
    wgt_rows: int
    acc_rows: int
    out_rows: int
    qp_rows: int
    lut_rows: int
    token_depth: int
    insn_queue_depth: int


@dataclass(frozen=True, slots=True)
class Stats:
    """Counters of a run. cycles and *_busy are estimates when cycles_are_estimate."""

    cycles: int
    gemm_rows: int
    gemm_busy: int
    ld_busy: int
    st_busy: int
    ex_busy: int
    dma_rd_bytes: int
    dma_wr_bytes: int
    insns: int
    status: int
    error_code: ErrorCode
    error_pc: int
    cycles_are_estimate: bool


@functools.cache
def _load(path: pathlib.Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    p, u32, u64, i32 = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32
    sigs: dict[str, tuple[object, list[object]]] = {
        "npu_open": (p, [ctypes.c_char_p, ctypes.c_char_p]),
        "npu_close": (None, [p]),
        "npu_last_error": (ctypes.c_char_p, [p]),
        "npu_get_hw_config": (ctypes.c_int, [p, ctypes.POINTER(_HwConfig)]),
        "npu_dram_alloc": (u32, [p, u64, u32]),
        "npu_dram_ptr": (p, [p, u32]),
        "npu_dram_size": (u64, [p]),
        "npu_append_insns": (ctypes.c_int, [p, ctypes.c_char_p, u32]),
        "npu_insn_count": (u32, [p]),
        "npu_insns": (ctypes.POINTER(ctypes.c_uint8), [p]),
        "npu_clear_insns": (None, [p]),
        "npu_run": (ctypes.c_int, [p, ctypes.POINTER(_Stats)]),
        "npu_trace_dir": (ctypes.c_char_p, [p]),
        "npu_error_name": (ctypes.c_char_p, [ctypes.c_int]),
        # The C encoders, in npu.h argument order (deps first).
        "npu_load": (ctypes.c_int, [p, *[u32] * 11, i32]),
        "npu_store": (ctypes.c_int, [p, *[u32] * 7]),
        "npu_gemm": (ctypes.c_int, [p, *[u32] * 12]),
        "npu_alu": (ctypes.c_int, [p, *[u32] * 11, i32]),
        "npu_requant": (ctypes.c_int, [p, *[u32] * 12]),
        "npu_lut": (ctypes.c_int, [p, *[u32] * 11]),
        "npu_sync": (ctypes.c_int, [p, *[u32] * 5]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def driver_library() -> ctypes.CDLL:
    """The driver shared library for the current sources (built on first use)."""
    return _load(build_driver())


def _options(options: str | Mapping[str, object]) -> str:
    if isinstance(options, str):
        return options
    return ",".join(f"{key}={value}" for key, value in options.items())


class Npu:
    """One driver context: DRAM, an instruction list and a backend."""

    _ctx: int | None = None  # so close() works even if __init__ failed

    def __init__(self, backend: str = "fsim", options: str | Mapping[str, object] = ""):
        self._lib = driver_library()
        handle = self._lib.npu_open(backend.encode(), _options(options).encode())
        if not handle:
            raise NpuError(self._lib.npu_last_error(None).decode())
        self._ctx = handle
        cfg = _HwConfig()
        self._lib.npu_get_hw_config(self._ctx, ctypes.byref(cfg))
        self.hw_config = HwConfig(*(getattr(cfg, f.name) for f in fields(HwConfig)))

    def close(self) -> None:
        if self._ctx is not None:
            self._lib.npu_close(self._ctx)
            self._ctx = None

    def __enter__(self) -> Npu:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def ctx(self) -> int:
        if self._ctx is None:
            raise NpuError("the NPU context is closed")
        return self._ctx

    def _error(self) -> str:
        return self._lib.npu_last_error(self.ctx).decode()

    # DRAM
    def alloc(self, nbytes: int, align: int = 64) -> int:
        addr = self._lib.npu_dram_alloc(self.ctx, nbytes, align)
        if addr == 0:
            raise NpuError(self._error())
        return int(addr)

    @property
    def dram_size(self) -> int:
        return int(self._lib.npu_dram_size(self.ctx))

    def _ptr(self, addr: int, nbytes: int) -> int:
        if addr < 0 or addr + nbytes > self.dram_size:
            raise NpuError(f"DRAM [{addr}, {addr + nbytes}) is outside [0, {self.dram_size})")
        return int(self._lib.npu_dram_ptr(self.ctx, addr))

    def write(self, addr: int, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array)
        if data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        if data.nbytes:
            ctypes.memmove(self._ptr(addr, data.nbytes), data.ctypes.data, data.nbytes)

    def read(self, addr: int, shape: int | tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
        out = np.empty(shape, dtype=np.dtype(dtype).newbyteorder("<"))
        if out.nbytes:
            ctypes.memmove(out.ctypes.data, self._ptr(addr, out.nbytes), out.nbytes)
        return out

    def put(self, array: np.ndarray, align: int = 64) -> int:
        """Allocate DRAM for array, copy it there, return the address."""
        addr = self.alloc(max(array.nbytes, 1), align)
        self.write(addr, array)
        return addr

    # Instructions
    def append(self, insns: Iterable[Insn] | bytes) -> None:
        data = insns if isinstance(insns, bytes) else encode_program(insns)
        if len(data) % INSN_BYTES:
            raise NpuError(f"{len(data)} bytes is not a whole number of instructions")
        if self._lib.npu_append_insns(self.ctx, data, len(data) // INSN_BYTES) != 0:
            raise NpuError(self._error())

    def emit(self, call: str, *args: int) -> None:
        """Append through the C API: emit("gemm", deps, accum, ...) calls npu_gemm."""
        if call not in ("load", "store", "gemm", "alu", "requant", "lut", "sync"):
            raise NpuError(f"no npu_{call} in the driver API")
        if getattr(self._lib, f"npu_{call}")(self.ctx, *args) != 0:
            raise NpuError(self._error())

    @property
    def insn_count(self) -> int:
        return int(self._lib.npu_insn_count(self.ctx))

    def program(self) -> bytes:
        """The encoded instruction list as the backends receive it."""
        n = self.insn_count * INSN_BYTES
        return ctypes.string_at(self._lib.npu_insns(self.ctx), n) if n else b""

    def clear(self) -> None:
        self._lib.npu_clear_insns(self.ctx)

    def run(self, check: bool = True) -> Stats:
        """Run the instruction list; with check, a machine error raises NpuError."""
        raw = _Stats()
        rc = self._lib.npu_run(self.ctx, ctypes.byref(raw))
        if rc < 0:
            raise NpuError(self._error())
        values = {f.name: getattr(raw, f.name) for f in fields(Stats)}
        values["error_code"] = ErrorCode(values["error_code"])
        values["cycles_are_estimate"] = bool(values["cycles_are_estimate"])
        stats = Stats(**values)
        if check and rc != 0:
            raise NpuError(self._error(), stats.error_code, stats.error_pc)
        return stats

    def run_image(self, insns: bytes, dram: bytes) -> tuple[bytes, Stats]:
        """Run a raw (instruction list, DRAM image) pair, e.g. a trace, on a fresh context.

        Returns the DRAM image afterwards and the stats (errors are not raised).
        """
        if self.dram_size != _DRAM_FIRST or self.insn_count:
            raise NpuError("run_image needs a fresh context (nothing allocated or appended)")
        if len(dram) < _DRAM_FIRST:
            raise NpuError(f"a DRAM image is at least {_DRAM_FIRST} bytes")
        self.alloc(len(dram) - _DRAM_FIRST, align=1)
        self.write(0, np.frombuffer(dram, dtype=np.uint8))
        self.append(insns)
        stats = self.run(check=False)
        return self.read(0, len(dram), np.uint8).tobytes(), stats

    @property
    def trace_dir(self) -> pathlib.Path | None:
        """trace backend: directory written by the last run."""
        text = self._lib.npu_trace_dir(self.ctx).decode()
        return pathlib.Path(text) if text else None
