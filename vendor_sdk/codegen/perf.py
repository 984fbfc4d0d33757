"""Per-layer counter snapshots: whether a target can take them, and the C that takes one.

A target opts in with a template ``perf_snap.c.j2`` in its templates directory: one C
expression (0 on success) that makes the NPU write its counters to a DRAM record. The
template receives ``ctx`` (the driver context), ``addr`` (the record's DRAM byte address)
and ``queue`` (the unit the snapshot must be ordered on, an ``npu.h`` queue constant).
Without the template a region gets no snapshots and the runtime reports per-layer data
as unavailable; nothing else changes.

The record is the driver's counter order (``npu_stats``, reference_npu/driver/npu_types.h):
nine little-endian u64 values, ``RECORD_COUNTERS``.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import TemplateError

from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.target.templates import environment

PERF_SNAP_TEMPLATE = "perf_snap.c.j2"
RECORD_COUNTERS = ("cycles", "gemm_rows", "gemm_busy", "ld_busy", "st_busy", "ex_busy",
                   "dma_rd_bytes", "dma_wr_bytes", "insns")
RECORD_BYTES = 8 * len(RECORD_COUNTERS)

# The snapshot sits on the store queue, after a layer's last STORE. The store unit runs in
# order and a layer's last STORE waits (exec -> store token) for the exec work it stores,
# which waited for its loads: when the store unit reaches the snapshot, every instruction
# of the layer has finished. On the exec queue it would fire once the last GEMM/REQ was
# issued, before the results reach DRAM; on the load queue, while the layer still computes.
# Without tokens it adds no ordering, so the next layer's loads and compute keep
# overlapping this layer's tail (what "cycles of layer k" means: docs/compile.md).
SNAP_QUEUE = "NPU_Q_ST"


def templates_dir(target: object) -> Path:
    """The target's templates directory (a loaded Target, or any object with a ``path``)."""
    if hasattr(target, "templates_dir"):
        return Path(target.templates_dir)
    return Path(target.path).parent / "templates"  # type: ignore[attr-defined]


def supports_perf_snap(target: object) -> bool:
    return (templates_dir(target) / PERF_SNAP_TEMPLATE).is_file()


def perf_snap_c(target: object, ctx: str, addr: str) -> str | None:
    """The C expression that snapshots the counters into ``addr``, or None when the target
    has no ``perf_snap.c.j2`` (no per-layer data)."""
    if not supports_perf_snap(target):
        return None
    tdir = templates_dir(target)
    try:
        text = environment(tdir).get_template(PERF_SNAP_TEMPLATE).render(
            ctx=ctx, addr=addr, queue=SNAP_QUEUE)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        raise CodegenError(f"template {tdir / PERF_SNAP_TEMPLATE}"
                           f"{f', line {line}' if line else ''}: {e}") from None
    expr = " ".join(text.split())
    if not expr:
        raise CodegenError(f"template {tdir / PERF_SNAP_TEMPLATE}: renders no C expression "
                           "(expected e.g. npu_sync(ctx, 0, queue, 0, 1, addr))")
    return expr
