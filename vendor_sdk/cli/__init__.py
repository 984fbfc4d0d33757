"""The `vendor-sdk` command line (typer + rich): one module per command group.

Each group module exposes ``register(app, user_errors)``; the list below adds them to the
root app explicitly, so `vendor-sdk --help` lists every command from one place and a new
group is one line here.
"""

from __future__ import annotations

from vendor_sdk.cli import (
    check,
    compile_run,
    demo,
    e2e,
    export,
    graph,
    partition,
    sweep,
    target,
)
from vendor_sdk.cli.root import app, user_errors

GROUPS = (graph, demo, target, partition, check, e2e, compile_run, export, sweep)

for _group in GROUPS:
    _group.register(app, user_errors)


def main() -> None:
    app()


__all__ = ["app", "main"]
