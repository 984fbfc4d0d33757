"""`make demo` runs `vendor-sdk demo`; keep it working for every newcomer."""

from __future__ import annotations

from typer.testing import CliRunner

from vendor_sdk.cli import app


def test_demo_runs_on_fsim_and_rtl_and_reports_a_match() -> None:
    result = CliRunner().invoke(app, ["demo", "--model", "cnn"])
    assert result.exit_code == 0, result.output
    assert "max |ours - onnxruntime|" in result.output
    assert "within 1 LSB" in result.output
    assert "fsim and RTL outputs bit-identical: yes" in result.output
    assert "match" in result.output


def test_demo_rejects_unknown_model() -> None:
    result = CliRunner().invoke(app, ["demo", "--model", "nope"])
    assert result.exit_code == 2
    assert "unknown model 'nope'" in result.output
