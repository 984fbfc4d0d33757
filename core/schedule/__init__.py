"""Schedule primitives: pure functions PrimFunc -> PrimFunc that keep results equal."""

from core.schedule.common import ScheduleError, TensorizeError
from core.schedule.loops import annotate, fuse, reorder, split, split_names, tile
from core.schedule.memory import cache_read, cache_write, double_buffer
from core.schedule.tensorize import blockize, tensorize

__all__ = [
    "ScheduleError", "TensorizeError", "annotate", "blockize", "cache_read", "cache_write",
    "double_buffer", "fuse", "reorder", "split", "split_names", "tensorize", "tile",
]
