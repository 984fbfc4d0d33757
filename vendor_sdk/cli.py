"""The `vendor-sdk` command line (typer + rich).

Every command turns the SDK's stage errors into one readable message and
exit code 2; a traceback means a bug in the SDK, not in the user's input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.builder import BuildError
from core.executor import ExecutionError
from core.ops.registry import OpError
from core.passes import optimize
from core.printer import format_module
from core.verify import VerifyError, verify
from vendor_sdk import cli_check, cli_e2e, cli_partition, cli_target
from vendor_sdk.frontend.onnx import FrontendError, from_onnx
from vendor_sdk.summary import print_summary, summarize
from vendor_sdk.zoo import ZooError

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
    except OSError as e:  # a path given (or derived) that cannot be written or read
        where = f"{e.filename}: " if e.filename else ""
        err_console.print(f"[bold red]error:[/] {where}{e.strerror or e}", highlight=False,
                          soft_wrap=True)
        err_console.print("    hint: check that the path is a directory or file as the "
                          "option expects, and that it is writable", highlight=False)
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
            raise typer.BadParameter(f"'{spec}': expected NAME=D0,D1,... (e.g. input=N,3,224,224)",
                                     param_hint="--shape")
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


@app.command()
def demo(
    model: Annotated[str, typer.Option(help="squeezenet (a real graph shipped in the onnx "
                                            "package), cnn or mlp (built in the repo).")
                     ] = "squeezenet",
) -> None:
    """Quantize a model, compile it for the reference NPU, run it on fsim and the RTL."""
    import tempfile

    from vendor_sdk.cli_e2e import demo as run_demo

    with user_errors(), tempfile.TemporaryDirectory() as tmp:
        ok = run_demo(model, Path(tmp))
    if not ok:
        err_console.print("[bold red]mismatch[/]: see the agreement lines above")
        raise typer.Exit(1)
    console.print("[bold green]match[/]: fsim == RTL bit for bit, within 1 LSB of onnxruntime")


# Command groups that live in their own modules add themselves to `app` here,
# explicitly, so `vendor-sdk --help` lists every command in one place.
for _group in (cli_target, cli_partition, cli_check, cli_e2e):
    _group.register(app, user_errors)


def main() -> None:
    app()
