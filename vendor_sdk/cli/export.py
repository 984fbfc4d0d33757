"""The `export` command: the compiled model as ONNX whose NPU regions onnxruntime runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from vendor_sdk.cli.options import (
    DEFAULT,
    BackendOpt,
    BatchOpt,
    DimOpt,
    HostOpt,
    JsonOpt,
    TargetOpt,
    check_backend,
    parse_dims,
    print_json,
    progress,
    sizes_for,
)

console = Console()


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `export` to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command("export")
    def export_cmd(
        model: Annotated[Path, typer.Argument(help="int8 QDQ ONNX model.")],
        target: TargetOpt = DEFAULT,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="The .onnx to write (default: MODEL.npu.onnx beside MODEL); "
                                   "its package directory (X.npu/) goes beside it.")] = None,
        backend: BackendOpt = "fsim",
        host: HostOpt = None,
        dim: DimOpt = None,
        batch: BatchOpt = 1,
        verify: Annotated[bool, typer.Option(
            "--verify", help="Then run the export in onnxruntime and the model as `vendor-sdk "
                             "run` does on the same inputs; exit 1 unless bit-identical.")
        ] = False,
        inputs: Annotated[Path | None, typer.Option(
            help="--verify: .npz with the model inputs (default: random).")] = None,
        seed: Annotated[int, typer.Option(help="--verify: seed of random inputs.")] = 0,
        as_json: JsonOpt = False,
    ) -> None:
        """Write the partitioned model for onnxruntime: each NPU region one custom node
        backed by the compiled library (fsim or rtl), the host remainder the model's own
        ONNX nodes (docs/export.md)."""
        from vendor_sdk.export import export_model

        check_backend(backend)
        dims = parse_dims(dim, model)
        sizes = sizes_for(model, dims, batch)
        out = output or model.with_name(model.name.removesuffix(".onnx")
                                        .removesuffix(".int8") + ".npu.onnx")
        with user_errors(), progress(as_json) as bar:
            task = bar.add_task("compile")
            e = export_model(model, out, target, backend, sizes,
                             progress=lambda s: bar.update(task, description=s),
                             keep_on_host=host or ())
        v = None
        if verify:
            from vendor_sdk.export.verify import verify as run_verify
            from vendor_sdk.runtime.compare import model_inputs

            with user_errors(), progress(as_json) as bar:
                say = bar.stage("the export in onnxruntime", prefix="verify: ")
                v = run_verify(e, model, model_inputs(model, batch, seed, inputs, dims),
                               progress=say)
        if as_json:
            print_json(_json(e, v))
        else:
            _print(e)
            if v is not None:
                _print_verify(v)
        if v is not None and not (v.identical and v.regions_ok):
            raise typer.Exit(1)


def _json(e: object, v: object) -> dict[str, object]:
    from vendor_sdk.export import Exported
    from vendor_sdk.export.verify import Verification

    assert isinstance(e, Exported)
    off, total = e.coverage
    data: dict[str, object] = {
        "model": str(e.model), "package": str(e.package) if e.package else None,
        "export_id": e.export_id or None, "target": e.compiled.target.name,
        "coverage": {"offloaded": off, "total": total},
        "regions": [{"name": r.name, "op_type": r.op_type, "inputs": list(r.inputs),
                     "outputs": list(r.outputs), "onnx_nodes": r.onnx_nodes}
                    for r in e.regions],
        "host_composites": dict(sorted(e.compiled.host_reasons.items()))}
    if isinstance(v, Verification):
        data["verify"] = {"backend": v.backend, "identical": v.identical and v.regions_ok,
                          "outputs": {n: {"differing": d} for n, d in v.outputs},
                          "region_calls": v.calls, "same_inputs": v.same_inputs,
                          "same_outputs": v.same_outputs,
                          "first_host_difference": v.first_host_difference or None}
    return data


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


def _print_verify(v: object) -> None:
    from vendor_sdk.export.verify import Verification

    assert isinstance(v, Verification)
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
