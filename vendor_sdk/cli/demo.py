"""`vendor-sdk demo`: quantize a model, compile it for the reference NPU, run it on fsim
and the RTL."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer

from vendor_sdk.cli.e2e import console, err_console, print_check, print_layers, print_run
from vendor_sdk.cli.options import progress
from vendor_sdk.plugins import DEFAULT_TARGET

DEMO_MODELS = ("squeezenet", "cnn", "mlp")


def demo(model: str, work: Path) -> bool:
    """Quantize a model, compile it for the reference NPU, run it on fsim and on the RTL.

    Returns True when fsim and RTL agree bit for bit and both pass the numerics check
    (``--check layers``: every layer against its reference, the outputs against
    onnxruntime; docs/compile.md)."""
    import numpy as np

    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.compare import model_inputs, run_compiled
    from vendor_sdk.runtime.examples import cnn, light_float, mlp
    from vendor_sdk.runtime.quantize import quantize as q
    from vendor_sdk.zoo import ZooError

    if model not in DEMO_MODELS:
        raise ZooError(f"unknown model '{model}'; available: {', '.join(DEMO_MODELS)}")
    console.rule(f"[bold]{model}[/] int8 on the reference NPU")
    make: Callable[[Path], Path] = mlp if model == "mlp" else cnn if model == "cnn" else \
        (lambda p: light_float(model, p))
    with progress() as bar:
        task = bar.add_task("float model")
        src = make(work / f"{model}.onnx")
        bar.update(task, description="quantize (onnxruntime, QDQ, per-channel)")
        qpath = q(src, work / f"{model}.int8.onnx", random=2)
        c = compile_model(qpath, DEFAULT_TARGET, {"N": 1},
                          progress=lambda s: bar.update(task, description=s))
    console.print(c.report.to_text().split("\n")[0], highlight=False, markup=False)
    console.print("  compile: " + ", ".join(f"{k} {v:.2f} s" for k, v in c.seconds.items()))
    feeds = model_inputs(qpath, 1, 0)
    results = {}
    for backend in ("fsim", "rtl"):
        with progress() as bar:
            say = bar.stage("a Verilator build on first use" if backend == "rtl" else
                            "open the device", prefix=f"run on {backend}: ")
            results[backend] = run_compiled(c, qpath, feeds, backend, check="layers",
                                            dump=Path("vendor-sdk-check") / backend,
                                            progress=say)
        print_run(results[backend], c)
        print_layers(results[backend], c, top=8)
        checked = print_check(results[backend])
    same = all(np.array_equal(a, b) for a, b in
               zip(results["fsim"].outputs, results["rtl"].outputs, strict=True))
    console.print(f"  fsim and RTL outputs bit-identical: {'yes' if same else 'NO'}")
    return same and checked and all(r.check.ok for r in results.values())


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `demo` to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command("demo")
    def demo_cmd(
        model: Annotated[str, typer.Option(help="squeezenet (a real graph shipped in the onnx "
                                                "package), cnn or mlp (built in the repo).")
                         ] = "squeezenet",
    ) -> None:
        """Quantize a model, compile it for the reference NPU, run it on fsim and the RTL."""
        with user_errors(), tempfile.TemporaryDirectory() as tmp:
            ok = demo(model, Path(tmp))
        if not ok:
            err_console.print("[bold red]mismatch[/]: see the agreement lines above")
            raise typer.Exit(1)
        console.print("[bold green]match[/]: fsim == RTL bit for bit, within 1 LSB of "
                      "onnxruntime")
