"""Every command's --help works, as a newcomer's first step: exit 0, no traceback, and help
text shown literally (the CLI renders help as Rich markup, which swallows "[default: ...]"
and raised on "[/CASE]": `check-intrinsics --help` crashed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vendor_sdk.cli import app

BIN = Path(sys.executable).parent


def _commands() -> list[str]:
    group = typer.main.get_group(app)
    return sorted(group.commands)


def _help(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([str(BIN / "vendor-sdk"), *args, "--help"], capture_output=True,
                          text=True, env=env, timeout=120)


def test_the_commands_are_found() -> None:
    assert {"run", "compile", "check-intrinsics", "validate", "init"} <= set(_commands())


@pytest.mark.parametrize("command", _commands())
def test_help(command: str) -> None:
    r = _help(command)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "Usage: vendor-sdk " + command in " ".join(r.stdout.split())


def test_help_shows_brackets_literally() -> None:
    text = " ".join(_help("check-intrinsics").stdout.replace("│", " ").split())
    assert "INTRINSIC[.VARIANT][/CASE]" in text
    assert "[default: ./check-intrinsics/<target>]" in text
    assert "[default: <workdir>/junit.xml]" in text
