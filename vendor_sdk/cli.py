"""The `vendor-sdk` command line (typer + rich).

Every command turns the SDK's stage errors into one readable message and
exit code 2; a traceback means a bug in the SDK, not in the user's input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Annotated, TypeVar

import numpy as np
import typer
from rich.console import Console

from core.builder import BuildError
from core.executor import ExecutionError, run
from core.ops.registry import OpError
from core.passes import optimize
from core.printer import format_module
from core.verify import VerifyError, verify
from vendor_sdk.frontend.onnx import FrontendError, from_onnx
from vendor_sdk.summary import print_summary, summarize
from vendor_sdk.zoo import ZooError, light_case

app = typer.Typer(
    help="Bring an NPU into an ML compiler from one YAML file.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)

# Errors that describe bad input, each already carrying where and why.
USER_ERRORS: tuple[type[Exception], ...] = (
    FrontendError, BuildError, ExecutionError, VerifyError, OpError, FileNotFoundError, ZooError,
)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"vendor-sdk {dist_version('vendor-sdk')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True,
        help="Show the version and exit.")] = False,
) -> None:
    """vendor-sdk: partition, tensorize, generate C and validate on the reference NPU."""


def _parse_shapes(specs: list[str]) -> dict[str, list[int | str]]:
    shapes: dict[str, list[int | str]] = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        if not sep or not name:
            raise typer.BadParameter(f"'{spec}': expected NAME=D0,D1,... (e.g. input=N,3,224,224)")
        shapes[name] = [int(d) if d.strip().lstrip("-").isdigit() else d.strip()
                        for d in dims.split(",")]
    return shapes


@app.command("import")
def import_cmd(
    model: Annotated[Path, typer.Argument(help="ONNX model file.")],
    shape: Annotated[list[str] | None, typer.Option(
        "--shape",
        help="Override an input shape: NAME=N,3,224,224 (names become symbols).")] = None,
    show_ir: Annotated[bool, typer.Option("--print", help="Print the graph IR.")] = False,
    opt: Annotated[bool, typer.Option("--optimize/--no-optimize",
                                      help="Run the default graph passes.")] = True,
) -> None:
    """Import an ONNX model and print a summary of its graph IR."""
    with user_errors():
        module = from_onnx(model, _parse_shapes(shape or []))
        if opt:
            module = optimize(module)
        verify(module)
        if show_ir:
            console.print(format_module(module), highlight=False, markup=False)
        print_summary(summarize(module), str(model), console)


T = TypeVar("T")


def _timed(label: str, fn: Callable[[], T]) -> T:
    t0 = time.perf_counter()
    out = fn()
    console.print(f"  {label}: {time.perf_counter() - t0:.2f} s")
    return out


@app.command()
def demo(
    model: Annotated[str, typer.Option(help="A model shipped in the onnx package.")] = "resnet50",
) -> None:
    """Import a real model, run it with the reference executor, compare with onnxruntime."""
    import onnxruntime as ort

    with user_errors():
        case = light_case(model)
        console.rule(f"[bold]{model}[/] ({case.path.name})")
        module = _timed("import", lambda: from_onnx(case.path))
        module = _timed("optimize", lambda: optimize(module))
        verify(module)
        print_summary(summarize(module), model, console)
        ours = _timed("reference executor", lambda: run(module, case.inputs))
        ort.set_default_logger_severity(3)  # the light models carry unused initializers
        session = ort.InferenceSession(str(case.path), providers=["CPUExecutionProvider"])
        theirs = _timed("onnxruntime", lambda: session.run(None, case.inputs))
    worst = 0.0
    for got, ort_out, expected in zip(ours, theirs, case.expected, strict=True):
        err_ort = float(np.max(np.abs(got - ort_out)))
        err_exp = float(np.max(np.abs(got - expected)))
        worst = max(worst, err_ort, err_exp)
        console.print(f"  max |ours - onnxruntime| = {err_ort:.3g}, "
                      f"max |ours - expected| = {err_exp:.3g}")
    ok = all(np.allclose(g, e, rtol=1e-3, atol=1e-5)
             for g, e in zip(ours, case.expected, strict=True))
    if not ok:
        err_console.print(f"[bold red]mismatch:[/] worst error {worst:.3g}")
        raise typer.Exit(1)
    console.print("[bold green]match[/] (rtol 1e-3, as the onnx test suite uses)")
    console.print("[dim]The NPU path (partition, tensorize, C, reference NPU) is not built "
                  "yet; this demo will run on the NPU when it is.[/]")


def _register_subcommands() -> None:
    # Command groups that live in their own modules add themselves to `app` here,
    # explicitly, so `vendor-sdk --help` lists every command in one place.
    from vendor_sdk import cli_target

    cli_target.register(app, user_errors)
    __import__("vendor_sdk.cli_partition").cli_partition.register(app, user_errors)
    __import__("vendor_sdk.cli_check").cli_check.register(app, user_errors)
    __import__("vendor_sdk.cli_e2e").cli_e2e.register(app, user_errors)


_register_subcommands()


def main() -> None:
    app()
