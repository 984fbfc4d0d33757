"""The one error class of host code generation."""

from __future__ import annotations

from core.errors import VendorSdkError


class CodegenError(VendorSdkError):
    """A tensor program that cannot become host code, or a call that does not fit it.

    The message names the function and, where there is one, the node or argument.
    """
