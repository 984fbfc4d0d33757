"""One error handler: where / why / hint printed literally (never read as Rich markup), exit 2,
no traceback; a located list leads each line with file:line:col and ends with its count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import VendorSdkError
from vendor_sdk.cli import root as cli_app
from vendor_sdk.errors import problems_of
from vendor_sdk.frontend.onnx import FrontendError
from vendor_sdk.target.errors import Diagnostic, TargetError

BIN = Path(sys.executable).parent / "vendor-sdk"
LITERAL = "expected float32[batch,3,224,224] at [/path] ([bold]not bold[/bold])"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300)


def test_parts_make_the_message() -> None:
    e = VendorSdkError("is a file", where="-o build", hint="-o names the build directory")
    assert (str(e), e.where, e.why, e.hint) == (
        "-o build: is a file", "-o build", "is a file", "-o names the build directory")
    old = FrontendError("node Conv_3: auto_pad SAME_LOWER is not supported")
    assert (old.where, old.why) == ("", str(old))


@pytest.mark.parametrize("e", [VendorSdkError(LITERAL, hint="[/CASE] stays"),
                               FrontendError(LITERAL)])
def test_handler_prints_markup_literally(e: VendorSdkError,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_app.report_error(e)
    err = capsys.readouterr().err
    assert f"error: {LITERAL}" in err
    assert ("hint: [/CASE] stays" in err) == bool(e.hint)


def test_located_problems_lead_their_lines(capsys: pytest.CaptureFixture[str]) -> None:
    e = TargetError([Diagnostic("t.yaml", 3, 5, "memories.a[0]", "rows [/x] < 1", "try 2"),
                     Diagnostic("t.yaml", 1, 1, "name", "missing")])
    assert [p.text for p in problems_of(e) or ()] == [
        "t.yaml:1:1: name: missing", "t.yaml:3:5: memories.a[0]: rows [/x] < 1"]
    assert cli_app.report_error(e)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["t.yaml:1:1: name: missing", "t.yaml:3:5: memories.a[0]: rows [/x] < 1",
                     "    hint: try 2", "2 errors"]


def test_a_bug_is_not_a_user_error() -> None:
    assert problems_of(KeyError("x")) is None
    assert not cli_app.report_error(ZeroDivisionError())


def test_cli_prints_a_bracketed_path_verbatim(tmp_path: Path) -> None:
    """Through the installed command: a model path holding `[/x]` and `[bold]`."""
    odd = tmp_path / "a[bold]b[" / "x]" / "model.onnx"
    odd.parent.mkdir(parents=True)
    odd.write_bytes(b"not an onnx model")
    r = _cli("import", str(odd), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert str(odd) in r.stderr.replace("\n", "")
    assert r.stderr.startswith("error: ")


def test_cli_target_errors_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "[t]" / "[/t]" / "target.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("schema_version: 1\nname: [unclosed\n")
    r = _cli("validate", str(bad), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{bad}:3:1: (syntax): "), r.stderr
    assert r.stderr.splitlines()[-1] in ("1 error", f"{len(r.stderr.splitlines()) - 1} errors")
