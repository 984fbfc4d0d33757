"""Compile the C driver into a shared library, cached by source hash.

The cache key covers every source and header, the compiler and its flags,
so a second run builds nothing and an edit rebuilds. Parallel test workers
may race to build the same key: each compiles into its own temporary file
and os.replace() makes the result appear atomically.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import tempfile

DRIVER_DIR = pathlib.Path(__file__).resolve().parent
SOURCES = ("npu.c", "fsim.c", "fsim_check.c", "fsim_ops.c", "trace.c")
HEADERS = ("npu.h", "npu_types.h", "npu_isa.h", "fsim.h", "trace.h")
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-fPIC")


class DriverBuildError(RuntimeError):
    """The C driver did not compile; the message carries the compiler output."""


def cache_dir() -> pathlib.Path:
    """$VENDOR_SDK_CACHE, else $XDG_CACHE_HOME/vendor-sdk, else ~/.cache/vendor-sdk."""
    if env := os.environ.get("VENDOR_SDK_CACHE"):
        return pathlib.Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "vendor-sdk"


def _compiler_version(cc: str) -> str:
    try:
        done = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DriverBuildError(f"C compiler {cc!r} is not usable: {exc}") from exc
    return done.stdout.splitlines()[0] if done.stdout else cc


def build_key(cc: str, flags: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{cc}\0{_compiler_version(cc)}\0{' '.join(flags)}\0".encode())
    for name in SOURCES + HEADERS:
        digest.update(name.encode() + b"\0" + (DRIVER_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def build_driver(cc: str = "gcc", flags: tuple[str, ...] = CFLAGS) -> pathlib.Path:
    """Path of libnpu_driver.so for the current sources, compiling it if needed."""
    out = cache_dir() / "reference_npu" / f"libnpu_driver-{build_key(cc, flags)}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [cc, *flags, "-shared", f"-I{DRIVER_DIR}"]
    cmd += [str(DRIVER_DIR / s) for s in SOURCES] + ["-o", tmp, "-ldl"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise DriverBuildError(f"{' '.join(cmd)}\n{done.stderr}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
