"""Three-way update of skeleton-owned files: base (the skeleton as generated),
ours (the vendor's files), theirs (the new skeleton).

Copier's own `update` does the same through git, but it needs the old template
version in a git repository (the SDK ships only the current skeleton) and the
package in a clean git checkout (vendors' packages need not be). So the base is
a snapshot kept in the package and the per-file merge is `git merge-file`.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vendor_sdk.wizard.skeleton import WizardError

# What an update does to one file (None content = the file does not exist).
Action = Literal[
    "same",          # vendor's file already equals the new skeleton
    "keep",          # the skeleton did not change it: the vendor's version (or deletion) stands
    "update",        # the vendor did not change it: take the new skeleton
    "add",           # new in the skeleton
    "remove",        # dropped by the skeleton, unchanged by the vendor
    "keep-dropped",  # dropped by the skeleton, but the vendor changed it: kept, reported
    "keep-deleted",  # the vendor deleted it, the skeleton changed it: stays deleted, reported
    "merge",         # both changed it: three-way text merge
]

_MARKERS = (b"<<<<<<< ", b">>>>>>> ")


@dataclass(frozen=True, slots=True)
class FileUpdate:
    """The outcome for one file: its action, new content (None = absent), conflict count."""

    path: str
    action: Action
    content: bytes | None
    conflicts: int = 0


def decide(base: bytes | None, ours: bytes | None, theirs: bytes | None) -> Action:
    """The three-way rule for one file; the order of the tests is the precedence."""
    if ours == theirs:
        return "same"
    if base == theirs:
        return "keep"
    if ours == base:
        return "add" if base is None else "remove" if theirs is None else "update"
    if theirs is None:
        return "keep-dropped"
    if ours is None:
        return "keep-deleted"
    return "merge"


def merge3(ours: bytes, base: bytes, theirs: bytes,
           labels: tuple[str, str, str]) -> tuple[bytes, int]:
    """`git merge-file`: the merged text (conflict markers where both sides changed
    the same lines) and the number of conflicts."""
    with tempfile.TemporaryDirectory(prefix="vendor-sdk-merge-") as tmp:
        paths = [Path(tmp, name) for name in ("ours", "base", "theirs")]
        for path, content in zip(paths, (ours, base, theirs), strict=True):
            path.write_bytes(content)
        # Plain two-sided markers whatever the user's merge.conflictStyle, so the
        # conflict message and the docs describe what is in the file.
        cmd = ["git", "-c", "merge.conflictStyle=merge", "merge-file", "-p"]
        for label in labels:
            cmd += ["-L", label]
        try:
            done = subprocess.run([*cmd, *map(str, paths)], capture_output=True, check=False,
                                  cwd=tmp)
        except FileNotFoundError:
            raise WizardError("`git` not found: --update merges your edits with "
                              "`git merge-file`; install git") from None
    # The exit status is the conflict count (capped at 127); a negative status,
    # seen as >= 128, is a failure of git itself.
    if done.returncode >= 128:
        raise WizardError(f"git merge-file failed: {done.stderr.decode(errors='replace')}")
    return done.stdout, done.returncode


def plan(base: Mapping[str, bytes], ours: Mapping[str, bytes], theirs: Mapping[str, bytes],
         labels: tuple[str, str, str]) -> tuple[FileUpdate, ...]:
    """Decide (and merge) every file of the old or new skeleton; nothing is written."""
    updates: list[FileUpdate] = []
    for path in sorted(base.keys() | theirs.keys()):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        action = decide(b, o, t)
        if action == "merge":
            assert o is not None and t is not None  # decide() guarantees both exist
            # A file both sides created independently merges against an empty base:
            # every differing line becomes a conflict, which is the honest answer.
            merged, conflicts = merge3(o, b or b"", t, labels)
            updates.append(FileUpdate(path, action, merged, conflicts))
        else:
            content = t if action in ("update", "add", "remove", "same") else o
            updates.append(FileUpdate(path, action, content))
    return tuple(updates)


def apply(directory: Path, updates: tuple[FileUpdate, ...]) -> None:
    """Write what `plan` decided; only actions that change the package touch disk."""
    for u in updates:
        path = directory / u.path
        if u.action in ("update", "add", "merge"):
            assert u.content is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(u.content)
        elif u.action == "remove":
            path.unlink()
            # Drop directories the skeleton emptied, never the package root.
            parent = path.parent
            while parent != directory and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def unresolved(directory: Path, paths: list[str]) -> list[str]:
    """Files still holding conflict markers from an earlier update."""
    found = []
    for rel in paths:
        path = directory / rel
        if path.is_file() and any(line.startswith(_MARKERS)
                                  for line in path.read_bytes().splitlines()):
            found.append(rel)
    return found
