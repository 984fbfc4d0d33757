"""The partitioner's error: where (pattern, node, binding) and why."""

from __future__ import annotations

from core.errors import VendorSdkError


class PartitionError(VendorSdkError):
    """A pattern table or partition request is invalid; the message says where and why."""
