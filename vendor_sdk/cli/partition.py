"""The `partition` command: offload an ONNX model onto a target and explain the result."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vendor_sdk.cli.options import DEFAULT, JsonOpt

err_console = Console(stderr=True)


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `partition` to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command("partition")
    def partition_cmd(
        model: Annotated[Path, typer.Argument(help="ONNX model (float or int8 QDQ).")],
        target: Annotated[list[str] | None, typer.Option(
            "--target", "-t", help="Target name or target.yaml (repeatable; default: the "
            "default target).")] = None,
        fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
        as_json: JsonOpt = False,
        dot: Annotated[Path | None, typer.Option(help="Write the partitioned graph as DOT.")]
        = None,
        html_out: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")]
        = None,
        min_ops: Annotated[int, typer.Option(help="Minimum pattern ops per region.")] = 1,
        max_regions: Annotated[int | None, typer.Option(help="Keep the largest N regions.")]
        = None,
        host: Annotated[list[str] | None, typer.Option(
            "--host", help="Op type or node name forced to the host (repeatable).")] = None,
    ) -> None:
        """Partition a model into NPU regions and a host remainder; say why ops stay on host."""
        from core.ops import OPS
        from vendor_sdk.frontend.onnx import from_onnx
        from vendor_sdk.patterns.from_target import patterns_of
        from vendor_sdk.patterns.graph_page import to_html
        from vendor_sdk.patterns.partition import PartitionOptions, partition, prepare
        from vendor_sdk.patterns.report import build_report, to_dot
        from vendor_sdk.plugins import resolve_target

        if fmt not in ("text", "json"):
            raise typer.BadParameter(f"--format {fmt!r}: expected text or json")
        targets = target or [DEFAULT]
        forced = host or []
        options = PartitionOptions(
            min_ops=min_ops, max_regions=max_regions,
            host_ops=frozenset(h for h in forced if h in OPS),
            host_nodes=frozenset(h for h in forced if h not in OPS))
        with user_errors():
            patterns = [p for t in targets for p in patterns_of(resolve_target(t))]
            result = partition(prepare(from_onnx(model)), patterns, options)
        report = build_report(result, patterns, model.name)
        if fmt == "json" or as_json:
            print(report.to_json())
        else:
            print(report.to_text(), end="")
        with user_errors():  # an unwritable --dot / --html: named, exit 2
            if dot is not None:
                dot.write_text(to_dot(result))
            if html_out is not None:
                html_out.write_text(to_html(result, report))
