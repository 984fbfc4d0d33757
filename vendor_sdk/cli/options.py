"""The options every command spells the same way, and what they turn into.

`--target` (default: the default target), `--host`, `--dim NAME=VALUE`, `--backend`,
`--report`, `--json`: one definition each here, so a command cannot drift from the others
(docs/cli.md lists them per command).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from vendor_sdk.cli.progress import progress as progress  # the commands' progress line
from vendor_sdk.cli.root import fail
from vendor_sdk.plugins import DEFAULT_TARGET

TargetOpt = Annotated[str, typer.Option(
    "--target", "-t", help="Target name or target.yaml (default: the default target).")]
HostOpt = Annotated[list[str] | None, typer.Option(
    "--host", help="Op type or node name kept on the host (repeatable).")]
DimOpt = Annotated[list[str] | None, typer.Option(
    "--dim", metavar="NAME=VALUE",
    help="Value of a symbolic dim, by its ONNX name (repeatable; e.g. --dim batch=4).")]
BatchOpt = Annotated[int, typer.Option(
    min=1, help="Value of every symbolic dim not given by --dim.")]
BackendOpt = Annotated[str, typer.Option("--backend", help="fsim or rtl.")]
ReportOpt = Annotated[Path | None, typer.Option(
    "--report", metavar="PATH",
    help="Write an HTML report here (and per-layer .csv/.json and Model Explorer node "
         "data, .model_explorer.json, beside it).")]
JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print one JSON object on stdout and nothing else there.")]

DEFAULT = DEFAULT_TARGET
BACKENDS = ("fsim", "rtl")


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise fail(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")
    return backend


def symbolic_dims(model: Path) -> dict[str, str]:
    """The model inputs' symbolic dims: ONNX name -> where it appears ("input x, axis 0");
    {} when the file does not read as ONNX (the compile says why)."""
    import onnx

    try:
        m = onnx.load(str(model), load_external_data=False)
    except Exception:  # not a model: the command's own load reports it, located
        return {}
    inits = {i.name for i in m.graph.initializer}
    out: dict[str, str] = {}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        for axis, d in enumerate(vi.type.tensor_type.shape.dim):
            if not d.HasField("dim_value"):  # an unnamed one: the importer's name for it
                out.setdefault(d.dim_param or f"{vi.name}_d{axis}",
                               f"input {vi.name}, axis {axis}")
    return out


def parse_dims(specs: list[str] | None, model: Path | None = None) -> dict[str, int]:
    """``--dim NAME=VALUE`` (repeatable) -> {name: value}; with ``model``, a name the model
    does not have is an error naming the ones it has (it would be ignored silently)."""
    dims: dict[str, int] = {}
    for spec in specs or ():
        name, sep, value = spec.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value.isdigit() or int(value) < 1:
            raise fail(f"--dim {spec}: expected NAME=VALUE with a positive integer VALUE",
                       "e.g. --dim batch=4 (see the model's inputs for its dim names)")
        dims[name] = int(value)
    if model is not None and dims:
        have = symbolic_dims(model)
        unknown = sorted(set(dims) - set(have))
        if have and unknown:
            listed = ", ".join(f"{n} ({w})" for n, w in have.items())
            raise fail(f"--dim {unknown[0]}: {model.name} has no symbolic dim of that name",
                       f"its symbolic dims: {listed}")
    return dims


def sizes_for(model: Path, dims: Mapping[str, int], batch: int) -> dict[str, int]:
    """Every symbolic dim of the model's inputs -> its value: ``--dim``'s, else ``--batch``
    (the compiler's size hints, keyed by the IR's symbol names)."""
    from core.builder import sanitize

    # N: the batch symbol of graphs whose shapes the SDK rewrote (kept as before --dim)
    return {"N": batch} | {sanitize(n): dims.get(n, batch) for n in symbolic_dims(model)} | \
        {sanitize(n): v for n, v in dims.items()}


def print_json(data: object) -> None:
    """One JSON object on stdout (paths and numbers as JSON takes them)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
