"""`vendor-sdk compile | run`: a model compiled for a target, and run on its backend."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vendor_sdk.cli.e2e import console, print_check, print_layers, print_run
from vendor_sdk.cli.options import (
    DEFAULT,
    BackendOpt,
    BatchOpt,
    DimOpt,
    HostOpt,
    JsonOpt,
    ReportOpt,
    TargetOpt,
    parse_dims,
    print_json,
    progress,
    sizes_for,
)
from vendor_sdk.cli.root import fail

if TYPE_CHECKING:
    from vendor_sdk.compile import Compiled
    from vendor_sdk.runtime.compare import RunResult


def _compile(model: Path, target: str, sizes: dict[str, int], host: list[str] | None,
             quiet: bool, then: str = "") -> tuple[Compiled, Callable[[str], None]]:
    from vendor_sdk.compile import compile_model

    with progress(quiet) as bar:
        say = bar.stage("compile")
        c = compile_model(model, target, sizes, progress=say, keep_on_host=host or ())
        if then:
            say(then)
    return c, say


def _report(out: Path | None, model: Path, c: Compiled, result: RunResult | None,
            sizes: dict[str, int]) -> list[Path]:
    if out is None:
        return []
    from vendor_sdk.report import write_report

    return write_report(out, model_path=model, compiled=c, result=result, sizes=sizes)


def compile_json(c: Compiled, written: list[Path], reports: list[Path]) -> dict[str, object]:
    import json

    return {"model": c.name, "target": c.cmodel.target, "library": str(c.library),
            "written": [str(p) for p in written], "report": [str(p) for p in reports],
            "partition": json.loads(c.report.to_json()), "manifest": c.manifest(),
            "seconds": dict(c.seconds)}


def run_json(result: RunResult, c: Compiled, reports: list[Path]) -> dict[str, object]:
    layers = result.layers
    return {
        "model": c.name, "target": c.cmodel.target, "backend": result.backend,
        "cycles": result.cycles, "macs": result.macs, "peak_macs_per_cycle": result.peak,
        "ideal_cycles": result.ideal if result.peak else None,
        "check": {"mode": result.check.mode, "ok": result.check.ok,
                  "failures": result.check.failures(), "warnings": result.check.warnings()},
        "agreement": [asdict(a) for a in result.agreement],
        "regions": [{"name": s.name, "calls": s.calls, "cycles": s.cycles, "macs": s.macs,
                     "cycles_estimated": s.estimate, "counters": dict(s.counters)}
                    for s in result.stats],
        "layers": None if layers is None else [
            {"region": r, "function": ls.function, "op": ls.op, "onnx_nodes": ls.onnx_nodes,
             "cycles": ls.cycles, "macs": ls.macs, "counters": dict(ls.counters)}
            for r, ls in layers],
        "host_reasons": dict(c.host_reasons), "report": [str(p) for p in reports],
    }


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `compile` and `run` to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command("compile")
    def compile_cmd(
        model: Annotated[Path, typer.Argument(help="int8 QDQ ONNX model.")],
        target: TargetOpt = DEFAULT,
        output: Annotated[Path, typer.Option("-o", "--output", help="Build directory.")] = Path(
            "build"),
        host: HostOpt = None,
        dim: DimOpt = None,
        batch: BatchOpt = 1,
        report: ReportOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Partition, tensorize and generate C; build it; write report and manifest."""
        if output.exists() and not output.is_dir():  # said before a compile, not after it
            raise fail(f"-o {output}: is a file; -o names the build directory")
        sizes = sizes_for(model, parse_dims(dim, model), batch)
        with user_errors():
            c, _ = _compile(model, target, sizes, host, as_json)
        with user_errors():  # an unwritable -o or --report: named, exit 2
            paths = c.write(output)
            reports = _report(report, model, c, None, sizes)
        if as_json:
            print_json(compile_json(c, paths, reports))
            return
        console.print(c.report.to_text(), highlight=False, markup=False)
        for p in [*paths, *reports]:
            console.print(f"  wrote {p}", highlight=False, markup=False)
        console.print(f"  library: {c.library}", highlight=False, markup=False)
        console.print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in c.seconds.items()))

    @app.command()
    def run(
        model: Annotated[Path, typer.Argument(help="int8 QDQ ONNX model.")],
        target: TargetOpt = DEFAULT,
        backend: BackendOpt = "fsim",
        inputs: Annotated[Path | None, typer.Option(help=".npz with the model inputs.")] = None,
        host: HostOpt = None,
        dim: DimOpt = None,
        batch: BatchOpt = 1,
        seed: Annotated[int, typer.Option(help="Seed of random inputs.")] = 0,
        top: Annotated[int, typer.Option(
            help="Per-layer table: only the N layers with the most cycles (0: all).")] = 0,
        check: Annotated[str, typer.Option(
            help="layers: every NPU layer bit for bit against its integer reference and "
                 "every host op against the reference executor, plus the outputs; output: "
                 "the outputs against onnxruntime; none: no check. A failed check exits 1.")
        ] = "layers",
        replay_dir: Annotated[Path, typer.Option(
            help="Where --check layers writes the first diverging layer's inputs (.npz).")
        ] = Path("vendor-sdk-check"),
        report: ReportOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Run on the NPU backend, check the results (exit 1 when wrong), print cycles and
        utilization per region and per layer."""
        from vendor_sdk.runtime.check import CHECKS
        from vendor_sdk.runtime.compare import model_inputs, run_compiled

        if check not in CHECKS:
            raise fail(f"--check {check}: choose one of {', '.join(CHECKS)}")
        dims = parse_dims(dim, model)
        sizes = sizes_for(model, dims, batch)
        with user_errors():
            feeds = model_inputs(model, batch, seed, inputs, dims)
            c, _ = _compile(model, target, sizes, host, as_json)
            with progress(as_json) as bar:
                say = bar.stage("a Verilator build on first use" if backend == "rtl" else
                                "open the device", prefix=f"run on {backend}: ")
                result = run_compiled(c, model, feeds, backend, check=check, dump=replay_dir,
                                      progress=say)
            reports = _report(report, model, c, result, sizes)
        if as_json:
            print_json(run_json(result, c, reports))
            if not result.check.ok:
                raise typer.Exit(1)
            return
        print_run(result, c)
        print_layers(result, c, top)
        for p in reports:
            console.print(f"  wrote {p}", highlight=False, markup=False)
        if not print_check(result):
            raise typer.Exit(1)
