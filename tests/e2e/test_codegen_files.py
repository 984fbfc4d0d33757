"""Generated C: golden files for a small model (UPDATE_GOLDEN=1 refreshes them), byte-identical
across compiles, warning-free, and clean under AddressSanitizer + UBSan when run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.compile import compile_model
from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "e2e"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    return quantize(mlp(d / "tiny.onnx", sizes=(16, 8)), d / "tiny.int8.onnx")


def test_golden_and_deterministic(tiny: Path) -> None:
    a = compile_model(tiny, "reference_npu", {"N": 1}, name="tiny", build=False)
    b = compile_model(tiny, "reference_npu", {"N": 1}, name="tiny", build=False)
    assert a.cmodel.files == b.cmodel.files
    assert [r.consts for r in a.cmodel.regions] == [r.consts for r in b.cmodel.regions]
    for name, text in a.cmodel.files.items():
        path = GOLDEN / name
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.read_text() == text, f"{path} differs; UPDATE_GOLDEN=1 refreshes it"


_ASAN_RUN = r"""
import sys
from pathlib import Path
from vendor_sdk.codegen.build import CFLAGS, build_library
from vendor_sdk.compile import compile_model
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.runtime.npu import NpuSession
path = Path(sys.argv[1])
c = compile_model(path, "reference_npu", {"N": 2}, build=False)
flags = (*CFLAGS, "-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
         "-fno-sanitize-recover=all")
lib = build_library(c.cmodel, c.target, flags)
regions = {r.name: r for r in c.cmodel.regions}
sess = NpuSession(lib, regions, c.target, "fsim")
res = run_compiled(c, path, model_inputs(path, 2, 0), "fsim", sess)
assert res.agreement[0].within_1lsb >= 0.999, res.agreement
print("clean", res.cycles)
"""


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_generated_c_clean_under_asan_ubsan(model: str, models: dict[str, Path]) -> None:
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
    env = {**os.environ, "LD_PRELOAD": libasan, "ASAN_OPTIONS": "detect_leaks=0",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
    done = subprocess.run([sys.executable, "-c", _ASAN_RUN, str(models[model])], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "clean" in done.stdout, done.stderr[-4000:]
    assert "runtime error" not in done.stderr


def test_cli_compile_and_run(tiny: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["compile", str(tiny), "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b" / "manifest.json").exists()
    assert (tmp_path / "b" / "partition.txt").read_text().startswith("tiny_int8: 2/2")
    res = CliRunner().invoke(app, ["run", str(tiny), "--backend", "fsim", "--batch", "3"])
    assert res.exit_code == 0, res.output
    assert "100.00% within 1 LSB" in res.output and "util" in res.output


def test_cli_run_rejects_unknown_backend(tiny: Path) -> None:
    res = CliRunner().invoke(app, ["run", str(tiny), "--backend", "fpga"])
    assert res.exit_code == 2
    assert "unknown backend 'fpga'" in res.output
