"""Compile a CModel into a shared library against the target's runtime library (cached).

The generated C includes vsdk_glue.h (vendor_sdk/contract) and the target's runtime
header; it links the library build_runtime(target) makes from target.yaml `runtime:`,
which the device (vendor_sdk.runtime.device) loads as well, so region code and the
device share one context.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from vendor_sdk.codegen.emit import CModel
from vendor_sdk.codegen.gcc_errors import CBuildError
from vendor_sdk.sim.build import build_env, cache_root, cached_build, disk_full
from vendor_sdk.target.load import Target
from vendor_sdk.target.runtime_build import build_runtime, include_dirs

CC = "gcc"
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-std=c11")
# Failed builds kept for the user to open: the newest few, and any younger than the grace
# period (a parallel run's error message may still be pointing at it).
KEEP_FAILED = 8
KEEP_SECONDS = 3600


def failed_dir() -> Path:
    """Where the C of builds gcc refused is kept: the cache's own temporary build directory
    is removed, and the error's file:line must point at a file that exists."""
    return cache_root() / "failed" / "models"


def _keep_failed(cm: CModel, key: str, cmd: list[str], stderr: str) -> Path | None:
    """Write the generated C and gcc's output to failed_dir()/key (the newest KEEP_FAILED
    kept); None when that cannot be written (the error still says what gcc said)."""
    out = failed_dir() / key
    try:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for n, t in cm.files.items():
            (out / n).write_text(t)
        (out / "gcc.log").write_text(f"$ {shlex.join(cmd)}\n{stderr}")
        by_age = sorted((p.stat().st_mtime, p) for p in failed_dir().iterdir())
        for mtime, stale in by_age[:-KEEP_FAILED]:
            if time.time() - mtime > KEEP_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
    except OSError:
        return None
    return out


def runtime_rpath(runtime: Path) -> str:
    """Where lib<model>.so finds the runtime library: relative to itself when both are in
    the cache (a copied or moved cache still loads), else the runtime's directory."""
    try:
        rel = runtime.parent.relative_to(cache_root())
    except ValueError:
        return str(runtime.parent)
    return f"$ORIGIN/../../{rel}"


def build_library(cm: CModel, target: Target, flags: tuple[str, ...] = CFLAGS) -> Path:
    """Path of lib<model>.so built from the generated C (cached by content: the C, the
    headers it can include, the runtime library it links)."""
    runtime = build_runtime(target)
    dirs = include_dirs(target)
    digest = hashlib.sha256()
    # By content, not by where the target or the cache lives: a copy of a target in a fresh
    # directory (a benchmark's temporary DIM variant, a wizard package) and a copied cache
    # hit. A runtime in the cache is found $ORIGIN-relative (models/<key>/ ->
    # runtime/<key>/), a prebuilt one by its absolute path, which is then part of the key.
    rpath = runtime_rpath(runtime)
    for item in (CC, " ".join(flags), rpath, runtime.name):
        digest.update(item.encode() + b"\0")
    digest.update(runtime.read_bytes())  # a prebuilt `library:` may change under its name
    for h in sorted({h for d in dirs for h in d.glob("*.h")}):
        digest.update(h.name.encode() + b"\0" + h.read_bytes() + b"\0")
    for n, t in sorted(cm.files.items()):
        digest.update(f"{n}\0{t}\0".encode())
    lib = f"lib{cm.model}.so"
    sources = sorted(n for n in cm.files if n.endswith(".c"))

    def build(tmp: Path) -> None:
        for n, t in cm.files.items():
            (tmp / n).write_text(t)
        cmd = [CC, *flags, *(f"-I{d}" for d in dirs), "-I.", *sources,
               f"-L{runtime.parent}", f"-l:{runtime.name}", f"-Wl,-rpath,{rpath}", "-o", lib]
        done = subprocess.run(cmd, cwd=tmp, env=build_env(tmp), capture_output=True,
                              text=True, check=False)
        if (full := disk_full(done.stderr, tmp)) is not None:
            raise full
        if done.returncode != 0:
            raise CBuildError(cm, target, done.stderr, _keep_failed(cm, key, cmd, done.stderr))

    key = digest.hexdigest()[:20]
    return cached_build("models", key, build, lib)
