"""The root `vendor-sdk` app and the one handler that turns stage errors into exit 2.

Every command turns the SDK's stage errors into one readable message and exit code 2;
a traceback means a bug in the SDK, not in the user's input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as dist_version
from typing import Annotated

import typer
from rich.console import Console

from core.builder import BuildError
from core.executor import ExecutionError
from core.ops.registry import OpError
from core.verify import VerifyError
from vendor_sdk.frontend.onnx import FrontendError
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
