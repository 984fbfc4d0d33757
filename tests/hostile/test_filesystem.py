"""Hostile filesystems under the build cache (issue 15): a cache that cannot be written, a
full disk while linking, a build killed with -9, a copied cache.

Each case checks the exit code, no traceback, a message naming the cache path (and
VENDOR_SDK_CACHE), and what is left in the cache afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import vendor_sdk.codegen.build as model_build
import vendor_sdk.sim.build as cache
from tests.hostile.conftest import cli

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"


def _building(kind: Path, key: str) -> list[Path]:
    """The temporary build directories of `key` (<key>.XXXX, not its lock)."""
    return [p for p in kind.glob(f"{key}.*") if p.is_dir()]


def _files(root: Path) -> dict[str, int]:
    """Every file under root with its mtime (ns): a rebuild changes one or adds one."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_cache_is_a_file(models: dict[str, Path], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(blocker))
    out = cli("run", models["int8"], cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names(str(blocker), "Not a directory", "VENDOR_SDK_CACHE"), out.text
    assert blocker.read_text() == "not a directory\n"


def test_cache_permission_denied(models: dict[str, Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # We run as root, so a read-only directory would still be writable: the temporary
    # build directory is refused the way a read-only mount refuses it.
    root = tmp_path / "cache"
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(root))

    def refuse(prefix: str, dir: Path) -> str:
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(cache.tempfile, "mkdtemp", refuse)
    out = cli("compile", models["int8"], "-o", tmp_path / "out", cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names(str(root / "runtime"), "Permission denied", "VENDOR_SDK_CACHE"), out.text
    assert [p.name for p in (root / "runtime").iterdir() if not p.name.endswith(".lock")] == []


def test_full_disk_while_linking(models: dict[str, Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """ld's "No space left on device" is a full disk, not C that does not compile (checked
    for real on a 80k tmpfs: the same message)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(root))
    real = subprocess.run

    temps: list[Path] = []

    def full_disk(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        # gcc's own temporaries go to the build's directory, which a kill -9 leaves for
        # the next build to clean (not to /tmp, where nothing would)
        temps.append(Path(kw["env"]["TMPDIR"]))  # type: ignore[index]
        real(cmd, **kw)  # type: ignore[call-overload]
        return subprocess.CompletedProcess(cmd, 1, "", "/usr/bin/ld: final link failed: "
                                           "No space left on device\ncollect2: error: ld "
                                           "returned 1 exit status\n")

    monkeypatch.setattr(model_build, "subprocess", SimpleNamespace(run=full_disk))
    out = cli("run", models["int8"], cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names("no space left on device", str(root / "models"), "VENDOR_SDK_CACHE")
    assert "does not compile" not in out.text
    assert [t.parent for t in temps] == [root / "models"]
    # the runtime built; nothing of the model library is left, not even its temporary dir
    assert [p.name for p in (root / "models").iterdir() if not p.name.endswith(".lock")] == []
    assert any((root / "runtime").glob("*/*.so"))


_SLOW_BUILD = textwrap.dedent("""
    import pathlib, sys, time
    from vendor_sdk.sim.build import cached_build
    def build(tmp):
        (tmp / "half").write_text("x")
        print("building", flush=True)
        time.sleep(60)
    cached_build("demo", sys.argv[1], build, "half")
""")


def test_killed_build_leaves_nothing_behind(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(root))
    kind = root / "demo"
    victims = []
    for key in ("k1", "k2"):
        child = subprocess.Popen([sys.executable, "-c", _SLOW_BUILD, key],
                                 stdout=subprocess.PIPE, text=True, env=os.environ)
        assert child.stdout is not None and child.stdout.readline() == "building\n"
        victims.append(child)
    victims[0].send_signal(signal.SIGKILL)
    victims[0].wait()
    (leftover,) = _building(kind, "k1")  # the killed build's
    # an old leftover of another key whose build is dead, and a live build's fresh one
    old = kind / "k3.dead0000"
    old.mkdir()
    os.utime(old, (time.time() - 2 * cache.STALE_SECONDS,) * 2)
    (live,) = _building(kind, "k2")
    try:
        def build(tmp: Path) -> None:
            (tmp / "half").write_text("done")

        got = cache.cached_build("demo", "k1", build, "half")
        assert got.read_text() == "done"
        assert not leftover.exists() and not old.exists()
        assert live.is_dir()  # k2 holds its lock: not touched
        # k2 is old but locked by a live build: kept too
        os.utime(live, (time.time() - 2 * cache.STALE_SECONDS,) * 2)
        cache.cached_build("demo", "k4", build, "half")
        assert live.is_dir()
    finally:
        victims[1].kill()
        victims[1].wait()


def test_copied_cache_hits(models: dict[str, Path], tmp_path: Path) -> None:
    """Build, copy the cache elsewhere, remove the original, run on the copy: no rebuild
    (no file added or touched) and the check still passes: the model library finds the
    runtime relative to itself."""
    first = tmp_path / "cache"
    env = {**os.environ, "VENDOR_SDK_CACHE": str(first), "COLUMNS": "200"}
    done = subprocess.run([VENDOR_SDK, "run", models["int8"]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(first, copy, symlinks=True)
    shutil.rmtree(first)  # nothing may still point into it
    before = _files(copy)
    assert any(".so" in name for name in before)
    done = subprocess.run([VENDOR_SDK, "run", models["int8"]],
                          env={**env, "VENDOR_SDK_CACHE": str(copy)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all agree" in done.stdout
    assert _files(copy) == before
    assert not first.exists()
