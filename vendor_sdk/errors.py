"""Stage errors as the CLI reports them: where, why and the fix, as plain text.

Every stage error derives from :class:`VendorSdkError`; a few exceptions from outside
the SDK also describe bad input (a path that cannot be read or written, a target
template that fails with a real model's values) and are read the same way here, so
the CLI has one handler. Anything else is a bug in the SDK and keeps its traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jinja2 import TemplateError

from core.errors import VendorSdkError

__all__ = ["Problem", "VendorSdkError", "problems_of"]

_FILE_LINE_COL = re.compile(r"\S+:\d+:\d+(:|$)")

# Exceptions from outside the SDK that mean bad input, not an SDK bug.
FOREIGN_USER_ERRORS: tuple[type[Exception], ...] = (OSError, TemplateError)


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake as printed: ``error: <text>`` then ``hint: <hint>``."""

    text: str  # "where: why" (or why alone when the message already says where)
    hint: str = ""
    # where is file:line:col: the line starts with it, as a compiler's does, so editors and
    # terminals jump to the place
    located: bool = False


def problems_of(e: BaseException) -> tuple[Problem, ...] | None:
    """The problems an exception reports to the user; None for an SDK bug."""
    if isinstance(e, VendorSdkError):
        out = []
        for where, why, hint in e.located():
            text = f"{where}: {why}" if where else why
            out.append(Problem(text, "" if hint in text else hint,  # some messages hold it
                               bool(_FILE_LINE_COL.match(where))))
        return tuple(out)
    if isinstance(e, FileNotFoundError):  # the SDK's own say which input is missing
        return (Problem(str(e)),)
    if isinstance(e, OSError):  # a path given (or derived) that cannot be written or read
        where = f"{e.filename}: " if e.filename else ""
        return (Problem(f"{where}{e.strerror or e}", "check that the path is a directory or "
                        "file as the option expects, and that it is writable"),)
    if isinstance(e, TemplateError):  # a target template that fails with real values
        return (Problem(str(e)),)
    return None
