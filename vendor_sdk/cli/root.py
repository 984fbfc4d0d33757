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
from rich.text import Text

from vendor_sdk.errors import FOREIGN_USER_ERRORS, VendorSdkError, problems_of

app = typer.Typer(
    help="Bring an NPU into an ML compiler from one YAML file.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)
USER_ERRORS: tuple[type[Exception], ...] = (VendorSdkError, *FOREIGN_USER_ERRORS)


def report_error(e: BaseException) -> bool:
    """Print a user error's where / why / hint on stderr (literally: a message is data, not
    Rich markup, so `float32[batch,3,224,224]` and `[/path]` print as they are); False when
    ``e`` is no user error (an SDK bug, which keeps its traceback)."""
    problems = problems_of(e)
    if problems is None:
        return False
    for p in problems:
        err_console.print(Text(p.text) if p.located else
                          Text.assemble(("error: ", "bold red"), p.text), soft_wrap=True)
        if p.hint:
            err_console.print(Text(f"    hint: {p.hint}"), soft_wrap=True)
    if any(p.located for p in problems):  # after a compiler-style list, its count
        n = len(problems)
        err_console.print(Text(f"{n} error{'s' if n != 1 else ''}", "bold red"))
    return True


@contextmanager
def user_errors() -> Iterator[None]:
    """The one handler: a stage error (or a path that cannot be read or written) becomes
    its message and exit code 2."""
    try:
        yield
    except USER_ERRORS as e:
        if not report_error(e):
            raise
        raise typer.Exit(2) from None


def fail(text: str, hint: str = "") -> typer.Exit:
    """Report bad input found by the CLI itself (an option's value); raise the result."""
    report_error(VendorSdkError(text, hint=hint))
    return typer.Exit(2)


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
