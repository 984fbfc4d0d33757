"""A target at one point of the grid: its target.yaml with some `params:` values replaced.

The configured target is a copy of the target's directory (everything a target.yaml
names lies inside it: templates, runtime and RTL sources) with only the parameter values
edited in place, so comments, line numbers and every other byte stay the vendor's and a
bad value is reported by the target's own loader at its line. The copy lives in the SDK's
build cache under a key of the directory's content and the values, built once per
machine with the cache's lock and atomic rename: parallel workers of one node share it,
and a check-intrinsics child process that reloads the target from its path sees the same
parameters. The RTL, runtime and model builds that follow are cached by their own
content keys, which never include where the copy lives.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from vendor_sdk.intrinsics.check import did_you_mean
from vendor_sdk.sim.build import cached_build
from vendor_sdk.sweep.grid import Axis, SweepError
from vendor_sdk.target import Target, load_target
from vendor_sdk.target.source import read_source

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")
_INT = re.compile(r"[+-]?\d+")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix != ".pyc")


def target_digest(target: Target) -> str:
    """Content hash of the target's directory (names relative to it, and bytes)."""
    root = target.path.parent
    digest = hashlib.sha256()
    for p in _files(root):
        digest.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()


def check_names(target: Target, axes: tuple[Axis, ...]) -> None:
    """Every swept name is one of the target's `params:` (else SweepError, exit 2)."""
    declared = list(target.params)
    for a in axes:
        if a.name not in declared:
            hint = did_you_mean(a.name, declared) or \
                f"{target.name} declares: {', '.join(declared) or 'no params'}"
            raise SweepError(f"--param {a.name}", f"target {target.name} ({target.path}) has "
                             "no such parameter", hint)


def check_only(target: Target, only: tuple[str, ...]) -> None:
    """Every --only selector picks at least one check-intrinsics case of ``target`` (else
    SweepError, exit 2): a mistyped one would otherwise drop its cases from every point
    of the grid unnoticed, or leave each point with nothing to check."""
    from vendor_sdk.check.run import case_id, selected
    from vendor_sdk.check.stimulus import all_cases

    if not only:
        return
    ids = [case_id(s.name, v, c.name) for s in target.semantics.values()
           for v in s.variants for c in all_cases(target, s)]
    names = list(dict.fromkeys(i.partition("/")[0] for i in ids))  # intrinsic[.variant]
    for selector in only:
        if not any(selected(i, (selector,)) for i in ids):
            hint = did_you_mean(selector, [*names, *ids]) or \
                f"{target.name} has: {', '.join(names)}"
            raise SweepError(f"--only {selector}",
                             f"selects no check-intrinsics case of {target.name}", hint)


def with_params(text: str, file: str, params: Sequence[tuple[str, str]]) -> str:
    """``text`` with each named `params:` value replaced (integers as written, anything else
    quoted so the document keeps its shape and the loader says what is wrong)."""
    src = read_source(file, text)
    spans = []
    for name, value in params:
        key, node = src.locate(("params", name))
        if key is None or key.value != name:  # checked before: a name the file declares
            raise SweepError(f"--param {name}", f"{file} has no params.{name}")
        literal = value if _INT.fullmatch(value) else '"' + value.replace('"', '\\"') + '"'
        spans.append((node.start_mark.index, node.end_mark.index, literal))
    for start, end, literal in sorted(spans, reverse=True):
        text = text[:start] + literal + text[end:]
    return text


def configured_target(target: Target, params: Sequence[tuple[str, str]],
                      digest: str | None = None) -> Target:
    """``target`` with ``params`` set (the target itself when there are none); raises the
    loader's TargetError for a value it refuses."""
    if not params:
        return target
    digest = digest or target_digest(target)
    key = hashlib.sha256(repr((digest, tuple(params))).encode()).hexdigest()[:20]
    name = target.path.name

    def build(tmp: Path) -> None:
        shutil.copytree(target.path.parent, tmp, ignore=_SKIP, dirs_exist_ok=True)
        edited = with_params(target.path.read_text(encoding="utf-8"), str(target.path), params)
        (tmp / name).write_text(edited, encoding="utf-8")

    return load_target(cached_build("sweep-targets", f"{target.name}-{key}", build, name))
