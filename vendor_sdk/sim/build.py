"""The build cache every compiled artifact goes through (RTL libraries, cocotb builds,
runtime libraries, model libraries), and running Verilator.

The cache key covers everything that changes the binary (never where the cache or the
checkout lives, so a copied cache hits). Builds go to a private temporary directory and are
published with one atomic rename, under a lock file, so parallel pytest-xdist workers build
a configuration once and a second run builds nothing. A cache that cannot be written is a
CacheError naming the path and VENDOR_SDK_CACHE (no silent fallback: a private cache would
rebuild everything on every run without saying why); a build killed with -9 leaves its
temporary directory, which the next build of that kind removes under the lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator

from vendor_sdk.sim.errors import SimError, verilator_diagnostics
from vendor_sdk.sim.toolchain import verilator_env, verilator_root


def cache_root() -> pathlib.Path:
    """$VENDOR_SDK_CACHE, else ~/.cache/vendor-sdk."""
    env = os.environ.get("VENDOR_SDK_CACHE")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "vendor-sdk"


# A temporary build directory older than this, whose lock nobody holds, is a killed
# build's leftover (a real build holds the lock for its whole life).
STALE_SECONDS = 600


class CacheError(SimError):
    """The build cache cannot be written (a file in its place, read-only, no space)."""


def cache_problem(e: OSError, path: pathlib.Path) -> CacheError:
    """A CacheError for an OSError met while writing the cache at `path`."""
    where = e.filename or path
    if e.errno == errno.ENOSPC:
        return CacheError(f"no space left on device writing {where} in the build cache "
                          f"{cache_root()} (hint: free space there, or set VENDOR_SDK_CACHE "
                          f"to a directory on another disk)")
    return CacheError(f"build cache {cache_root()}: cannot write {where}: "
                      f"{e.strerror or e} (hint: set VENDOR_SDK_CACHE to a writable "
                      f"directory)")


def disk_full(stderr: str, path: pathlib.Path) -> CacheError | None:
    """A CacheError when a compiler or linker failed because the disk is full (gcc and ld
    say so in their stderr), so it is not reported as code that does not compile."""
    if "No space left on device" not in stderr:
        return None
    return cache_problem(OSError(errno.ENOSPC, "No space left on device", str(path)), path)


def build_env(tmp: pathlib.Path) -> dict[str, str]:
    """The environment of a compiler run building into tmp: its own temporary files go
    there too, so a build killed with -9 leaves them where the next build cleans up."""
    return {**os.environ, "TMPDIR": str(tmp)}


def source_hash(paths: Iterable[pathlib.Path], *extra: str) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:20]


@contextlib.contextmanager
def _locked(path: pathlib.Path) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")
    except OSError as e:
        raise cache_problem(e, path.parent) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _clean_stale(kind_dir: pathlib.Path, own: str, now: float) -> None:
    """Removes killed builds' temporary directories (`<key>.XXXX`) in kind_dir that are
    old and whose key's lock is free. Called under the lock of key `own`, whose leftovers
    are all stale; the others' locks it tries without blocking (held = a live build)."""
    for tmp in kind_dir.glob("*.*"):
        key, _, rest = tmp.name.partition(".")
        if not tmp.is_dir() or rest == "lock":
            continue
        if key == own:
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        if now - tmp.stat().st_mtime < STALE_SECONDS:
            continue
        lock = kind_dir / f"{key}.lock"
        with contextlib.suppress(OSError), open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # being built right now
            try:
                shutil.rmtree(tmp, ignore_errors=True)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def run_verilator(args: list[str], cwd: pathlib.Path, what: str) -> None:
    """Runs Verilator (with --build, also make and the C++ compiler); SimError on failure."""
    cmd = [str(verilator_root() / "bin" / "verilator"), *args]
    result = subprocess.run(cmd, cwd=cwd, env={**verilator_env(), "TMPDIR": str(cwd)},
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if (full := disk_full(output, cwd)) is not None:
            raise full
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
        _clean_stale(final.parent, key, time.time())
        try:
            tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{key}.", dir=final.parent))
        except OSError as e:
            raise cache_problem(e, final.parent) from None
        try:
            try:
                build(tmp)
            except OSError as e:  # writing the sources into tmp (a full disk, mostly)
                raise cache_problem(e, tmp) from None
            if not (tmp / artifact).exists():
                raise SimError(f"build of {kind}/{key} produced no {artifact}")
            try:
                os.replace(tmp, final)
            except OSError as e:
                raise cache_problem(e, final) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final / artifact
