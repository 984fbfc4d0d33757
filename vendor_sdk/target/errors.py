"""TargetError: every mistake in a target description, each with where and why."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import VendorSdkError


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located mistake: `file:line:col: path.to.field: message` plus a hint.

    line and col are 1-based; path is the dotted field path inside the
    document ("(syntax)" when the YAML itself does not parse).
    """

    file: str
    line: int
    col: int
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


class TargetError(VendorSdkError):
    """All mistakes found in one target description, reported together.

    The first diagnostic's file/line/col/path/message/hint are exposed as
    attributes for callers that only want one location.
    """

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        if not diagnostics:
            raise ValueError("TargetError needs at least one diagnostic")
        self.diagnostics = tuple(sorted(diagnostics, key=lambda d: (d.file, d.line, d.col)))
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]

    @property
    def file(self) -> str:
        return self.first.file

    @property
    def line(self) -> int:
        return self.first.line

    @property
    def col(self) -> int:
        return self.first.col

    @property
    def path(self) -> str:
        return self.first.path

    @property
    def message(self) -> str:
        return self.first.message

    @property
    def hint(self) -> str:  # type: ignore[override]
        return self.first.hint

    def located(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((f"{d.file}:{d.line}:{d.col}: {d.path}", d.message, d.hint)
                     for d in self.diagnostics)
