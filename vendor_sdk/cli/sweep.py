"""`vendor-sdk sweep`: target parameters x models, each point compiled, run and checked
(or every intrinsic checked), in process or on Ray (docs/sweep.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from vendor_sdk.cli.options import DEFAULT, BackendOpt, TargetOpt, check_backend
from vendor_sdk.cli.root import fail
from vendor_sdk.sweep.child import POINT_TIMEOUT

console = Console()
err_console = Console(stderr=True)

_STYLE = {"ok": "green", "mismatch": "bold red", "failed": "yellow"}


def _line(rec: dict[str, Any]) -> Text:
    what = rec["model"] or "intrinsics"
    cycles = f"{rec['cycles']:,} cycles" if rec.get("cycles") is not None else ""
    util = f", {100 * rec['utilization']:.1f}% util" if rec.get("utilization") else ""
    tail = f"{cycles}{util}" if rec["status"] == "ok" else rec["reason"]
    return Text.assemble((f"{rec['status']:>8} ", _STYLE[rec["status"]]),
                         f"{rec['config']}  {what}  ", (tail, "dim" if rec["status"] == "ok"
                                                        else ""))


def _table(records: list[dict[str, Any]], title: str) -> Table:
    t = Table(title=title)
    for col in ("config", "model", "status", "cycles", "util", "on-chip B", "compile s"):
        t.add_column(col, justify="left" if col in ("config", "model", "status") else "right")
    for r in records:
        t.add_row(r["config"], r["model"] or "(intrinsics)",
                  Text(r["status"], _STYLE[r["status"]]),
                  f"{r['cycles']:,}" if r.get("cycles") is not None else "-",
                  f"{100 * r['utilization']:.1f}%" if r.get("utilization") else "-",
                  f"{r['onchip_bytes']:,}" if r.get("onchip_bytes") is not None else "-",
                  f"{r['compile_seconds']:.1f}" if r.get("compile_seconds") else "-")
    return t


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add `sweep` to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command()
    def sweep(
        target: TargetOpt = DEFAULT,
        param: Annotated[list[str] | None, typer.Option(
            "--param", help="NAME=V1,V2,...: values of a target.yaml `params:` entry "
                            "(repeatable; the grid is their cross product).")] = None,
        models: Annotated[list[Path] | None, typer.Option(
            "--models", help="An int8 QDQ .onnx file, or a directory of them (repeatable).")
        ] = None,
        backend: BackendOpt = "fsim",
        check: Annotated[str, typer.Option(
            help="Each point's numerics check: output (the outputs against onnxruntime), "
                 "layers, or none. A wrong result exits 1.")] = "output",
        check_intrinsics: Annotated[bool, typer.Option(
            "--check-intrinsics", help="Per configuration, run check-intrinsics (fsim and "
                                       "RTL) instead of models.")] = False,
        only: Annotated[list[str] | None, typer.Option(
            "--only", help="With --check-intrinsics: only these cases, "
                           "INTRINSIC\\[.VARIANT]\\[/CASE] (repeatable).")] = None,
        output: Annotated[Path, typer.Option(
            "-o", "--output", help="Results directory (resumed when it holds results).")
        ] = Path("sweep-results"),
        ray: Annotated[bool, typer.Option(
            "--ray", help="One Ray task per point: on the cluster at $RAY_ADDRESS, else on a "
                          "local one (also when only RAY_ADDRESS is set).")] = False,
        workers: Annotated[int | None, typer.Option(
            min=1, help="CPUs of the local Ray cluster --ray starts \\[default: all].")] = None,
        point_timeout: Annotated[float, typer.Option(
            "--point-timeout", metavar="SECONDS",
            help="Kill a point still running after this many seconds and record it as "
                 "failed (timed out; not retried).")] = POINT_TIMEOUT,
        fresh: Annotated[bool, typer.Option(
            "--fresh", help="Run every point again, ignoring the directory's results.")
        ] = False,
    ) -> None:
        """Compile and run every (configuration x model) point of a grid of target
        parameters; write results.jsonl/.csv/.json and index.html (Pareto front of cycles
        vs on-chip bytes). Exit 1 when any point computed a wrong result."""
        from vendor_sdk.sweep.execute import RayOptions
        from vendor_sdk.sweep.run import plan_sweep, run_sweep

        if output.exists() and not output.is_dir():
            raise fail(f"-o {output}: is a file", "-o names the results directory")
        if not point_timeout > 0:  # NaN too
            raise fail(f"--point-timeout {point_timeout:g}: must be more than 0 seconds",
                       f"the default is {POINT_TIMEOUT:g}")
        check_backend(backend)
        mode = "check-intrinsics" if check_intrinsics else "run"
        with user_errors():  # SweepError, TargetError: where, why, hint; exit 2
            plan = plan_sweep(target, param or [], models or [], backend, check, mode,
                              tuple(only or ()))
        on_ray = ray or bool(os.environ.get("RAY_ADDRESS"))
        where = "on Ray" + (f" at {os.environ['RAY_ADDRESS']}" if os.environ.get(
            "RAY_ADDRESS") else " (a local cluster)") if on_ray else "in process"
        n = len(plan.points)
        console.print(f"sweep {plan.sweep['target']}: {plan.sweep['grid']} x "
                      f"{len(plan.sweep['models']) or 'check-intrinsics'}"
                      f"{' models' if plan.sweep['models'] else ''} = {n} points, {where}",
                      highlight=False, markup=False)
        with user_errors(), Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=console, transient=True) as bar:
            task = bar.add_task("points", total=n)

            def arrived(rec: dict[str, Any]) -> None:
                bar.console.print(_line(rec), highlight=False)
                bar.advance(task)

            summary = run_sweep(plan, output, RayOptions(num_cpus=workers) if on_ray else None,
                                arrived, resume=not fresh, point_timeout=point_timeout)
            bar.update(task, completed=n)
        if summary.skipped:
            console.print(f"  {summary.skipped} points already in {output} (resumed; "
                          "--fresh runs them again)", highlight=False)
        console.print(_table(summary.records, f"sweep {plan.sweep['target']} "
                                              f"({plan.sweep['backend']})"))
        counts = ", ".join(f"{summary.count(s)} {s}" for s in ("ok", "mismatch", "failed"))
        console.print(f"  {counts}; wrote " + ", ".join(str(p) for p in summary.files),
                      highlight=False, markup=False)
        if summary.exit_code:
            for r in summary.records:
                if r["status"] == "mismatch":
                    err_console.print(Text.assemble(("mismatch: ", "bold red"),
                                                    f"{r['config']} {r['model'] or ''}: "
                                                    f"{r['reason']}"), soft_wrap=True)
            raise typer.Exit(summary.exit_code)

