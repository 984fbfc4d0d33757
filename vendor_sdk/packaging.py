"""`vendor-sdk package`: validate a plugin package's targets, then build its wheel (PyPA build)."""

from __future__ import annotations

from pathlib import Path

import build
from build.env import DefaultIsolatedEnv
from pyproject_hooks import quiet_subprocess_runner

from core.errors import VendorSdkError
from vendor_sdk.target import Target, load_target
from vendor_sdk.wizard.named import check_inside, missing_from_wheel

_SKIP = {".venv", "venv", "build", "dist", ".git", "node_modules"}


class PackagingError(VendorSdkError):
    """The package cannot be built (no target.yaml, no pyproject.toml, backend failure)."""


def find_targets(directory: Path) -> list[Path]:
    """target.yaml files of a plugin package (the package dirs, not build output)."""
    return sorted(p for p in directory.rglob("target.yaml")
                  if not _SKIP & set(p.relative_to(directory).parts))


def build_wheel(directory: Path, outdir: Path | None = None) -> Path:
    """Check every target (raises TargetError with all diagnostics), then build a wheel.

    The build runs in the current environment when it already has the build
    backend (fast, works offline); otherwise in an isolated environment as pip
    would.
    """
    directory = directory.resolve()
    if not (directory / "pyproject.toml").is_file():
        raise PackagingError(f"{directory} has no pyproject.toml (create one with "
                             "`vendor-sdk init`)")
    paths = find_targets(directory)
    if not paths:
        raise PackagingError(f"no target.yaml under {directory}")
    targets: list[Target] = [load_target(p) for p in paths]  # raises on the first bad one
    for target in targets:
        check_inside(target)  # a named file outside the package would not be installed
    out = (outdir or directory / "dist").resolve()
    wheel = _build(directory, out)
    for target in targets:
        missing = missing_from_wheel(target, directory, wheel)
        if missing:
            raise PackagingError(f"{wheel.name} lacks {', '.join(missing)}, named by "
                                 f"{target.path}: include them as package data in "
                                 f"{directory / 'pyproject.toml'} (`vendor-sdk init` writes "
                                 '[tool.setuptools.package-data] "*" = ["*"])')
    return wheel


def _build(directory: Path, out: Path) -> Path:
    builder = build.ProjectBuilder(directory, runner=quiet_subprocess_runner)
    try:
        if not builder.check_dependencies("wheel"):
            return Path(builder.build("wheel", out))
        with DefaultIsolatedEnv() as env:
            builder = build.ProjectBuilder.from_isolated_env(
                env, directory, runner=quiet_subprocess_runner)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel"))
            return Path(builder.build("wheel", out))
    except build.BuildException as e:
        raise PackagingError(f"building {directory} failed: {e}") from None
    except build.BuildBackendException as e:
        raise PackagingError(f"the build backend failed for {directory}: {e.exception}") from None
