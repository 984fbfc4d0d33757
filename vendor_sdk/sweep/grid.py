"""The sweep's grid: target parameter axes x models, expanded into points.

    --param DIM=8,16 --param ACC_ROWS=1024,2048  ->  axes (DIM: 8, 16), (ACC_ROWS: 1024, 2048)
    --models DIR file.onnx                        ->  models, each with its content hash
    expand(...)                                   ->  one Point per configuration x model

Values stay the text the user wrote: whether ``DIM=6`` or ``DIM=eight`` is a valid value
is the target's to say (its loader, its runtime), per point, so one bad value fails its
points and not the sweep. A name the target does not declare is bad input up front.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

from vendor_sdk.errors import VendorSdkError

SCHEMA = "vendor-sdk.sweep/1"
MODES = ("run", "check-intrinsics")


class SweepError(VendorSdkError):
    """Bad sweep input (a malformed --param, an unknown parameter, no models, an --only
    that selects nothing): where (the option), why and a hint, reported by the CLI's one
    handler with exit code 2 before any point runs."""

    def __init__(self, where: str, why: str, hint: str = "") -> None:
        super().__init__(why, where=where, hint=hint)


@dataclass(frozen=True, slots=True)
class Axis:
    name: str
    values: tuple[str, ...]


def parse_params(specs: list[str]) -> tuple[Axis, ...]:
    """``NAME=V1,V2,...`` per spec, names unique, values non-empty."""
    axes: list[Axis] = []
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise SweepError(f"--param {spec}", "expected NAME=V1,V2,... with NAME a target "
                             "parameter", "e.g. --param DIM=8,16")
        vals = tuple(v.strip() for v in values.split(","))
        if not all(vals):
            raise SweepError(f"--param {spec}", "an empty value in the list",
                             "values are separated by single commas, e.g. DIM=8,16")
        if len(set(vals)) != len(vals):
            raise SweepError(f"--param {spec}", "a value is listed twice")
        if any(a.name == name for a in axes):
            raise SweepError(f"--param {spec}", f"{name} is given twice",
                             f"list every value of {name} in one --param")
        axes.append(Axis(name, vals))
    return tuple(axes)


@dataclass(frozen=True, slots=True)
class Model:
    name: str     # the file name without .onnx, dots as underscores (what compile names it)
    path: Path
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Model:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return cls(path.name.removesuffix(".onnx").replace(".", "_"), path, digest)


def find_models(paths: list[Path]) -> tuple[Model, ...]:
    """Each .onnx file given, and the .onnx files directly in each directory given (sorted);
    names must be unique (they key the results)."""
    if not paths:
        raise SweepError("--models", "no model given", "--models DIR or --models model.onnx")
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.glob("*.onnx"))
            if not found:
                raise SweepError(f"--models {p}", "the directory holds no .onnx file",
                                 "give int8 QDQ models (vendor-sdk quantize) or their directory")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise SweepError(f"--models {p}", "no such file or directory")
    models = tuple(Model.of(f) for f in files)
    seen: dict[str, Path] = {}
    for m in models:
        if m.name in seen and seen[m.name] != m.path:
            raise SweepError(f"--models {m.path}", f"its name {m.name} is also "
                             f"{seen[m.name]}'s", "rename one: results are keyed by model name")
        seen[m.name] = m.path
    return tuple({m.name: m for m in models}.values())


@dataclass(frozen=True, slots=True)
class Point:
    """One (configuration x model) of the grid; ``model`` is None for check-intrinsics."""

    target: str                           # the target's name
    spec: str                             # as the user named it (a name or a target.yaml)
    target_digest: str                    # its files' content hash (resume never mixes edits)
    params: tuple[tuple[str, str], ...]   # the swept values, in --param order
    model: Model | None
    backend: str
    check: str                            # the numerics check (run) or "" (check-intrinsics)
    mode: str = "run"

    @property
    def config(self) -> str:
        return ",".join(f"{n}={v}" for n, v in self.params) or "defaults"

    @property
    def key(self) -> str:
        """What identifies a point across runs (resume skips keys already recorded)."""
        what = f"{self.model.name}@{self.model.sha256[:12]}" if self.model else "intrinsics"
        tail = f"{self.backend}/{self.check}" if self.mode == "run" else self.mode
        return f"{self.target}@{self.target_digest[:12]}/{self.config}/{what}/{tail}"


def expand(target: str, spec: str, digest: str, axes: tuple[Axis, ...],
           models: tuple[Model, ...], backend: str, check: str,
           mode: str = "run") -> list[Point]:
    """The cross product, configurations outermost (a worker's cache is per configuration),
    in the order the values were given."""
    configs = [tuple(zip((a.name for a in axes), combo, strict=True))
               for combo in itertools.product(*(a.values for a in axes))]
    if mode == "check-intrinsics":
        return [Point(target, spec, digest, c, None, "fsim+rtl", "", mode) for c in configs]
    return [Point(target, spec, digest, c, m, backend, check, mode)
            for c in configs for m in models]
