"""`vendor-sdk import`: an ONNX model's graph IR, summarized (or printed)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


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


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `import` to ``app``; ``user_errors`` maps stage errors to exit 2."""

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
        from core.passes import optimize
        from core.printer import format_module
        from core.verify import verify
        from vendor_sdk.frontend.onnx import from_onnx
        from vendor_sdk.summary import print_summary, summarize

        with user_errors():
            module = from_onnx(model, _parse_shapes(shape or []))
            if opt:
                module = optimize(module)
            verify(module)
            if show_ir:
                console.print(format_module(module), highlight=False, markup=False)
            print_summary(summarize(module), str(model), console)
