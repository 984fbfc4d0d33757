"""The partitioner's error: where (pattern, node, binding) and why."""

from __future__ import annotations


class PartitionError(Exception):
    """A pattern table or partition request is invalid; the message says where and why."""
