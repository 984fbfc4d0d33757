"""Mutated copies of the reference target for check-intrinsics tests.

A copy lives in a temporary directory with `rtl/`, `driver/` and `templates/`
linked to the reference NPU's, so `sim.rtl`, `runtime` and `templates` resolve as
in the original (and hit the same build cache); each mutation is an exact text
substitution that must apply once.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Sequence

REFERENCE = pathlib.Path(__file__).resolve().parents[2] / "reference_npu"


def mutated_target(directory: pathlib.Path, edits: Sequence[tuple[str, str]],
                   rtl: pathlib.Path | None = None) -> pathlib.Path:
    """target.yaml in `directory` with each (old, new) edit applied exactly once."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (REFERENCE / "target.yaml").read_text()
    for old, new in edits:
        assert text.count(old) == 1, f"edit does not apply exactly once: {old!r}"
        text = text.replace(old, new)
    (directory / "rtl").symlink_to(rtl or REFERENCE / "rtl")
    shutil.copytree(REFERENCE / "templates", directory / "templates")  # must stay inside
    (directory / "driver").symlink_to(REFERENCE / "driver")
    path = directory / "target.yaml"
    path.write_text(text)
    return path
