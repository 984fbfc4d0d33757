"""Progress on stderr: the stage, "layer k of n" while generating C, "region k of n" and the
cycles so far while running, and the elapsed time.

Only on a terminal and never under ``--json``: a log, a pipe or CI sees nothing, so scripts
read only their output. The stages come as text from the pipeline's callbacks
(``compile_model(progress=)``, ``run_compiled(progress=)``); nothing below the CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class StageProgress(Progress):
    """A spinner whose text is redrawn the moment it changes: a stage or a layer can take
    less than the tenth of a second between rich's own refreshes, and each is worth
    seeing once (a terminal redraws one line; nothing is kept: the display is transient)."""

    def update(self, task_id: TaskID, *, total: float | None = None,
               completed: float | None = None, advance: float | None = None,
               description: str | None = None, visible: bool | None = None,
               refresh: bool = False, **fields: Any) -> None:
        super().update(task_id, total=total, completed=completed, advance=advance,
                       description=description, visible=visible,
                       refresh=refresh or description is not None, **fields)

    def stage(self, first: str, prefix: str = "") -> Callable[[str], None]:
        """A new line of progress showing ``first``; the callback sets its text (after
        ``prefix``, e.g. "run on rtl: ")."""
        task = self.add_task(prefix + first)
        return lambda text: self.update(task, description=prefix + text)


def progress(quiet: bool = False) -> StageProgress:
    """A spinner with the stage and elapsed time on stderr; off when stderr is no terminal
    (a log, a pipe, CI) or under ``--json``, so scripts see only their output."""
    err = Console(stderr=True)
    return StageProgress(SpinnerColumn(), TextColumn("{task.description}"),
                         TimeElapsedColumn(), console=err, transient=True,
                         disable=quiet or not err.is_terminal)
