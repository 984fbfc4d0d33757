"""Target plugins: discovered through the `vendor_sdk.targets` entry-point group.

Contract: an entry point resolves to a callable returning the path of a
target.yaml (or of the directory holding it), or to such a path itself:

    [project.entry-points."vendor_sdk.targets"]
    my_npu = "my_npu:target"        # def target() -> pathlib.Path

The bundled reference NPU is registered the same way. A plugin that fails to
import, returns something else, or points at an invalid target is reported
as broken with its error; it never stops the other plugins from loading.

A plugin's code never runs in the SDK's process: each entry point is resolved
in a child interpreter (all at once, under one deadline), which reports only
the path. So a plugin that raises, calls sys.exit or os._exit, crashes, prints
or blocks at import is `broken` with the reason, and cannot patch the SDK.
Two distributions registering one name are both broken, naming each other:
no package can silently take over another's target (reference_npu included).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Literal

from vendor_sdk.intrinsics.check import did_you_mean
from vendor_sdk.target import Diagnostic, Target, TargetError, load_target

GROUP = "vendor_sdk.targets"
# The target commands use when none is given: a plugin name, resolved through the entry
# points like any other (the SDK imports no target package; tests/test_contract_boundary.py).
DEFAULT_TARGET = "reference_npu"


@dataclass(frozen=True)
class PluginTarget:
    name: str  # entry-point name
    value: str  # "module:attr"
    package: str  # distribution that declares it
    version: str
    status: Literal["ok", "broken"]
    error: str = ""
    path: Path | None = None
    target: Target | None = None


def target_path(obj: object) -> Path:
    """The target.yaml an entry point's object designates (see the module contract)."""
    if callable(obj):
        obj = obj()
    if not isinstance(obj, str | os.PathLike):
        raise TypeError(f"expected a path to a target.yaml, got {type(obj).__name__}")
    path = Path(obj)
    return path / "target.yaml" if path.is_dir() else path


LOAD_SECONDS = 10.0  # for all entry points together; VENDOR_SDK_PLUGIN_SECONDS overrides
_MARK = "@vendor-sdk-plugin-answer@ "  # the child's answer line (a plugin may print too)
# The child: load the entry point, call it, print the path it designates or the error.
_CHILD = f"""
import json, os, sys
from importlib.metadata import EntryPoint
try:
    obj = EntryPoint(sys.argv[1], sys.argv[2], {GROUP!r}).load()
    if callable(obj):
        obj = obj()
    if not isinstance(obj, (str, os.PathLike)):
        raise TypeError("expected a path to a target.yaml, got " + type(obj).__name__)
    answer = {{"path": os.fspath(obj)}}
except SystemExit as e:
    answer = {{"error": "called sys.exit(%r) while loading" % (e.code,)}}
except BaseException as e:
    answer = {{"error": type(e).__name__ + ": " + str(e)}}
sys.stdout.flush()
print({_MARK!r} + json.dumps(answer), flush=True)
"""


def _seconds() -> float:
    try:
        return float(os.environ.get("VENDOR_SDK_PLUGIN_SECONDS", LOAD_SECONDS))
    except ValueError:
        return LOAD_SECONDS


# Resolved paths of installed distributions' entry points, per process: `compile` and
# `run` resolve the default target on every call, and a child costs ~0.1 s. Errors are
# not kept (a fixed plugin loads on the next try), nor entry points without an
# installed distribution's location to key them by.
_resolved: dict[tuple[str, str, str], Path] = {}


def _key(ep: EntryPoint) -> tuple[str, str, str] | None:
    where = getattr(ep.dist, "_path", None)  # the .dist-info directory
    return (ep.name, ep.value, str(where)) if where is not None else None


def _resolve_paths(eps: Sequence[EntryPoint]) -> list[Path | str]:
    """Each entry point's target path (or the error, a str), from child interpreters that
    run concurrently under one deadline and see this process's sys.path."""
    cached = {id(ep): _resolved[k] for ep in eps if (k := _key(ep)) in _resolved}
    todo = [ep for ep in eps if id(ep) not in cached]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    # each in its own session, so a timeout kills whatever the plugin started too (a
    # grandchild holding the pipe open would otherwise keep communicate() waiting)
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, ep.name, ep.value],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, text=True, errors="replace",
                                 start_new_session=True)
                for ep in todo]
    deadline = time.monotonic() + _seconds()
    fresh: dict[int, Path | str] = {}
    for ep, child in zip(todo, children, strict=True):
        got = fresh[id(ep)] = _answer(child, deadline)
        if isinstance(got, Path) and (k := _key(ep)) is not None:
            _resolved[k] = got
    return [cached.get(id(ep)) or fresh[id(ep)] for ep in eps]


def _answer(child: subprocess.Popen[str], deadline: float) -> Path | str:
    try:
        stdout, stderr = child.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return f"did not load within {_seconds():g} s (blocked at import?)"
    answers = [line for line in stdout.split("\n") if line.startswith(_MARK)]
    if not answers:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        return (f"the plugin's process exited with code {child.returncode} while loading "
                f"({last})")
    answer = json.loads(answers[-1].removeprefix(_MARK))
    if "path" in answer:
        path = Path(answer["path"])
        return path / "target.yaml" if path.is_dir() else path
    return str(answer.get("error", "no answer"))


def _plugin(ep: EntryPoint, resolved: Path | str) -> PluginTarget:
    dist = ep.dist
    package = dist.name if dist is not None else "?"
    version = dist.version if dist is not None else "?"
    if isinstance(resolved, str):
        return PluginTarget(ep.name, ep.value, package, version, "broken", resolved)
    try:
        target = load_target(resolved)
    except TargetError as e:
        more = f" (and {len(e.diagnostics) - 1} more)" if len(e.diagnostics) > 1 else ""
        return PluginTarget(ep.name, ep.value, package, version, "broken",
                            f"{e.diagnostics[0]}{more}".replace("\n    ", " "), resolved)
    return PluginTarget(ep.name, ep.value, package, version, "ok", "", resolved, target)


def _package(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "?"


def _registered() -> tuple[list[EntryPoint], dict[str, str]]:
    """The entry points, each registration once, and for each name claimed by more than
    one distribution the error that names them all."""
    seen: dict[tuple[str, str, str], EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        seen.setdefault((ep.name, ep.value, _package(ep)), ep)  # a dist found twice on path
    eps = list(seen.values())
    clashes: dict[str, str] = {}
    for name in {ep.name for ep in eps}:
        owners = [ep for ep in eps if ep.name == name]
        if len(owners) > 1:
            who = " and ".join(f"{_package(ep)} ({ep.value})" for ep in owners)
            clashes[name] = (f"the target name {name!r} is registered by {who}; "
                             "uninstall one, or rename its entry point")
    return eps, clashes


def _load_all(eps: Sequence[EntryPoint], clashes: dict[str, str]) -> list[PluginTarget]:
    todo = [ep for ep in eps if ep.name not in clashes]
    loaded = {id(ep): _plugin(ep, r) for ep, r in zip(todo, _resolve_paths(todo), strict=True)}
    return [loaded.get(id(ep)) or PluginTarget(
        ep.name, ep.value, _package(ep), ep.dist.version if ep.dist else "?", "broken",
        clashes[ep.name]) for ep in eps]


def discover() -> list[PluginTarget]:
    """Every registered target, loaded and checked, sorted by name."""
    eps, clashes = _registered()
    return sorted(_load_all(eps, clashes), key=lambda p: (p.name, p.package))


def resolve_target(spec: str | Path) -> Target:
    """A target from a path (file or directory) or a registered plugin name."""
    path = Path(spec)
    if path.exists() or isinstance(spec, Path) or os.sep in str(spec) or \
            str(spec).endswith((".yaml", ".yml")):
        return load_target(path)
    registered, clashes = _registered()
    eps = [ep for ep in registered if ep.name == spec]
    if not eps:
        names = sorted({ep.name for ep in registered})
        hint = did_you_mean(str(spec), names) or "installed targets: " + (", ".join(names) or
                                                                         "none")
        raise TargetError([Diagnostic(str(spec), 1, 1, "(target)",
                                      "no such file and no installed target of that name",
                                      hint)])
    if str(spec) in clashes:
        raise TargetError([Diagnostic(str(spec), 1, 1, "(plugin)", clashes[str(spec)],
                                      "or give the target.yaml's path instead of the name")])
    plugin = _load_all(eps, clashes)[0]
    if plugin.target is None:
        if plugin.path is not None and plugin.path.exists():
            return load_target(plugin.path)  # re-raise with every located error
        raise TargetError([Diagnostic(str(spec), 1, 1, "(plugin)",
                                      f"plugin {plugin.value} is broken: {plugin.error}",
                                      f"fix or reinstall the package {plugin.package}")])
    return plugin.target
