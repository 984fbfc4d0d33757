"""The export stage's error: where, why and what to do."""

from __future__ import annotations

from core.errors import VendorSdkError


class ExportError(VendorSdkError):
    """An export that cannot be written, or an exported model that cannot run."""

    def __init__(self, where: str, why: str, hint: str = "") -> None:
        super().__init__(why, where=where, hint=hint)
        if hint:  # a traceback outside the CLI (a user's own onnxruntime code) shows it
            self.add_note(f"hint: {hint}")

    def describe(self) -> str:
        """The message with its hint, for places without the CLI's handler."""
        return str(self) + (f"\n    hint: {self.hint}" if self.hint else "")
