"""The default host schedule: what every PrimFunc goes through before LLVM code generation.

A flat list of rewrites, each keeping results identical to the interpreter's:

1. ``partition_loops`` — border/interior splitting, so padding ``select``s and
   split guards leave the loops that run most (see :mod:`core.schedule.partition`).
"""

from __future__ import annotations

from collections.abc import Callable

from core.schedule.partition import partition_loops
from core.tir.stmt import PrimFunc

Pass = Callable[[PrimFunc], PrimFunc]

HOST_PASSES: tuple[Pass, ...] = (partition_loops,)


def host_schedule(f: PrimFunc) -> PrimFunc:
    for p in HOST_PASSES:
        f = p(f)
    return f
