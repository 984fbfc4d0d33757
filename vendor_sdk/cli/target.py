"""Target commands: validate, targets, init, package."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vendor_sdk.cli.options import JsonOpt, print_json
from vendor_sdk.target import Target

if TYPE_CHECKING:
    from vendor_sdk.wizard import UpdateReport

console = Console()
err_console = Console(stderr=True)


def print_target(t: Target) -> None:
    console.print(f"[bold green]ok[/] {escape(t.name)} ({escape(str(t.path))})"
                  + (f": {escape(t.spec.description)}" if t.spec.description else ""),
                  highlight=False)
    mems = Table("memory", "role", "dtype", "rows", "row elems", "bytes", title="Memories")
    for m in t.memories.values():
        size = m.rows * m.row_elems * int(m.dtype.removeprefix("u").removeprefix("int")) // 8
        mems.add_row(m.name, m.role, m.dtype, str(m.rows), str(m.row_elems), f"{size:,}")
    console.print(mems)
    intr = Table("intrinsic", "axes", "variants", "overflow", "compute", title="Intrinsics")
    for name, sem in t.semantics.items():
        axes = ", ".join(f"{a.name}={a.min}" if a.min == a.max else f"{a.name}={a.min}..{a.max}"
                         for a in sem.axes.values())
        intr.add_row(name, axes, ", ".join(v for v in sem.variants if v) or "-", sem.overflow,
                     escape(t.spec.intrinsics[name].compute))
    console.print(intr)
    pats = Table("pattern", "priority", "root", "ops", "lower", title="Patterns")
    for name, p in sorted(t.spec.patterns.items(), key=lambda kv: -kv[1].priority):
        lower = ("tensorize: " + ", ".join(p.lower.tensorize)) if p.lower.tensorize \
            else f"template: {p.lower.template}"
        ops = " -> ".join(n.op for n in p.nodes.values())
        pats.add_row(name, str(p.priority), p.root, ops, lower)
    console.print(pats)


def target_json(t: Target) -> dict[str, object]:
    """What `validate` prints, as data: the target's memories, intrinsics and patterns."""
    return {
        "ok": True, "name": t.name, "path": str(t.path), "description": t.spec.description,
        "memories": [{"name": m.name, "role": m.role, "dtype": m.dtype, "rows": m.rows,
                      "row_elems": m.row_elems} for m in t.memories.values()],
        "intrinsics": [{"name": n, "axes": {a.name: [a.min, a.max] for a in sem.axes.values()},
                        "variants": [v for v in sem.variants if v], "overflow": sem.overflow,
                        "compute": t.spec.intrinsics[n].compute}
                       for n, sem in t.semantics.items()],
        "patterns": [{"name": n, "priority": p.priority, "root": p.root,
                      "ops": [node.op for node in p.nodes.values()],
                      "tensorize": list(p.lower.tensorize or ()),
                      "template": p.lower.template}
                     for n, p in sorted(t.spec.patterns.items(), key=lambda kv: -kv[1].priority)],
    }


def print_update(directory: Path, report: UpdateReport) -> None:
    """One line per file that changed or needs the vendor's attention."""
    said = {
        "update": "[green]updated[/]", "add": "[green]added[/]", "remove": "[yellow]removed[/]",
        "keep-dropped": "[yellow]kept[/] (no longer in the skeleton; you changed it)",
        "keep-deleted": "[yellow]not restored[/] (you deleted it; the skeleton changed it)",
    }
    for f in report.files:
        if f.action == "merge":
            how = "[red]conflict[/]" if f.conflicts else "[green]merged[/] (yours + skeleton)"
        elif f.action in said:
            how = said[f.action]
        else:
            continue
        console.print(f"  {how} {escape(f.path)}", highlight=False)
    for name, value in report.new_answers.items():
        console.print(f"  [cyan]new question[/] {name} = {value!r}", highlight=False)
    if not report.had_base:
        console.print("  no base snapshot (package from an older vendor-sdk): your files were "
                      "kept as they are; later updates merge", highlight=False)
    moved = "" if report.old_version == report.new_version else \
        f" (skeleton {report.old_version or 'unversioned'} -> {report.new_version})"
    console.print(f"[bold green]updated[/] {escape(str(directory))}{moved}", highlight=False)


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add the target commands to ``app``; ``user_errors`` maps stage errors to exit 2."""

    @app.command()
    def validate(
        target: Annotated[str, typer.Argument(
            help="A target.yaml, its directory, or an installed target name.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Check a target description; print a summary or every located error."""
        from vendor_sdk.plugins import resolve_target

        with user_errors():
            t = resolve_target(target)
        if as_json:
            print_json(target_json(t))
            return
        print_target(t)

    @app.command()
    def targets(as_json: JsonOpt = False) -> None:
        """List installed targets (entry points `vendor_sdk.targets`) and their status."""
        from vendor_sdk.plugins import discover

        if as_json:
            print_json({"targets": [
                {"name": p.name, "version": p.version, "package": p.package,
                 "status": p.status, **({"path": str(p.path)} if p.status == "ok" else
                                        {"error": p.error})} for p in discover()]})
            return
        table = Table("target", "version", "package", "status")
        # a broken plugin's reason is the point of the listing: wrapped, never cut to "…"
        table.add_column("detail", overflow="fold")
        for p in discover():
            status = "[green]ok[/]" if p.status == "ok" else "[red]broken[/]"
            detail = str(p.path) if p.status == "ok" else p.error
            table.add_row(p.name, p.version, p.package, status, escape(detail))
        console.print(table)

    @app.command()
    def init(
        directory: Annotated[Path, typer.Argument(help="Where to create the plugin package.")]
        = Path("."),
        defaults: Annotated[bool, typer.Option(
            "--defaults", help="Answer every question with its default (for CI).")] = False,
        update: Annotated[bool, typer.Option(
            "--update", help="Merge a newer skeleton into the package, keeping your edits; "
            "exits 1 if both changed the same lines (conflict markers written).")] = False,
        data: Annotated[list[str] | None, typer.Option(
            "--data", "-d", help="Answer a question: NAME=VALUE (repeatable).")] = None,
        start: Annotated[str | None, typer.Option(
            "--from", metavar="START",
            help="Starting point: a bundled NPU (a copy of its driver, RTL and templates "
            "that runs out of the box; default: the default target) or `blank` "
            "(stubs of the C runtime, glue, functional model and RTL to fill in). Asked "
            "when interactive.")] = None,
        skeleton: Annotated[Path | None, typer.Option(
            "--skeleton", hidden=True,
            help="A skeleton directory instead of the bundled one (for developing the "
            "skeleton: try a change against existing packages).")] = None,
    ) -> None:
        """Create (or update) a target plugin package: target.yaml and the C runtime, glue,
        functional model and RTL it names, tests."""
        from vendor_sdk.packaging import find_targets
        from vendor_sdk.wizard import TEMPLATE, WizardError, create, parse_answers, update_package

        template = skeleton or TEMPLATE
        with user_errors():
            answers = parse_answers(data or [], template)
            if start is not None:
                if answers.get("start", start) != start:
                    raise WizardError(f"--from {start} and -d start={answers['start']} "
                                      "disagree; give one")
                if update:
                    raise WizardError("--from chooses where a new package starts; --update "
                                      "keeps the package's own starting point")
                answers["start"] = start
            if not update:
                made = create(directory, answers, defaults=defaults, template=template)
                # `validate` wants the target.yaml (or its directory), not the package root.
                targets = " ".join(str(p.parent) for p in find_targets(directory))
                todo = ("; `vendor-sdk run` and `check-intrinsics` name each stub left to "
                        "implement") if made == "blank" else ""
                console.print(f"[bold green]created[/] {escape(str(directory))} (from {made}); "
                              f"next: vendor-sdk validate {escape(targets)}, vendor-sdk package "
                              f"{escape(str(directory))}{todo}", highlight=False)
                return
            report = update_package(directory, answers, defaults=defaults, template=template)
        print_update(directory, report)
        if report.conflicted:
            n = len(report.conflicted)
            err_console.print(
                f"[bold red]{n} conflict{'s' if n != 1 else ''}:[/] "
                f"{escape(', '.join(report.conflicted))}: you and the new skeleton changed the "
                "same lines; edit each <<<<<<< yours ... ======= ... >>>>>>> block to what it "
                "should be, then run `vendor-sdk validate`", highlight=False, soft_wrap=True)
            raise typer.Exit(1)

    @app.command()
    def package(
        directory: Annotated[Path, typer.Argument(help="A plugin package (see `init`).")],
        outdir: Annotated[Path | None, typer.Option(help="Where to put the wheel.")] = None,
    ) -> None:
        """Validate the package's target, then build a wheel."""
        from vendor_sdk.packaging import build_wheel

        with user_errors():
            wheel = build_wheel(directory, outdir)
        console.print(f"[bold green]built[/] {escape(str(wheel))}", highlight=False)
