"""`vendor-sdk check-intrinsics`: every declared intrinsic validated on fsim and the RTL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from vendor_sdk.cli.options import JsonOpt, print_json

console = Console()
err_console = Console(stderr=True)


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add check-intrinsics to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command("check-intrinsics")
    def check_intrinsics_cmd(
        target: Annotated[str, typer.Argument(
            help="A target.yaml, its directory, or an installed target name.")],
        only: Annotated[list[str] | None, typer.Option(
            "--only", help="Run only these cases: INTRINSIC\\[.VARIANT]\\[/CASE] (repeatable).")]
        = None,
        workdir: Annotated[Path | None, typer.Option(
            help="Where cases and failing cases' details go "
                 "\\[default: ./check-intrinsics/<target>].")] = None,
        junit: Annotated[Path | None, typer.Option(
            help="Write a JUnit XML report here \\[default: <workdir>/junit.xml].")] = None,
        timeout: Annotated[float | None, typer.Option(
            help="Wall-clock limit of all fsim and RTL runs in seconds "
                 "\\[default: derived].")] = None,
        max_cycles: Annotated[int | None, typer.Option(
            help="Per-case RTL watchdog in cycles, passed to the device as max_cycles= "
                 "\\[default: 20x fsim's cycles, at least 20000].")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Run each intrinsic's emit snippet through the target's glue on its fsim and RTL;
        compare both bit-exactly with the reference of its declared semantics. Exit 1 on
        a mismatch."""
        from vendor_sdk.check.report import print_table
        from vendor_sdk.check.run import CheckOptions, check_intrinsics
        from vendor_sdk.plugins import resolve_target

        with user_errors():
            t = resolve_target(target)
            work = workdir or Path("check-intrinsics") / t.name
            options = CheckOptions(
                workdir=work, only=tuple(only or ()), target_spec=target, timeout_s=timeout,
                cycle_budget=max_cycles, junit=junit or work / "junit.xml",
                progress=(lambda _msg: None) if as_json else
                lambda msg: err_console.print(f"[dim]{escape(msg)}[/]", highlight=False))
            report = check_intrinsics(t, options)
        if as_json:
            print_json({
                "target": t.name, "passed": report.passed, "junit": str(options.junit),
                "seconds": report.seconds,
                "cases": [{"id": o.id, "intrinsic": o.intrinsic, "variant": o.variant,
                           "case": o.case, "passed": o.passed, "problems": o.problems,
                           "rtl_cycles": o.rtl_cycles, "rerun": report.reruns.get(o.id),
                           "details": report.failure_files.get(o.id)}
                          for o in report.outcomes]})
            if not report.passed:
                raise typer.Exit(1)
            return
        print_table(f"check-intrinsics: {t.name}", report.rows, console)
        for o in report.outcomes:
            if o.passed:
                continue
            console.print(f"[bold red]FAIL[/] {escape(o.id)}", highlight=False)
            for problem in o.problems:
                console.print(f"    {escape(problem)}", highlight=False, soft_wrap=True)
            if o.id in report.failure_files:
                console.print(f"    details: {report.failure_files[o.id]}", highlight=False)
            console.print(f"    re-run: {escape(report.reruns[o.id])}", highlight=False,
                          soft_wrap=True)
        times = ", ".join(f"{k} {v:.2f} s" for k, v in report.seconds.items())
        n, bad = len(report.outcomes), sum(not o.passed for o in report.outcomes)
        verdict = "[bold green]all passed[/]" if report.passed else f"[bold red]{bad} failed[/]"
        console.print(f"{n} cases: {verdict} ({times}); JUnit: {options.junit}",
                      highlight=False)
        if not report.passed:
            raise typer.Exit(1)
