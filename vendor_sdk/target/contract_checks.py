"""`validate` for the C side of the contract: what building and running will assume.

A target with a `runtime:` section will be compiled against its driver header, linked
with its runtime library (vendor_sdk/contract/vsdk_device.h) and glue template
(vsdk_glue.h), measured through its counters and simulated from its `sim.rtl`. Each of
those is checked here, at the line that declares it, so a missing file or an unusable
counter record is a located error before any model is seen rather than a compiler
error in generated C. A target without `runtime:` can still be validated, partitioned
and compiled to C (the C side is the vendor's work in progress); `run`,
`check-intrinsics` and `package` say the runtime is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jinja2 import TemplateError, meta

from vendor_sdk.intrinsics.check import eval_const
from vendor_sdk.intrinsics.lang import ExprError
from vendor_sdk.target.model import TargetSpec
from vendor_sdk.target.source import Loc
from vendor_sdk.target.templates import environment

Report = Callable[[Loc, str, str], None]

# What the code generator moves for a memory of each role (codegen/nest.py, hoist.py):
# activations and padding into the input memory, weight tiles, descriptors and tables in,
# biases and residual operands into the accumulator (with pad rows for pooling windows),
# results out of the output and accumulator memories.
NEEDS: dict[str, tuple[str, ...]] = {
    "input": ("load", "pad"),
    "weight": ("load",),
    "param": ("load",),
    "table": ("load",),
    "accumulator": ("load", "pad", "store"),
    "output": ("store",),
}


def check_contract(spec: TargetSpec, base: Path, err: Report) -> None:
    """Report every problem of `runtime:`, `movement:`, `counters:` and `sim.rtl`."""
    if spec.runtime is not None:
        _runtime(spec, base, err)
        _movement(spec, err)
        _counters(spec, err)
        _sync(spec, err)
    elif spec.movement is not None or spec.counters:
        err(("movement",) if spec.movement is not None else ("counters",),
            "`movement:` / `counters:` without `runtime:`",
            "they describe the runtime library and glue: add the `runtime:` section")
    if spec.sim is not None:
        _rtl(spec, base, err)


def outside(pattern: str) -> bool:
    """A path or glob that is absolute or climbs out of the target's directory: the
    package would not ship it, and Path.glob refuses absolute patterns."""
    p = Path(pattern)
    return p.is_absolute() or ".." in p.parts


def _files(base: Path, pattern: str) -> list[Path]:
    if outside(pattern):
        return []
    return sorted(p for p in base.glob(pattern) if p.is_file())


def _missing(base: Path, pattern: str, why: str) -> str:
    return f"{pattern!r} lies outside the target" if outside(pattern) else \
        f"{pattern!r} {why}"


def _where(base: Path, pattern: str) -> str:
    if outside(pattern):
        return (f"paths are relative to {base} and stay inside it (the package ships that "
                "directory): copy the file into the package")
    return f"globs are relative to {base}"


def _runtime(spec: TargetSpec, base: Path, err: Report) -> None:
    rt = spec.runtime
    assert rt is not None
    dirs = []
    for i, d in enumerate(rt.include):
        if not outside(d) and (base / d).is_dir():
            dirs.append(base / d)
        else:
            err(("runtime", "include", i), _missing(base, d, "is not a directory"),
                _where(base, d))
    if not any((d / rt.header).is_file() for d in [base, *dirs]):
        err(("runtime", "header"), f"header {rt.header!r} is in none of the include "
            f"directories ({', '.join(rt.include) or 'none'})",
            "generated C includes it for the emit snippets' functions: list its directory "
            "under runtime.include")
    for i, pattern in enumerate(rt.sources):
        if not any(p.suffix == ".c" for p in _files(base, pattern)):
            err(("runtime", "sources", i), _missing(base, pattern, "matches no C file"),
                _where(base, pattern))
    if rt.library is not None and (outside(rt.library) or
                                   not (base / rt.library).is_file()):
        err(("runtime", "library"), f"runtime library {rt.library!r} does not exist",
            f"a prebuilt shared library implementing vsdk_device.h, relative to {base}")
    tdir = base / spec.templates
    if not (tdir / rt.glue).is_file():
        err(("runtime", "glue"), f"glue template {rt.glue!r} is not in {tdir}",
            "the glue implements vendor_sdk/contract/vsdk_glue.h (data movement and "
            "ordering); start from a bundled NPU's (`vendor-sdk init --from ...`)")
        return
    try:  # the same variables the code generator renders it with
        environment(tdir).get_template(rt.glue).render(
            version="validate", model="model", header="model.h", perf_snap=None)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        err(("runtime", "glue"), f"glue template {rt.glue}"
            f"{f', line {line}' if line else ''} does not render: {e}",
            "it sees version, model, header and perf_snap (None, or the C expression "
            "that snapshots the counters)")


def _movement(spec: TargetSpec, err: Report) -> None:
    mv = spec.movement
    if mv is None:
        err(("runtime",), "`runtime:` without `movement:`",
            "declare which memories rows load into, store from and pad "
            "(movement: {load: [...], store: [...], pad: [...]})")
        return
    for kind in ("load", "store", "pad"):
        for i, name in enumerate(getattr(mv, kind)):
            if name not in spec.memories:
                err(("movement", kind, i), f"{name!r} is not a memory",
                    f"memories: {', '.join(spec.memories)}")
    for name, mem in spec.memories.items():
        role = mem.role or ""
        for kind in NEEDS.get(role, ()):
            if name not in getattr(mv, kind):
                err(("movement", kind), f"memory {name!r} (role {role}) is missing from "
                    f"movement.{kind}", f"the code generator uses {kind} on the {role} "
                    "memory; if the hardware cannot, that memory cannot have this role")


def _counters(spec: TargetSpec, err: Report) -> None:
    if not spec.counters:
        err(("runtime",), "`runtime:` without `counters:`",
            "list the device's counters in record order; one needs `role: cycles`")
        return
    if not any(c.role == "cycles" for c in spec.counters.values()):
        err(("counters",), "no counter has `role: cycles`",
            "run reports and benchmarks read cycles from that counter")
    for name, c in spec.counters.items():
        if c.role == "busy" and not c.unit:
            err(("counters", name), f"busy counter {name!r} names no `unit`",
                "e.g. unit: load; the report says which unit bounds a layer")
    if spec.peak_macs_per_cycle is None:
        err(("runtime",), "no `peak_macs_per_cycle`",
            "utilization is MACs / (cycles x peak): e.g. peak_macs_per_cycle: DIM * DIM")
        return
    try:
        peak = eval_const(spec.peak_macs_per_cycle, spec.params)
    except ExprError as e:
        err(("peak_macs_per_cycle",), e.message, e.hint)
        return
    if peak < 1:
        err(("peak_macs_per_cycle",), f"must be at least 1, is {peak}", "")


def _sync(spec: TargetSpec, err: Report) -> None:
    """With `sync: tokens` the glue's vsdk_exec returns the dependency bits each compute
    instruction must carry: an emit snippet that drops `{{ deps }}` issues instructions that
    never wait (fsim, in order, still agrees; the RTL computes on stale data)."""
    assert spec.runtime is not None
    if spec.runtime.sync != "tokens":
        return
    env = environment()
    for name, intr in spec.intrinsics.items():
        try:
            used = meta.find_undeclared_variables(env.parse(intr.emit))
        except TemplateError:
            continue  # reported by the snippet's own check
        if "deps" not in used:
            err(("intrinsics", name, "emit"), f"emit snippet of {name} does not use "
                "{{ deps }}, but runtime.sync is tokens",
                "pass {{ deps }} where the instruction takes its dependency flags: the "
                "glue's tokens reach the hardware only through it")


def _rtl(spec: TargetSpec, base: Path, err: Report) -> None:
    assert spec.sim is not None
    rtl = spec.sim.rtl
    for key in ("harness", "lint"):
        for i, pattern in enumerate(getattr(rtl, key)):
            if not _files(base, pattern):
                err(("sim", "rtl", key, i), _missing(base, pattern, "matches no file"),
                    _where(base, pattern))
    for i, d in enumerate(rtl.include):
        if outside(d) or not (base / d).is_dir():
            err(("sim", "rtl", "include", i), _missing(base, d, "is not a directory"),
                _where(base, d))
