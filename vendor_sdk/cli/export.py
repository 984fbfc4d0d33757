"""The `export` command: the compiled model as ONNX whose NPU regions onnxruntime runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from vendor_sdk.cli.root import fail
from vendor_sdk.plugins import DEFAULT_TARGET

console = Console()


def parse_dims(specs: list[str]) -> dict[str, int]:
    """``--dim NAME=VALUE`` (repeatable) -> size hints for symbolic dims."""
    dims: dict[str, int] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise fail(f"--dim {spec}: expected NAME=VALUE with a positive integer VALUE",
                       "e.g. --dim N=1 (a model's symbolic batch dim is often N or batch)")
        dims[name.strip()] = int(value)
    return dims


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `export` to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command("export")
    def export_cmd(
        model: Annotated[Path, typer.Argument(help="int8 QDQ ONNX model.")],
        target: Annotated[str, typer.Option(help="Target name or target.yaml.")] = DEFAULT_TARGET,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="The .onnx to write (default: MODEL.npu.onnx beside MODEL); "
                                   "its package directory (X.npu/) goes beside it.")] = None,
        backend: Annotated[str, typer.Option(
            help="fsim or rtl: what the region nodes run on (a session may override it).")
        ] = "fsim",
        dim: Annotated[list[str] | None, typer.Option(
            "--dim", help="Size hint NAME=VALUE for a symbolic dim (repeatable; default N=1)."
        )] = None,
        verify: Annotated[bool, typer.Option(
            "--verify", help="Then run the export in onnxruntime and the model as `vendor-sdk "
                             "run` does on the same inputs; exit 1 unless bit-identical.")
        ] = False,
        inputs: Annotated[Path | None, typer.Option(
            help="--verify: .npz with the model inputs (default: random).")] = None,
        seed: Annotated[int, typer.Option(help="--verify: seed of random inputs.")] = 0,
    ) -> None:
        """Write the partitioned model for onnxruntime: each NPU region one custom node
        backed by the compiled library, the host remainder the model's own ONNX nodes
        (docs/export.md)."""
        from vendor_sdk.export import export_model
        from vendor_sdk.export.model import check_backend

        sizes = {"N": 1} | parse_dims(dim or [])
        out = output or model.with_name(model.name.removesuffix(".onnx")
                                        .removesuffix(".int8") + ".npu.onnx")
        with user_errors():
            check_backend(backend)
            with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task("compile")
                e = export_model(model, out, target, backend, sizes,
                                 progress=lambda s: bar.update(task, description=s))
        _print(e)
        if verify:
            _verify(e, model, inputs, seed, sizes, user_errors)


def _say(text: str, style: str = "") -> None:
    """One line, literal (no markup), unwrapped: a tensor name or path may hold '['."""
    console.print(Text(text, style), soft_wrap=True)


def _print(e: object) -> None:
    from vendor_sdk.export import Exported

    assert isinstance(e, Exported)
    off, total = e.coverage
    target = e.compiled.target.name
    reasons = sorted(e.compiled.host_reasons.items())
    if not e.regions:
        _say(f"nothing offloaded to {target} (0/{total} compute ops): wrote {e.model} as the "
             "model is; it runs on onnxruntime alone")
        for comp, why in reasons:
            _say(f"  host fallback {comp}: {why}", "dim")
        return
    replaced = sum(r.onnx_nodes for r in e.regions)
    n = len(e.regions)
    _say(f"wrote {e.model}: {n} NPU region node{'s' if n != 1 else ''} replace"
         f"{'s' if n == 1 else ''} {replaced} ONNX nodes "
         f"({off}/{total} compute ops on {target}); export {e.export_id}")
    _say(f"  package {e.package}/ (the compiled library, regions.pkl, export.json): keep it "
         "beside the model")
    for r in e.regions:
        _say(f"  {r.name}: {r.op_type}({', '.join(r.inputs)}) -> {', '.join(r.outputs)}  "
             f"[{r.onnx_nodes} ONNX nodes]")
    for comp, why in reasons:
        _say(f"  host fallback {comp}: {why}", "dim")
    _say(f"  run it: import vendor_sdk.export.ort as npu; onnxruntime.InferenceSession("
         f"'{e.model}', npu.session_options('{e.model}'))")


def _verify(e: object, model: Path, inputs: Path | None, seed: int, sizes: dict[str, int],
            user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    from vendor_sdk.export import Exported
    from vendor_sdk.export.verify import verify
    from vendor_sdk.runtime.compare import model_inputs

    assert isinstance(e, Exported)
    with user_errors():
        feeds = model_inputs(model, sizes.get("N", 1), seed, inputs)
        v = verify(e, model, feeds)
    for name, diff in v.outputs:
        _say(f"  {name}: onnxruntime session vs vendor-sdk run on {v.backend}: "
             + ("bit-identical" if diff == 0 else f"{diff} elements differ"),
             "green" if diff == 0 else "bold red")
    _say(f"  region calls: {v.calls}; {v.same_inputs} read identical inputs in both, "
         f"{v.same_outputs} of them gave identical outputs")
    if v.first_host_difference:
        _say(f"  note: the host parts differ before {v.first_host_difference} (onnxruntime's "
             "kernels vs the SDK's host code)", "yellow")
    for n in v.notes:
        _say(f"  note: {n}", "yellow")
    if not (v.identical and v.regions_ok):
        raise typer.Exit(1)
