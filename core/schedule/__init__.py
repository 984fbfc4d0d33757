"""Schedule primitives: pure functions PrimFunc -> PrimFunc that keep results equal."""

from core.schedule.common import ScheduleError, TensorizeError
from core.schedule.compute_at import compute_at
from core.schedule.loops import annotate, fuse, reorder, split, split_names, tile
from core.schedule.memory import cache_read, cache_write, double_buffer
from core.schedule.pad import pad
from core.schedule.partition import partition_loops
from core.schedule.reduction import decompose_reduction
from core.schedule.rfactor import rfactor
from core.schedule.tensorize import blockize, tensorize

__all__ = [
    "ScheduleError",
    "TensorizeError",
    "annotate",
    "blockize",
    "cache_read",
    "cache_write",
    "compute_at",
    "decompose_reduction",
    "double_buffer",
    "fuse",
    "pad",
    "partition_loops",
    "reorder",
    "rfactor",
    "split",
    "split_names",
    "tensorize",
    "tile",
]
