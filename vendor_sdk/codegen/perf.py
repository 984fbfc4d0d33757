"""Per-layer counter snapshots: whether a target can take them, and the C that takes one.

A target opts in with a template ``perf_snap.c.j2`` in its templates directory: one C
expression (0 on success) that makes the NPU write its counters to a DRAM record. The
template receives ``ctx`` (the driver context) and ``addr`` (the record's DRAM byte
address); where the snapshot is ordered (after the layer's last store) is the target's
business. Without the template a region gets no snapshots and the runtime reports
per-layer data as unavailable; nothing else changes.

The record is the target's counters (target.yaml ``counters:``), in order, one
little-endian u64 each: ``record_counters(target)``.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import TemplateError

from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.target import Target
from vendor_sdk.target.templates import environment

PERF_SNAP_TEMPLATE = "perf_snap.c.j2"


def record_counters(target: Target) -> tuple[str, ...]:
    """The target's counter names, in the order of its counter record."""
    return tuple(target.spec.counters)


def record_bytes(target: Target) -> int:
    """Bytes of one counter record: a u64 per counter."""
    return 8 * len(record_counters(target))


def templates_dir(target: Target) -> Path:
    """The target's templates directory (a loaded Target, or any object with a ``path``)."""
    if hasattr(target, "templates_dir"):
        return Path(target.templates_dir)
    return Path(target.path).parent / "templates"


def supports_perf_snap(target: Target) -> bool:
    return (templates_dir(target) / PERF_SNAP_TEMPLATE).is_file() and \
        bool(record_counters(target))


def perf_snap_c(target: Target, ctx: str, addr: str) -> str | None:
    """The C expression that snapshots the counters into ``addr``, or None when the target
    has no ``perf_snap.c.j2`` (no per-layer data)."""
    if not supports_perf_snap(target):
        return None
    tdir = templates_dir(target)
    try:
        text = environment(tdir).get_template(PERF_SNAP_TEMPLATE).render(ctx=ctx, addr=addr)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        raise CodegenError(f"template {tdir / PERF_SNAP_TEMPLATE}"
                           f"{f', line {line}' if line else ''}: {e}") from None
    expr = " ".join(text.split())
    if not expr:
        raise CodegenError(f"template {tdir / PERF_SNAP_TEMPLATE}: renders no C expression "
                           "(expected one C expression of ctx and addr that is 0 on success)")
    return expr
