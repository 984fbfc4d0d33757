"""Reports of a check-intrinsics run: a rich table for people, JUnit XML for CI."""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from vendor_sdk.check.compare import Outcome


@dataclass(frozen=True, slots=True)
class Row:
    """One intrinsic variant: its cases and speed."""

    name: str                 # "gemm_i8_i32" or "gemm_i8_i32.init"
    cases: int
    failed: int
    cycles: int | None        # RTL cycles of the whole program of its largest passing case
    extents: str              # that case's extents
    rtl_cycles: int           # RTL cycles of all its cases
    wall_s: float             # wall time of their RTL runs

    @property
    def cycles_per_s(self) -> float:
        return self.rtl_cycles / self.wall_s if self.wall_s > 0 else 0.0


def print_table(title: str, rows: list[Row], console: Console) -> None:
    table = Table("intrinsic", "cases", "result", "RTL cycles (largest case)",
                  "RTL cycles/s", title=title)
    for r in rows:
        result = "[green]pass[/]" if not r.failed else f"[red]{r.failed} failed[/]"
        call = "-" if r.cycles is None else f"{r.cycles} ({r.extents})"
        speed = f"{r.cycles_per_s / 1e6:.2f}M" if r.wall_s > 0 else "-"
        table.add_row(r.name, str(r.cases), result, call, speed)
    console.print(table)


def write_junit(path: pathlib.Path, target: str, outcomes: list[Outcome],
                seconds: float) -> None:
    """One testsuite; each case a testcase (classname = intrinsic variant)."""
    failures = sum(not o.passed for o in outcomes)
    suite = ElementTree.Element("testsuite", name=f"check-intrinsics.{target}",
                                tests=str(len(outcomes)), failures=str(failures), errors="0",
                                skipped="0", time=f"{seconds:.3f}")
    for o in outcomes:
        classname = f"{target}.{o.intrinsic}" + (f".{o.variant}" if o.variant else "")
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=o.case,
                                      time=f"{o.wall_s:.4f}")
        if not o.passed:
            bad = ElementTree.SubElement(case, "failure", message=o.problems[0],
                                         type="IntrinsicMismatch")
            details = list(o.problems)
            if o.case_dir is not None:
                details.append(f"details: {o.case_dir / 'failure.txt'}")
            bad.text = "\n".join(details)
    root = ElementTree.Element("testsuites")
    root.append(suite)
    tree = ElementTree.ElementTree(root)
    ElementTree.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
