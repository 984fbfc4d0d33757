"""pad: read an input through a padded copy.

``pad(f, buffer, widths)`` allocates ``<buffer>_pad`` with ``before + n +
after`` elements along each dimension, fills the bands with the pad value
and the middle with ``buffer``, and points every read of ``buffer`` at the
copy (indices shifted by ``before``). Reads that used to fall outside
``buffer`` inside a ``select`` now land in the band; those that were in
range read the same element, so results are unchanged. The pay-off comes
later: a tile that overhangs the tensor edge reads real (pad) memory, which
is what an intrinsic with fixed extents and a DMA with border padding need.

The pad value defaults to the op's identity as the lowering wrote it: the
value every ``select`` around a read of ``buffer`` falls back to (0 for sums
and products, the zero point for ConvInteger, the lowest value for max
pooling); 0 when no read is guarded.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.schedule.common import ScheduleError, fresh, simplify, used_names
from core.schedule.memory import copy_nest, rebuild, top_level
from core.tir.expr import (
    Bin,
    Cast,
    Const,
    Expr,
    Load,
    Select,
    Var,
    binop,
    const,
    is_int,
    logical_and,
)
from core.tir.expr import select as sel
from core.tir.stmt import Allocate, Buffer, PrimFunc, seq
from core.tir.visit import buffers_written, map_stmt, walk_expr, walk_stmt


def guard_value(f: PrimFunc, buffer: str) -> int | float | None:
    """The value the ``select``s around reads of ``buffer`` fall back to (None: unguarded).

    Raises when two reads disagree: one padded copy cannot serve both.
    """
    found: set[int | float] = set()
    for s in walk_stmt(f.body):
        from core.tir.visit import stmt_exprs

        for e in stmt_exprs(s):
            for x in walk_expr(e):
                if not isinstance(x, Select) or not isinstance(x.b, Const):
                    continue
                inner = x.a.a if isinstance(x.a, Cast) else x.a
                if isinstance(inner, Load) and inner.buffer.name == buffer:
                    found.add(x.b.value)
    if len(found) > 1:
        raise ScheduleError("pad", f"buffer {buffer}", f"its guarded reads fall back to "
                            f"different values {sorted(found)}", "pass pad_value explicitly "
                            "(one padded copy per value)")
    return next(iter(found), None)


def pad(f: PrimFunc, buffer: str, widths: Sequence[tuple[int, int]],
        pad_value: int | float | None = None, scope: str = "global") -> PrimFunc:
    """Read ``buffer`` (an input of ``f``) through a copy padded by ``widths[d] =
    (before, after)`` along each dimension; see the module docstring."""
    src = next((p for p in f.inputs if p.name == buffer), None)
    if src is None:
        raise ScheduleError("pad", f"buffer {buffer}", f"it is not an input of {f.name}",
                            f"pad one of {[p.name for p in f.inputs]}")
    if buffer in buffers_written(f.body):
        raise ScheduleError("pad", f"buffer {buffer}", "it is written in the function, so a "
                            "copy made up front would be stale", "pad inputs only")
    if len(widths) != src.rank or any(b < 0 or a < 0 for b, a in widths):
        raise ScheduleError("pad", f"buffer {buffer}", f"widths {list(widths)} for rank "
                            f"{src.rank}", "give one non-negative (before, after) per dimension")
    value = guard_value(f, buffer) if pad_value is None else pad_value
    value = 0 if value is None else value
    if not _representable(value, src.dtype):
        raise ScheduleError("pad", f"buffer {buffer}", f"pad value {value!r} is not a "
                            f"{src.dtype}", "pass a pad_value of the buffer's dtype")
    fill = const(value, src.dtype)
    used = used_names(f)
    name = fresh(f"{buffer}_pad", used)
    shape = tuple(binop("+", d, b + a) for d, (b, a) in zip(src.shape, widths, strict=True))
    padded = Buffer(name, src.dtype, shape, scope)
    # copy_nest writes over iteration variables named v<k>; build the value over them.
    vs = [Var(f"v{k}") for k in range(src.rank)]
    conds: list[Expr] = []
    for v, d, (b, a) in zip(vs, src.shape, widths, strict=True):
        if b:
            conds.append(Bin(">=", v, Const(b)))
        if a:
            conds.append(Bin("<", v, binop("+", d, b)))
    inside = logical_and(*conds)
    read: Expr = Load(src, tuple(binop("-", v, b) for v, (b, _) in zip(vs, widths, strict=True)))
    copy = copy_nest(padded, src, used, name, sel(inside, read, fill) if inside else read)

    def ex(e: Expr) -> Expr | None:
        if isinstance(e, Load) and e.buffer.name == buffer:
            return Load(padded, tuple(simplify(binop("+", i, b))
                                      for i, (b, _) in zip(e.indices, widths, strict=True)))
        return None

    allocs, stmts = top_level(map_stmt(f.body, expr_fn=ex))
    return f.with_body(rebuild(allocs, [Allocate(padded, seq(copy, *stmts))]))


def _representable(value: int | float, dtype: str) -> bool:
    import numpy as np

    if is_int(dtype):
        info = np.iinfo(dtype)
        return float(value).is_integer() and info.min <= value <= info.max
    return True
