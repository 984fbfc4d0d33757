"""Build a target's runtime library: the C that implements vendor_sdk/contract/vsdk_device.h.

The target.yaml `runtime:` section names C sources (globs relative to the target.yaml
directory), include directories, compiler and linker flags, or a prebuilt shared library.
vendor-sdk compiles the sources once per content (every source and header, the flags, the
compiler version) into the shared cache; the generated model code links against the result
and vendor_sdk.runtime.device loads it with ctypes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
from pathlib import Path

from core.errors import VendorSdkError
from vendor_sdk.sim.build import build_env, cached_build, disk_full
from vendor_sdk.target.load import Target
from vendor_sdk.target.model import RuntimeSpec

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract"
CC = "gcc"
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared")


class RuntimeBuildError(VendorSdkError):
    """The target's runtime library is missing or does not build (names the target.yaml)."""


@functools.cache
def _compiler_version(cc: str) -> str:
    try:
        done = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise RuntimeBuildError(f"C compiler {cc!r} is not usable: {e}") from None
    return done.stdout.splitlines()[0] if done.stdout else cc


def _spec(target: Target) -> RuntimeSpec:
    rt = target.spec.runtime
    if rt is None:
        raise RuntimeBuildError(
            f"{target.path}: target {target.name} declares no runtime, so nothing can run it "
            "(hint: add a `runtime:` section naming the C that implements "
            "vendor_sdk/contract/vsdk_device.h: `header`, `include`, `sources` or `library`; "
            "docs/target_yaml.md)")
    return rt


def include_dirs(target: Target) -> list[Path]:
    """-I directories of code built against the runtime: the contract, then the target's."""
    rt = _spec(target)
    base = target.path.resolve().parent
    dirs = [base / d for d in rt.include]
    for i, d in enumerate(dirs):
        if not d.is_dir():
            raise RuntimeBuildError(f"{target.path}: runtime.include[{i}]: {str(d)!r} is not "
                                    "a directory (hint: paths are relative to target.yaml)")
    return [CONTRACT_DIR, *dirs]


def runtime_sources(target: Target) -> list[Path]:
    """The runtime's C sources: each glob's matches sorted, first occurrence wins."""
    rt = _spec(target)
    base = target.path.resolve().parent
    out: list[Path] = []
    for i, pattern in enumerate(rt.sources):
        found = sorted(p for p in base.glob(pattern) if p.is_file())
        if not found:
            raise RuntimeBuildError(f"{target.path}: runtime.sources[{i}]: {pattern!r} matches "
                                    f"no file (hint: globs are relative to {base})")
        out += [p for p in found if p not in out]
    return out


def _headers(dirs: list[Path]) -> list[Path]:
    return sorted({h for d in dirs for h in d.glob("*.h")})


def _errors(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if re.search(r"error|undefined reference", ln)]
    return "\n".join(lines[:10]) or stderr.strip()[-2000:]


def build_runtime(target: Target) -> Path:
    """Path of the target's runtime shared library, compiled if needed (cached by content)."""
    rt = _spec(target)
    base = target.path.resolve().parent
    if rt.library is not None:
        lib = base / rt.library
        if not lib.is_file():
            raise RuntimeBuildError(f"{target.path}: runtime.library: {str(lib)!r} does not "
                                    "exist (hint: a prebuilt shared library implementing "
                                    "vsdk_device.h, relative to target.yaml)")
        return lib
    dirs = include_dirs(target)
    sources = runtime_sources(target)
    digest = hashlib.sha256()
    for item in (target.name, CC, _compiler_version(CC), *CFLAGS, *rt.cflags, "|",
                 *rt.ldflags):
        digest.update(item.encode() + b"\0")
    for p in (*sources, *_headers(dirs)):
        digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    key = digest.hexdigest()[:20]
    # The key is in the file name: model libraries name their runtime by file name, and the
    # dynamic loader binds a name to the first library loaded under it. Two builds of one
    # target in one process (an edited driver, a renamed copy) must not share a name, or the
    # second model would run against the first runtime.
    name = f"lib{target.name}_runtime_{key}.so"

    def build(tmp: Path) -> None:
        cmd = [CC, *CFLAGS, *(f"-I{d}" for d in dirs), *rt.cflags, *map(str, sources),
               "-o", str(tmp / name), *rt.ldflags]
        done = subprocess.run(cmd, cwd=base, env=build_env(tmp), capture_output=True,
                              text=True, check=False)
        if (full := disk_full(done.stderr, tmp)) is not None:
            raise full
        if done.returncode != 0:
            raise RuntimeBuildError(
                f"{target.path}: runtime: the runtime library of {target.name} does not "
                f"compile:\n{_errors(done.stderr)}\n(hint: the sources implement "
                f"vsdk_device.h from {CONTRACT_DIR})")

    return cached_build("runtime", key, build, name)
