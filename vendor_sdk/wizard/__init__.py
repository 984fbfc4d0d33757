"""The onboarding wizard: `vendor-sdk init` renders a plugin package with copier.

The skeleton ships as package data (vendor_sdk/wizard/template/, questions in
its copier.yml). Answers are recorded in the generated package
(.vendor-sdk-answers.yml). `--update` re-renders the skeleton from the
recorded answers with copier's recopy: skeleton-owned files (tests,
pyproject.toml, __init__.py) are replaced, vendor-owned files (target.yaml,
templates/, README.md, listed in `_skip_if_exists`) are never touched. That
is coarser than copier's three-way `update`, which needs the template in a
git repository with the old version tagged; the SDK ships only the current
skeleton.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import yaml

TEMPLATE = Path(__file__).resolve().parent / "template"
ANSWERS_FILE = ".vendor-sdk-answers.yml"


class WizardError(Exception):
    """A bad answer or an unusable destination."""


def questions() -> dict[str, Any]:
    """The wizard's questions (name -> copier spec), for docs and `--data` checks."""
    spec = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    return {k: v for k, v in spec.items() if not k.startswith("_")}


def parse_answers(items: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs; values are YAML (`dim=16`, `intrinsics=[gemm, add]`)."""
    known = questions()
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


def create(directory: Path, answers: dict[str, Any], defaults: bool = False) -> None:
    """Render a new plugin package into directory (asking the rest unless defaults)."""
    if (directory / ANSWERS_FILE).exists():
        raise WizardError(f"{directory} already holds a generated package; use --update")
    try:
        copier.run_copy(str(TEMPLATE), directory, data=answers, defaults=defaults,
                        quiet=True, unsafe=False)
    except (copier.errors.CopierError, ValueError) as e:
        raise WizardError(str(e)) from None


def update_package(directory: Path, answers: dict[str, Any], defaults: bool = False) -> None:
    """Re-apply the current skeleton with the recorded answers (plus any new ones)."""
    if not (directory / ANSWERS_FILE).exists():
        raise WizardError(f"{directory / ANSWERS_FILE} not found: not created by "
                          "`vendor-sdk init` (or the answers file was removed)")
    try:
        copier.run_recopy(directory, data=answers, answers_file=ANSWERS_FILE,
                          defaults=defaults, overwrite=True, skip_answered=True, quiet=True,
                          unsafe=False)
    except (copier.errors.CopierError, ValueError) as e:
        raise WizardError(str(e)) from None
