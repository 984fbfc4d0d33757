"""A compact, printable summary of a graph module (what `vendor-sdk import` shows)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from core import symbolic as sym
from core.graph import Call, CallExtern, CallFunc, CallTIR, Constant, Function, Module


@dataclass(frozen=True)
class GraphSummary:
    inputs: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]
    op_counts: tuple[tuple[str, int], ...]
    bindings: int
    constants: int
    constant_bytes: int
    symbols: tuple[str, ...]


def summarize(m: Module) -> GraphSummary:
    f: Function = m.main
    ops: Counter[str] = Counter()
    consts: dict[int, Constant] = {}
    symbols: set[str] = set()
    for p in f.params:
        for d in p.tensor_type.shape:
            symbols |= sym.free_vars(d)
    count = 0
    for b in f.bindings:
        count += 1
        e = b.value
        if isinstance(e, Call):
            ops[e.op] += 1
        elif isinstance(e, CallExtern):
            ops[f"extern:{e.symbol}"] += 1
        elif isinstance(e, CallTIR):
            ops[f"tir:{e.func}"] += 1
        elif isinstance(e, CallFunc):
            ops[f"@{e.func}"] += 1
        for a in getattr(e, "args", ()):
            if isinstance(a, Constant):
                consts[id(a)] = a
    return GraphSummary(
        inputs=tuple((p.name, str(p.type)) for p in f.params),
        outputs=tuple((str(o), str(o.type)) for o in f.outputs),
        op_counts=tuple(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        bindings=count,
        constants=len(consts),
        constant_bytes=sum(c.value.nbytes for c in consts.values()),
        symbols=tuple(sorted(symbols)),
    )


def print_summary(s: GraphSummary, title: str, console: Console) -> None:
    io = Table(title=title, show_header=True, header_style="bold")
    io.add_column("")
    io.add_column("name")
    io.add_column("type")
    for name, t in s.inputs:
        io.add_row("input", name, t)
    for name, t in s.outputs:
        io.add_row("output", name, t)
    console.print(io)
    ops = Table(show_header=True, header_style="bold")
    ops.add_column("op")
    ops.add_column("count", justify="right")
    for op, n in s.op_counts:
        ops.add_row(op, str(n))
    console.print(ops)
    sym_note = f", symbolic dims: {', '.join(s.symbols)}" if s.symbols else ""
    console.print(
        f"{s.bindings} bindings, {s.constants} constants "
        f"({s.constant_bytes / 1e6:.1f} MB){sym_note}"
    )
