"""The skeleton: render it with copier, name its version, record answers and the base.

A render happens in a temporary directory and comes back as bytes in memory,
so `init` and `init --update` decide in Python what reaches the vendor's
package (copier never writes into it directly).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import copier
import yaml

from core.errors import VendorSdkError

TEMPLATE = Path(__file__).resolve().parent / "template"
# Recorded instead of TEMPLATE's absolute path, which changes whenever
# vendor-sdk is reinstalled (another venv, another machine).
TEMPLATE_ID = "vendor_sdk.wizard/template"
ANSWERS_FILE = ".vendor-sdk-answers.yml"
BASE_DIR = ".vendor-sdk/base"
_ANSWERS_HEADER = (
    "# Answers of `vendor-sdk init`; `vendor-sdk init --update` reads them. Do not edit by hand.\n"
    f"# {BASE_DIR}/ holds the skeleton as rendered from them: the base of --update's merge.\n"
)


class WizardError(VendorSdkError):
    """A bad answer, an unusable destination, or a merge that could not run."""


@dataclass(frozen=True, slots=True)
class Skeleton:
    """One render of the skeleton from one set of answers.

    Attributes:
        files: skeleton-owned files (POSIX relative path -> content); `--update`
            merges these.
        starters: files the vendor owns once created (copier's `_skip_if_exists`:
            target.yaml, templates/, README.md); written only when missing.
        answers: every question's answer, in question order.
        version: `skeleton_version` of the template rendered.
    """

    files: Mapping[str, bytes]
    starters: Mapping[str, bytes]
    answers: Mapping[str, Any]
    version: str


def questions(template: Path = TEMPLATE) -> dict[str, Any]:
    """The wizard's questions (name -> copier spec), for docs and `--data` checks."""
    spec = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8"))
    return {k: v for k, v in spec.items() if not k.startswith("_")}


def skeleton_version(template: Path = TEMPLATE) -> str:
    """A content hash of the template: names a skeleton version even between SDK releases."""
    digest = hashlib.sha256()
    for path in sorted(p for p in template.rglob("*") if p.is_file()):
        rel = path.relative_to(template)
        if "__pycache__" in rel.parts:
            continue
        digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def sdk_version() -> str:
    try:
        return version("vendor-sdk")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def envops(template: Path = TEMPLATE) -> dict[str, Any]:
    """The skeleton's Jinja delimiters (copier.yml `_envops`)."""
    spec = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8"))
    return dict(spec.get("_envops") or {})


def render(template: Path, data: Mapping[str, Any]) -> Skeleton:
    """Render the skeleton from complete answers (prompt.ask asked for them) and read it
    back; copier runs the skeleton's validators.

    Raises:
        WizardError: an answer fails its validator.
    """
    with tempfile.TemporaryDirectory(prefix="vendor-sdk-skeleton-") as tmp:
        out = Path(tmp) / "out"
        try:
            worker = copier.run_copy(str(template), out, data=dict(data), defaults=True,
                                     quiet=True, unsafe=False)
        except (copier.errors.CopierError, ValueError) as e:
            raise WizardError(str(e)) from None
        files: dict[str, bytes] = {}
        starters: dict[str, bytes] = {}
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = path.relative_to(out)
            (starters if worker.match_skip(rel) else files)[rel.as_posix()] = path.read_bytes()
    return Skeleton(files, starters, dict(data), skeleton_version(template))


def read_answers(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers, metadata) of a generated package; metadata keys start with `_`."""
    path = directory / ANSWERS_FILE
    if not path.is_file():
        raise WizardError(f"{path} not found: not created by `vendor-sdk init` "
                          "(or the answers file was removed)")
    try:
        recorded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise WizardError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(recorded, dict):
        raise WizardError(f"{path}: expected a mapping of answers")
    answers = {k: v for k, v in recorded.items() if not str(k).startswith("_")}
    meta = {k: v for k, v in recorded.items() if str(k).startswith("_")}
    return answers, meta


def write_answers(directory: Path, skeleton: Skeleton, template: Path) -> None:
    # A skeleton other than the bundled one only comes from `--skeleton` (SDK
    # development and tests); its path is then the only identity there is.
    ident = TEMPLATE_ID if template.resolve() == TEMPLATE else str(template.resolve())
    meta = {"_template": ident, "_skeleton": skeleton.version, "_vendor_sdk": sdk_version()}
    body = yaml.safe_dump({**meta, **skeleton.answers}, sort_keys=False, allow_unicode=True)
    (directory / ANSWERS_FILE).write_text(_ANSWERS_HEADER + body, encoding="utf-8")


def read_base(directory: Path) -> dict[str, bytes] | None:
    """The skeleton as last rendered into this package, or None for packages that
    predate the snapshot."""
    root = directory / BASE_DIR
    if not root.is_dir():
        return None
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def write_base(directory: Path, files: Mapping[str, bytes]) -> None:
    root = directory / BASE_DIR
    if root.exists():
        shutil.rmtree(root)
    write_files(root, files)


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
