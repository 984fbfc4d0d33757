"""The export stage's error: where, why and what to do."""

from __future__ import annotations


class ExportError(Exception):
    """An export that cannot be written, or an exported model that cannot run."""

    def __init__(self, where: str, why: str, hint: str = "") -> None:
        super().__init__(f"{where}: {why}" + (f"\n    hint: {hint}" if hint else ""))
        self.where, self.why, self.hint = where, why, hint
