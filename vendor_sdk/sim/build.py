"""Build the Verilated reference NPU into a cached shared library.

The cache key covers everything that changes the binary: RTL and harness
sources, parameters, Verilator version and flags. Builds go to a private
temporary directory and are published with one atomic rename, under a lock
file, so parallel pytest-xdist workers build a configuration once and a
second run builds nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator

from vendor_sdk.sim.errors import SimError, verilator_diagnostics
from vendor_sdk.sim.params import DEFAULT_PARAMS, RtlParams
from vendor_sdk.sim.toolchain import (
    OPT_MAKEFLAGS,
    PCH_MAKEFLAGS,
    verilator_env,
    verilator_root,
    verilator_version,
)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
RTL_DIR = REPO_ROOT / "reference_npu" / "rtl"
DRIVER_DIR = REPO_ROOT / "reference_npu" / "driver"
HARNESS_DIR = DRIVER_DIR / "rtl_harness"
SIM_TOP = "npu_sim_top"
LIB_NAME = "libnpu_rtl.so"

# Packages first, then modules in dependency-free order (Verilator needs the
# packages before their users).
_PACKAGES = ("npu_isa_pkg.sv", "npu_pkg.sv")
_BUILD_FLAGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                "-Wno-lint", "-Wno-style", "-CFLAGS", "-O2")


def cache_root() -> pathlib.Path:
    """$VENDOR_SDK_CACHE, else ~/.cache/vendor-sdk."""
    env = os.environ.get("VENDOR_SDK_CACHE")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "vendor-sdk"


def rtl_sources(rtl_dir: pathlib.Path = RTL_DIR) -> list[pathlib.Path]:
    files = sorted(rtl_dir.glob("*.sv"))
    first = [rtl_dir / name for name in _PACKAGES if (rtl_dir / name).exists()]
    return first + [f for f in files if f not in first]


def lint_vlt(rtl_dir: pathlib.Path = RTL_DIR) -> list[pathlib.Path]:
    """Lint waivers; the cocotb port-visibility file is kept out of the C++ harness build."""
    return [p for p in sorted(rtl_dir.glob("*.vlt")) if "cocotb" not in p.name]


def source_hash(paths: Iterable[pathlib.Path], *extra: str) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:20]


@contextlib.contextmanager
def _locked(path: pathlib.Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_verilator(args: list[str], cwd: pathlib.Path, what: str) -> None:
    """Runs Verilator (with --build, also make and the C++ compiler); SimError on failure."""
    cmd = [str(verilator_root() / "bin" / "verilator"), *args]
    result = subprocess.run(cmd, cwd=cwd, env=verilator_env(), capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise SimError(f"building {what} failed (verilator exit {result.returncode})",
                       verilator_diagnostics(output))


def cached_build(
    kind: str, key: str, build: Callable[[pathlib.Path], None], artifact: str
) -> pathlib.Path:
    """Returns cache_root()/kind/key/artifact, calling build(tmp_dir) once if missing.

    build(tmp) must leave `artifact` inside tmp. The finished directory is
    renamed into place atomically; the lock keeps concurrent workers from
    compiling the same thing twice.
    """
    final = cache_root() / kind / key
    if (final / artifact).exists():
        return final / artifact
    with _locked(cache_root() / kind / f"{key}.lock"):
        if (final / artifact).exists():
            return final / artifact
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{key}.", dir=final.parent))
        try:
            build(tmp)
            if not (tmp / artifact).exists():
                raise SimError(f"build of {kind}/{key} produced no {artifact}")
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final / artifact


def build_rtl_library(
    params: RtlParams = DEFAULT_PARAMS, rtl_dir: pathlib.Path = RTL_DIR, jobs: int = 2
) -> pathlib.Path:
    """The C++ harness + Verilated npu_sim_top as a shared library exporting npu_rtl_run.

    rtl_dir may hold a vendor's own RTL behind the same npu_sim_top contract.
    """
    sources = rtl_sources(rtl_dir) + lint_vlt(rtl_dir)
    harness = sorted(HARNESS_DIR.glob("*.cpp")) + sorted(HARNESS_DIR.glob("*.h"))
    headers = [DRIVER_DIR / "npu_types.h", DRIVER_DIR / "npu_isa.h"]
    key = source_hash([*sources, *harness, *headers], params.key(), verilator_version(),
                      " ".join(_BUILD_FLAGS), PCH_MAKEFLAGS, OPT_MAKEFLAGS, "lib")

    def build(tmp: pathlib.Path) -> None:
        args = [
            "--cc", "--exe", "--build", "-j", str(jobs), "--top-module", SIM_TOP,
            *_BUILD_FLAGS, *params.verilator_args(),
            "-CFLAGS", "-fPIC", "-CFLAGS", f"-I{DRIVER_DIR}", "-CFLAGS", f"-I{HARNESS_DIR}",
            "-LDFLAGS", "-shared", "--Mdir", str(tmp / "obj"), "-o", str(tmp / LIB_NAME),
            *map(str, lint_vlt(rtl_dir)), *map(str, rtl_sources(rtl_dir)),
            *(str(p) for p in sorted(HARNESS_DIR.glob("*.cpp"))),
        ]
        run_verilator(args, tmp, f"the RTL harness library ({params.key()})")
        shutil.rmtree(tmp / "obj", ignore_errors=True)

    return cached_build("rtl", key, build, LIB_NAME)
