"""`make demo` runs `vendor-sdk demo`; keep it working for every newcomer."""

from __future__ import annotations

from typer.testing import CliRunner

from vendor_sdk.cli import app


def test_demo_runs_a_real_model_and_reports_a_match() -> None:
    result = CliRunner().invoke(app, ["demo", "--model", "squeezenet"])
    assert result.exit_code == 0, result.output
    assert "max |ours - onnxruntime| = 0" in result.output
    assert "match" in result.output


def test_demo_rejects_unknown_model() -> None:
    result = CliRunner().invoke(app, ["demo", "--model", "nope"])
    assert result.exit_code == 2
    assert "unknown model 'nope'" in result.output
