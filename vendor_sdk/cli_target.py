"""Target commands (validate, targets, init, package): filled in by the target-description work."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import typer


def register(app: typer.Typer, user_errors: Callable[[], AbstractContextManager[None]]) -> None:
    """Add the target commands to ``app``; ``user_errors`` maps stage errors to exit 2."""
