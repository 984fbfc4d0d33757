"""The onboarding wizard: `vendor-sdk init` renders a plugin package with copier.

A package starts from a bundled NPU (a copy of its driver, RTL and templates with a
derived target.yaml) or from `blank` (the skeleton's stubs); see starts.py. The
questions are asked as typed prompts (prompt.py). The skeleton ships as package data
(vendor_sdk/wizard/template/, questions in its copier.yml). A generated package records
its answers and the skeleton's version in `.vendor-sdk-answers.yml`, and the
skeleton-owned files as rendered in `.vendor-sdk/base/`. `init --update` renders the
current skeleton from the same answers and merges it file by file with the vendor's
files against that base (see merge.py); vendor-owned files (copier's `_skip_if_exists`:
target.yaml, templates/, the C runtime and RTL, README.md, and every file a bundled
NPU's copy brings) are never touched after creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml

from vendor_sdk.wizard.merge import FileUpdate, apply, plan, unresolved
from vendor_sdk.wizard.prompt import Reader, Spec, ask, environment
from vendor_sdk.wizard.skeleton import (
    ANSWERS_FILE,
    BASE_DIR,
    TEMPLATE,
    WizardError,
    envops,
    questions,
    read_answers,
    read_base,
    render,
    write_answers,
    write_base,
    write_files,
)
from vendor_sdk.wizard.starts import StartingPoint, starting_points

__all__ = ["ANSWERS_FILE", "BASE_DIR", "TEMPLATE", "UpdateReport", "WizardError", "create",
           "parse_answers", "questions", "starting_points", "update_package"]


@dataclass(frozen=True, slots=True)
class UpdateReport:
    """What `init --update` did.

    Attributes:
        old_version: skeleton version the package was generated (last updated) from,
            None for packages that recorded none.
        new_version: skeleton version now applied.
        files: one entry per skeleton-owned file, old or new.
        new_answers: answers to questions the recorded answers did not have.
        had_base: False when the package had no base snapshot; then every existing
            file was kept as the vendor's and only missing files were added.
    """

    old_version: str | None
    new_version: str
    files: tuple[FileUpdate, ...]
    new_answers: Mapping[str, Any]
    had_base: bool

    def paths(self, *actions: str) -> list[str]:
        return [f.path for f in self.files if f.action in actions]

    @property
    def conflicted(self) -> list[str]:
        return [f.path for f in self.files if f.conflicts]


def parse_answers(items: list[str], template: Path = TEMPLATE) -> dict[str, Any]:
    """NAME=VALUE pairs; values are YAML (`dim=16`, `intrinsics=[gemm, add]`)."""
    known = list(questions(template))
    for point in starting_points().values():
        known += [q for q in point.questions() if q not in known]
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise WizardError(f"--data {item!r}: expected NAME=VALUE")
        if name not in known:
            from vendor_sdk.intrinsics.check import did_you_mean

            hint = did_you_mean(name, known) or "questions: " + ", ".join(known)
            raise WizardError(f"--data {item!r}: unknown question {name!r} ({hint})")
        out[name] = yaml.safe_load(value) if value else ""
    return out


def _questions(template: Path, answers: dict[str, Any], defaults: bool, read: Reader
               ) -> tuple[StartingPoint, dict[str, Spec]]:
    """The starting point (given, or asked first) and every question it implies: the
    skeleton's, with the starting point's own (a bundled NPU's params) replacing
    same-named ones."""
    qs = questions(template)
    points = starting_points()
    if "start" not in qs:  # a skeleton from before starting points (--skeleton)
        raise WizardError(f"{template / 'copier.yml'} has no `start` question")
    start_q = {**qs["start"], "default": next(iter(points)),
               "choices": {name: p.describe for name, p in points.items()}}
    env = environment(envops(template))
    start = ask({"start": start_q}, answers, env, defaults, read)["start"]
    point = points[start]
    return point, {**qs, "start": start_q, **point.questions()}


def create(directory: Path, answers: dict[str, Any], defaults: bool = False,
           template: Path = TEMPLATE, read: Reader = typer.prompt) -> str:
    """Render a new plugin package into directory (asking the rest unless defaults);
    returns the starting point's name."""
    if (directory / ANSWERS_FILE).exists():
        raise WizardError(f"{directory} already holds a generated package; use --update")
    point, qs = _questions(template, answers, defaults, read)
    answers = {**answers, "start": point.name}
    data = ask(qs, answers, environment(envops(template)), defaults, read)
    stray = sorted(set(answers) - set(data))
    if stray:
        raise WizardError(f"--data {', '.join(stray)}: not a question of the "
                          f"{point.name!r} starting point")
    skeleton = render(template, data)
    starters = {**skeleton.starters, **point.files(data)}
    # Starters that already exist are the vendor's (copier's _skip_if_exists);
    # a differing skeleton file would be silently lost, so refuse instead.
    clashes = [rel for rel, content in skeleton.files.items()
               if (directory / rel).exists() and (directory / rel).read_bytes() != content]
    if clashes:
        raise WizardError(f"{directory} already has {', '.join(clashes)}; move them away "
                          "or choose another directory")
    write_files(directory, skeleton.files)
    write_files(directory, {rel: content for rel, content in starters.items()
                            if not (directory / rel).exists()})
    write_base(directory, skeleton.files)
    write_answers(directory, skeleton, template)
    return point.name


def update_package(directory: Path, answers: dict[str, Any], defaults: bool = False,
                   template: Path = TEMPLATE, read: Reader = typer.prompt) -> UpdateReport:
    """Merge the skeleton at `template` into a generated package, keeping the vendor's edits.

    The recorded answers are reused; `answers` overrides them; questions the
    package never answered are asked (or take their default with `defaults`).
    Conflicting edits are written with conflict markers and listed in the
    report's `conflicted`.

    Raises:
        WizardError: not a generated package, conflict markers left from an
            earlier update, a bad answer, or git missing.
    """
    recorded, meta = read_answers(directory)
    base = read_base(directory)
    left = unresolved(directory, sorted(base or {}))
    if left:
        raise WizardError(f"conflict markers from an earlier update remain in {', '.join(left)}; "
                          "resolve them (keep what you want between <<<<<<< and >>>>>>>) first")
    given = {k: v for k, v in recorded.items()} | answers
    point, known = _questions(template, given, defaults, read)
    given["start"] = point.name
    # Answers to questions the skeleton no longer asks are dropped, not passed on
    # as stray template variables. The starting point's files are the vendor's from
    # the start (starters): an update never copies them again.
    data = ask(known, {k: v for k, v in given.items() if k in known},
               environment(envops(template)), defaults, read)
    new = render(template, data)
    had_base = base is not None
    if base is None:
        # Packages from before the base snapshot: assume the skeleton did not move,
        # so every existing file counts as the vendor's and nothing is overwritten.
        base = {rel: content for rel, content in new.files.items() if (directory / rel).is_file()}
    ours = {rel: (directory / rel).read_bytes() for rel in base.keys() | new.files.keys()
            if (directory / rel).is_file()}
    old_version = meta.get("_skeleton")
    labels = ("yours", f"skeleton {old_version or 'as generated'}", f"skeleton {new.version}")
    files = plan(base, ours, new.files, labels)
    apply(directory, files)
    write_base(directory, new.files)
    write_answers(directory, new, template)
    new_answers = {k: v for k, v in new.answers.items() if k not in recorded}
    return UpdateReport(old_version, new.version, files, new_answers, had_base)
