"""`vendor-sdk run` on the target's own runtime library and RTL: when either is broken, or
disagrees with target.yaml, the user gets a located message and exit 2, not a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reference_npu
from vendor_sdk.cli import app
from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize

REF = Path(reference_npu.__file__).parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    return quantize(mlp(d / "tiny.onnx", sizes=(16, 8)), d / "tiny.int8.onnx")


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "npu"
    shutil.copytree(REF, dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dst


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["run", *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def test_runtime_that_does_not_compile(tiny: Path, tmp_path: Path) -> None:
    npu = _copy(tmp_path)
    device = npu / "driver" / "device.c"
    device.write_text(device.read_text().replace("return dev->ctx;", "return dev->context;"))
    code, out = _run(str(tiny), "--target", str(npu / "target.yaml"))
    assert code == 2, out
    assert "target.yaml: runtime:" in out and "does not compile" in out
    assert "device.c" in out and "context" in out  # the compiler's own line
    assert "Traceback" not in out


def test_rtl_that_does_not_build(tiny: Path, tmp_path: Path) -> None:
    npu = _copy(tmp_path)
    src = npu / "rtl" / "npu_iter2.sv"
    lines = src.read_text().splitlines()
    at = next(i for i, text in enumerate(lines) if "assign empty" in text)
    lines[at] = "  assign empty = (no == 0) ||;"
    src.write_text("\n".join(lines) + "\n")
    code, out = _run(str(tiny), "--target", str(npu / "target.yaml"), "--backend", "rtl")
    assert code == 2, out
    assert f"npu_iter2.sv:{at + 1}" in out.replace("\n", "")
    assert "Traceback" not in out


def test_counter_record_longer_than_the_device(tiny: Path, tmp_path: Path) -> None:
    """target.yaml names a tenth counter the reference runtime does not have: refused, not
    filled with a made-up value."""
    npu = _copy(tmp_path)
    yaml = npu / "target.yaml"
    text = yaml.read_text()
    assert "  insns: {role: instructions}\n" in text
    yaml.write_text(text.replace("  insns: {role: instructions}\n",
                                 "  insns: {role: instructions}\n  stalls: {}\n"))
    code, out = _run(str(tiny), "--target", str(yaml))
    assert code == 2, out
    assert "has 9 counters" in out and "asked for 10" in out
