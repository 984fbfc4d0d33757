"""Target plugins: discovered through the `vendor_sdk.targets` entry-point group.

Contract: an entry point resolves to a callable returning the path of a
target.yaml (or of the directory holding it), or to such a path itself:

    [project.entry-points."vendor_sdk.targets"]
    my_npu = "my_npu:target"        # def target() -> pathlib.Path

The bundled reference NPU is registered the same way. A plugin that fails to
import, returns something else, or points at an invalid target is reported
as broken with its error; it never stops the other plugins from loading.
"""

from __future__ import annotations

import os
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


def _load(ep: EntryPoint) -> PluginTarget:
    dist = ep.dist
    package = dist.name if dist is not None else "?"
    version = dist.version if dist is not None else "?"
    path: Path | None = None
    try:
        path = target_path(ep.load())
        target = load_target(path)
    except TargetError as e:
        more = f" (and {len(e.diagnostics) - 1} more)" if len(e.diagnostics) > 1 else ""
        return PluginTarget(ep.name, ep.value, package, version, "broken",
                            f"{e.diagnostics[0]}{more}".replace("\n    ", " "), path)
    # A third-party plugin can fail in any way while importing or resolving; that
    # is the plugin's bug, so it is recorded and isolated rather than propagated.
    except Exception as e:
        return PluginTarget(ep.name, ep.value, package, version, "broken",
                            f"{type(e).__name__}: {e}", path)
    return PluginTarget(ep.name, ep.value, package, version, "ok", "", path, target)


def discover() -> list[PluginTarget]:
    """Every registered target, loaded and checked, sorted by name."""
    eps = entry_points(group=GROUP)
    return sorted((_load(ep) for ep in eps), key=lambda p: (p.name, p.package))


def resolve_target(spec: str | Path) -> Target:
    """A target from a path (file or directory) or a registered plugin name."""
    path = Path(spec)
    if path.exists() or isinstance(spec, Path) or os.sep in str(spec) or \
            str(spec).endswith((".yaml", ".yml")):
        return load_target(path)
    eps = [ep for ep in entry_points(group=GROUP) if ep.name == spec]
    if not eps:
        names = sorted(ep.name for ep in entry_points(group=GROUP))
        hint = did_you_mean(str(spec), names) or "installed targets: " + (", ".join(names) or
                                                                         "none")
        raise TargetError([Diagnostic(str(spec), 1, 1, "(target)",
                                      "no such file and no installed target of that name",
                                      hint)])
    plugin = _load(eps[0])
    if plugin.target is None:
        if plugin.path is not None and plugin.path.exists():
            return load_target(plugin.path)  # re-raise with every located error
        raise TargetError([Diagnostic(str(spec), 1, 1, "(plugin)",
                                      f"plugin {plugin.value} is broken: {plugin.error}",
                                      f"fix or reinstall the package {plugin.package}")])
    return plugin.target
