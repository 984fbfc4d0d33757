"""`vendor-sdk quantize | compile | run`: the end-to-end commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vendor_sdk.cli.options import progress

console = Console()
err_console = Console(stderr=True)


def print_run(result: object, compiled: object) -> None:
    """Agreement with onnxruntime and the NPU's cycles / utilization, per region and total."""
    from vendor_sdk.compile import Compiled
    from vendor_sdk.runtime.compare import RunResult

    assert isinstance(result, RunResult) and isinstance(compiled, Compiled)
    for a in result.agreement:
        lsb = f"{a.lsb:.3g}" if a.lsb else "n/a"
        console.print(f"  {escape(a.name)}: max |ours - onnxruntime| = {a.max_abs:.4g} (1 LSB = "
                      f"{lsb}), {100 * a.within_1lsb:.2f}% within 1 LSB, "
                      f"{100 * a.exact:.2f}% identical")
    for o in result.check.outputs:  # the verdict, in the output's own unit
        mark = "[green]ok[/]" if o.ok else "[yellow]drift[/]" \
            if not o.failures and result.check.explained else "[bold red]FAIL[/]"
        console.print(f"  {mark} vs onnxruntime: {escape(o.describe())}", highlight=False)
    for a in result.deployed:
        console.print(f"  {escape(a.name)} vs onnxruntime as deployed (default optimizations, "
                      f"fused QLinear kernels; not judged): {100 * a.within_1lsb:.2f}% within "
                      f"1 LSB, {100 * a.exact:.2f}% identical", highlight=False)
    off, total = compiled.report.coverage
    # the device says whether its cycles are a model's estimate (an in-order chip's fsim
    # can be exact); vsdk_run_result.cycles_estimated
    estimated = any(st.estimate for st in result.stats)
    est = "" if not any(st.calls for st in result.stats) else \
        " (cycles: the functional model's estimate)" if estimated else \
        f" (cycles: {'measured' if result.backend == 'rtl' else 'exact'})"
    peak = result.peak
    t = Table(title=f"NPU on {result.backend}{est}"
              + (f", peak {peak} MACs/cycle" if peak else ""))
    roles = result.stats[0].roles if result.stats else None
    # the target's row and instruction counters, by their target.yaml names
    extra = [n for n in (roles.rows, roles.instructions) if n] if roles else []
    for col in ("region", "calls", "cycles", "ideal", "util", *extra):
        t.add_column(col, justify="right" if col != "region" else "left")
    for s in result.stats:
        ideal = s.macs / peak if peak else 0.0
        t.add_row(s.name.removeprefix(f"{compiled.cmodel.target}_"), str(s.calls),
                  f"{s.cycles:,}", f"{ideal:,.0f}" if peak else "-",
                  f"{100 * ideal / s.cycles:.1f}%" if s.cycles and peak else "-",
                  *(f"{s.counters.get(n, 0):,}" for n in extra))
    util = f"{100 * result.ideal / result.cycles:.1f}%" if result.cycles and peak else "-"
    t.add_row("total", "", f"{result.cycles:,}", f"{result.ideal:,.0f}" if peak else "-", util,
              *([""] * len(extra)))
    console.print(t)
    console.print("  ideal = MACs / peak_macs_per_cycle (the MAC-bound cycle count); "
                  "util = ideal / cycles" if peak else
                  f"  no utilization: target {compiled.cmodel.target} declares no "
                  "peak_macs_per_cycle")
    pct = 100.0 * off / total if total else 0.0
    console.print(f"  offloaded: {off}/{total} compute ops ({pct:.1f}%); the rest runs on the "
                  "host (llvmlite machine code)")
    for comp, why in sorted(compiled.host_reasons.items()):
        console.print(f"  [dim]host fallback {escape(comp)}: {escape(why)}[/]",
                      highlight=False)


def print_check(result: object) -> bool:
    """The numerics check's verdict (docs/compile.md, "Numerics check"); True when it
    passed or was skipped."""
    from vendor_sdk.runtime.compare import RunResult

    assert isinstance(result, RunResult)
    report = result.check
    if report.mode == "none":
        console.print("  check: none (results not checked)")
        return True
    layers = report.layers
    if layers is not None:
        rows = getattr(layers, "layers", ())
        npu = sum(1 for r in rows if r.where == "npu")
        console.print(f"  check layers: {npu} NPU layers bit for bit against their integer "
                      f"reference, {len(rows) - npu} host ops against the reference executor: "
                      + ("[green]all agree[/]" if layers.ok else "[bold red]divergence[/]"),
                      highlight=False)
    for w in report.warnings():
        console.print(f"  [yellow]note[/]: {escape(w)}", highlight=False, soft_wrap=True)
    if report.ok:
        return True
    for f in report.failures():
        err_console.print(f"[bold red]check failed[/]: {escape(f)}", highlight=False,
                          soft_wrap=True)
    return False


WIDE_TABLE = 150  # terminal columns from which the per-layer table shows every counter


def print_layers(result: object, compiled: object, top: int = 0) -> None:
    """Per-layer cycles, ideal, utilization, unit busy cycles and DMA bytes (all layers in
    execution order, or the ``top`` layers by cycles)."""
    from vendor_sdk.compile import Compiled
    from vendor_sdk.runtime.compare import RunResult

    assert isinstance(result, RunResult) and isinstance(compiled, Compiled)
    layers = result.layers
    if layers == []:
        return  # no NPU layer ran (the model stayed on the host): nothing to break down
    if layers is None:
        console.print(f"  per-layer data unavailable: target {compiled.cmodel.target} takes no "
                      "counter snapshots (no templates/perf_snap.c.j2)")
        return
    total = sum(ls.cycles for _, ls in layers)
    order = list(enumerate(layers, 1))
    if top > 0:
        order = sorted(order, key=lambda x: -x[1][1].cycles)[:top]
    shown = f"top {len(order)} of {len(layers)} layers by cycles" if top > 0 else \
        f"{len(layers)} layers"
    t = Table(title=f"NPU per layer on {result.backend} ({shown})")
    roles = layers[0][1].roles
    units = [u for u, _ in roles.busy]  # the target's units with a busy counter
    dma = [(h, n) for h, n in (("DMA rd", roles.dram_read), ("DMA wr", roles.dram_write)) if n]
    # Fourteen columns need ~150 characters; a narrower terminal gets the columns that say
    # where the time goes (cycles, share, utilization, the busiest unit), not a squeeze.
    wide = console.width >= WIDE_TABLE
    cols = ("#", "layer", "op", "ONNX node(s)", "MACs", "cycles", "share", "ideal", "util",
            *units, *(h for h, _ in dma)) if wide else \
        ("#", "layer", "op", "ONNX node(s)", "cycles", "share", "util", "bound by")
    for col in cols:
        t.add_column(col, justify="left" if col in ("layer", "op", "ONNX node(s)", "bound by")
                     else "right")
    prefix = f"{compiled.cmodel.target}_"
    for i, (_, ls) in order:
        ideal = ls.macs / result.peak if result.peak else 0.0
        cycles, busy = ls.cycles, roles.busy_of(ls.counters)
        share = f"{100 * cycles / total:.1f}%" if total else "-"
        util = f"{100 * ideal / cycles:.1f}%" if cycles and ls.macs and result.peak else "-"
        name, nodes = ls.function.removeprefix(prefix), ", ".join(ls.onnx_nodes)
        if wide:
            t.add_row(str(i), name, ls.op, nodes, f"{ls.macs:,}", f"{cycles:,}", share,
                      f"{ideal:,.0f}" if result.peak else "-", util,
                      *(f"{busy[u]:,}" for u in units),
                      *(f"{ls.counters.get(n, 0):,}" for _, n in dma))
        else:
            unit = max(busy, key=lambda k: busy[k]) if busy else ""
            short = re.sub(r"^region(\d+)_(\d+)_.*", r"r\1.\2", name)  # op/node say the rest
            t.add_row(str(i), short, ls.op, nodes, f"{cycles:,}",
                      share, util, f"{unit} {100 * busy[unit] / cycles:.0f}%"
                      if cycles and unit else "-")
    blank = [""] * (len(cols) - 2)
    rest = total - sum(ls.cycles for _, (_, ls) in order)
    total_util = f"{100 * result.ideal / total:.1f}%" if total and result.peak else "-"
    if wide:
        if rest:
            t.add_row("", f"{len(layers) - len(order)} other layers", "", "", "", f"{rest:,}",
                      f"{100 * rest / total:.1f}%", *[""] * (len(cols) - 7))
        t.add_row("", "total", "", "", f"{result.macs:,}", f"{total:,}", "100.0%",
                  f"{result.ideal:,.0f}" if result.peak else "-", total_util,
                  *[""] * (len(cols) - 9))
    else:
        if rest:
            t.add_row("", f"{len(layers) - len(order)} other layers", "", "", f"{rest:,}",
                      f"{100 * rest / total:.1f}%", "", "")
        t.add_row("", "total", *blank[:2], f"{total:,}", "100.0%", total_util, "")
    console.print(t)
    console.print("  a layer's cycles run from the end of the previous layer (its region's start "
                  "for the first) to the end of its own, as the target's counter snapshot "
                  "after the layer sees it; on a machine whose units overlap, later layers' "
                  "work may overlap that span (docs/compile.md); "
                  + (f"{'/'.join(units)} = busy cycles of each unit in it"
                                           if wide else "bound by = the busiest unit in it "
                                           f"(a terminal of {WIDE_TABLE}+ columns shows all "
                                           "counters)"))


def register(app: typer.Typer,
             user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    @app.command()
    def quantize(
        model: Annotated[Path, typer.Argument(help="Float ONNX model.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="QDQ model to write.")],
        calib: Annotated[Path | None, typer.Option(help="Directory of .npz/.npy samples.")] = None,
        random: Annotated[int, typer.Option(help="Random calibration samples.")] = 8,
        seed: Annotated[int, typer.Option(help="Seed of the random samples.")] = 0,
        per_tensor: Annotated[bool, typer.Option(
            "--per-tensor", help="One weight scale per tensor (default: per channel).")] = False,
        symmetric_activations: Annotated[bool, typer.Option(
            "--symmetric-activations", help="Activation zero points at mid-range.")] = False,
        activation_type: Annotated[str, typer.Option(
            help="int8 or uint8 (uint8 is shifted to int8 exactly at import).")] = "int8",
    ) -> None:
        """Quantize with onnxruntime's static quantizer (QDQ, int8 weights per channel).

        The float model is prepared first: opset raised to 13, constant weight subgraphs
        evaluated, BatchNormalization folded into the Conv before it."""
        from vendor_sdk.runtime.quantize import QuantizeOptions, quantize_model

        with user_errors():
            opts = QuantizeOptions(not per_tensor, symmetric_activations, activation_type)
            q = quantize_model(model, output, calib, random, seed, opts)
        console.print(f"wrote {q.path} (float opset {q.opset}, {q.folded_constants} constant "
                      f"nodes and {q.folded_affine} BatchNorm/Mul/Add folded)", highlight=False)
        console.print(f"  quantized vs float on the first calibration sample: max |diff| = "
                      f"{100 * q.rel_error:.2f}% of max |float output|", highlight=False)

    @app.command()
    def replay(
        npz: Annotated[Path, typer.Argument(help="LAYER.npz written by run --check layers.")],
        target: Annotated[str | None, typer.Option(
            help="Target name or target.yaml (default: the run's).")] = None,
        backend: Annotated[str | None, typer.Option(help="fsim or rtl (default: the run's).")
                           ] = None,
        model: Annotated[Path | None, typer.Option(
            help="The int8 model (default: the run's path).")] = None,
    ) -> None:
        """Recompile and rerun the layer a `run --check layers` found diverging, on the
        inputs it got, and compare it with its reference again (exit 1: still wrong)."""
        from vendor_sdk.runtime.replay import replay as run_replay

        with user_errors(), progress() as bar:
            bar.add_task(f"replay {npz.name}")
            r = run_replay(npz, target, backend, model)
        console.print(f"  saved run: {r.saved}", highlight=False, markup=False)
        if not r.same_inputs:
            console.print("  [yellow]note[/]: the layer read other inputs than in the saved "
                          "run (a layer before it in its region computes differently now)")
        if not r.result.ok:
            err_console.print(f"[bold red]still diverges[/]: {escape(r.result.describe())}",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        console.print(f"[bold green]agrees now[/]: {escape(r.result.describe())}",
                      highlight=False)

