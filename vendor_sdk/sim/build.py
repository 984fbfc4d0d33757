"""The build cache every compiled artifact goes through (RTL libraries, cocotb builds,
runtime libraries, model libraries), and running Verilator.

The cache key covers everything that changes the binary. Builds go to a private
temporary directory and are published with one atomic rename, under a lock file, so
parallel pytest-xdist workers build a configuration once and a second run builds nothing.
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
from vendor_sdk.sim.toolchain import verilator_env, verilator_root


def cache_root() -> pathlib.Path:
    """$VENDOR_SDK_CACHE, else ~/.cache/vendor-sdk."""
    env = os.environ.get("VENDOR_SDK_CACHE")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "vendor-sdk"


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
