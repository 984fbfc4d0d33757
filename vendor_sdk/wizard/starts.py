"""Where `vendor-sdk init` starts a package from: a bundled NPU, or a blank chip.

Bundled NPUs are the targets vendor-sdk itself registers under the `vendor_sdk.targets`
entry point (pyproject.toml), so registering another bundled NPU there makes it a
starting point with no change here; vendor-sdk's default target is the default. A
package derived from one holds a copy of every file its target.yaml names (vendor_sdk/
wizard/named.py: driver, glue and kernel templates, RTL, harness) and a target.yaml
derived from it, so it builds and runs as the bundled NPU does until the vendor edits
it. `blank` renders the skeleton's own C runtime, glue, functional-model and RTL stubs
(vendor_sdk/wizard/template/, `start == 'blank'`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from vendor_sdk.wizard.named import named
from vendor_sdk.wizard.skeleton import WizardError

BLANK = "blank"
_GROUP = "vendor_sdk.targets"  # vendor_sdk.plugins.GROUP, without importing the loader


@dataclass(frozen=True, slots=True)
class Bundled:
    """A bundled NPU to derive the package from."""

    name: str
    target_yaml: Path

    @property
    def describe(self) -> str:
        return f"derived from the bundled {self.name}: its driver, RTL and templates, ready to run"

    def _params(self) -> list[tuple[str, int, str]]:
        """(name, value, trailing comment) of each param, in file order."""
        text = self.target_yaml.read_text(encoding="utf-8")
        node = _value(yaml.compose(text), "params")
        lines = text.splitlines()
        out = []
        for key, value in node.value if isinstance(node, MappingNode) else []:
            line = lines[value.start_mark.line]
            comment = line.split("#", 1)[1].strip() if "#" in line else ""
            out.append((key.value, int(value.value), comment))
        return out

    def questions(self) -> dict[str, dict[str, Any]]:
        """One integer question per param of the bundled target (`dim` sets DIM)."""
        return {name.lower(): {"type": "int", "default": value,
                               "help": f"{self.name} param {name}"
                               + (f" ({comment})" if comment else "")}
                for name, value, comment in self._params()}

    def files(self, answers: dict[str, Any]) -> dict[str, bytes]:
        """The package's copy of the bundled NPU: each file its target.yaml names, at the
        same path relative to the new target.yaml, and the derived target.yaml."""
        from vendor_sdk.target import TargetError, load_target

        try:
            target = load_target(self.target_yaml)
        except TargetError as e:
            raise WizardError(f"the bundled {self.name} does not validate, so nothing can be "
                              f"derived from it: {e.diagnostics[0]}") from None
        base = self.target_yaml.resolve().parent
        far = [f"{n.field}: {n.spec}" for n in named(target) if not n.path.is_relative_to(base)]
        if far:  # a copy would point back into the installed SDK, or nowhere
            raise WizardError(f"the bundled {self.name} names files outside {base} "
                              f"({'; '.join(far)}), so its copy would not be self-contained")
        pkg = answers["package_name"]
        out: dict[str, bytes] = {}
        for n in named(target):
            if not n.is_dir and n.path.is_file():
                out[f"{pkg}/{n.path.relative_to(base).as_posix()}"] = n.path.read_bytes()
        out[f"{pkg}/target.yaml"] = self.derive(answers).encode()
        return out

    def derive(self, answers: dict[str, Any]) -> str:
        """The bundled target.yaml with the vendor's name, description and params; every
        other line (memories, intrinsics, patterns, runtime, sim, comments) as it is."""
        text = self.target_yaml.read_text(encoding="utf-8")
        root = yaml.compose(text)
        name, vendor = answers["target_name"], answers["vendor"]
        edits: list[tuple[ScalarNode, str]] = []
        for key, new in (("target", name),
                         ("description", json.dumps(f"{vendor} {name}, derived from {self.name}"
                                                    f": {_scalar(root, 'description')}"))):
            node = _value(root, key)
            if isinstance(node, ScalarNode):
                edits.append((node, new))
        params = _value(root, "params")
        for key, value in params.value if isinstance(params, MappingNode) else []:
            given = answers.get(key.value.lower())
            if given is not None and str(given) != value.value:
                edits.append((value, str(int(given))))
        for node, new in sorted(edits, key=lambda e: -e[0].start_mark.index):
            text = text[:node.start_mark.index] + new + text[node.end_mark.index:]
        header = (f"# {vendor} {name}: derived from the bundled {self.name} by "
                  f"`vendor-sdk init --from {self.name}`.\n"
                  "# This file and every file it names (driver, glue and templates, RTL) are "
                  "yours:\n# edit them into your chip; `vendor-sdk init --update` never "
                  "touches them.\n")
        return header + text


@dataclass(frozen=True, slots=True)
class Blank:
    """A chip of the vendor's own: the skeleton's stubs (rendered by copier)."""

    name: str = BLANK
    describe: str = ("my own chip: C runtime, glue, functional-model and RTL stubs that "
                     "build and validate; run says what to implement")

    def questions(self) -> dict[str, dict[str, Any]]:
        return {}  # the skeleton's own questions (copier.yml, `when: start == 'blank'`)

    def files(self, answers: dict[str, Any]) -> dict[str, bytes]:
        return {}


StartingPoint = Bundled | Blank


def _value(root: Any, key: str) -> Any:
    if isinstance(root, MappingNode):
        for k, v in root.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
    return None


def _scalar(root: Any, key: str) -> str:
    node = _value(root, key)
    return node.value if isinstance(node, ScalarNode) else ""


def bundled() -> list[Bundled]:
    """The targets vendor-sdk registers itself: its default target first, then by name
    (installed entry points come sorted, whatever pyproject.toml's order)."""
    from vendor_sdk.plugins import DEFAULT_TARGET, target_path

    try:
        dist = distribution("vendor-sdk")
    except PackageNotFoundError:  # a source tree never installed: no entry points
        return []
    out = []
    for ep in dist.entry_points:
        if ep.group != _GROUP:
            continue
        # A broken bundled plugin is `vendor-sdk targets`'s to report; it is just not
        # offered as a starting point.
        try:
            path = target_path(ep.load())
        except Exception:
            continue
        if path.is_file():
            out.append(Bundled(ep.name, path))
    return sorted(out, key=lambda b: (b.name != DEFAULT_TARGET, b.name))


def starting_points() -> dict[str, StartingPoint]:
    """Every starting point by name; the first is the default."""
    points: dict[str, StartingPoint] = {b.name: b for b in bundled()}
    points[BLANK] = Blank()
    return points


def resolve(name: str) -> StartingPoint:
    points = starting_points()
    if name not in points:
        raise WizardError(f"unknown starting point {name!r}: choose one of "
                          f"{', '.join(points)} (--from)")
    return points[name]
