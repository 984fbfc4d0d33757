"""`vendor-sdk init --from blank` through the CLI from a fresh directory: the stubs (C
runtime, glue, functional model, RTL + harness) validate and build, and running a model
fails cleanly (non-zero exit, no traceback, no hang) with `not implemented: <function>
(edit <file>)` naming the stub to write, on fsim and on the RTL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vendor_sdk.runtime.examples import cnn

BIN = Path(sys.executable).parent
PKG = "acme_npu"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "vendor-sdk"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=1200, env={**os.environ, "COLUMNS": "300"})
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("blank")
    done = cli(d, "init", "acme", "--from", "blank", "--defaults")
    assert done.returncode == 0 and "from blank" in done.stdout, done.stdout + done.stderr
    cnn(d / "model.onnx")
    assert cli(d, "quantize", "model.onnx", "-o", "model.int8.onnx").returncode == 0
    return d


def test_blank_package_has_the_stubs_and_validates(work: Path) -> None:
    pkg = work / "acme" / PKG
    for rel in ("target.yaml", f"runtime/{PKG}.h", f"runtime/{PKG}.c", "runtime/device.c",
                "fsim/fsim.c", f"rtl/{PKG}_top.sv", "rtl/harness.cpp", "templates/glue.c.j2"):
        assert (pkg / rel).is_file(), rel
    done = cli(work, "validate", f"acme/{PKG}")
    assert done.returncode == 0 and f"ok {PKG}" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(("backend", "stub", "files"), [
    ("fsim", f"{PKG}_fsim_run", f"{PKG}/fsim/fsim.c"),
    ("rtl", f"{PKG}_rtl_run", f"{PKG}/rtl/harness.cpp and {PKG}/rtl/{PKG}_top.sv"),
])
def test_run_builds_then_says_what_to_implement(work: Path, backend: str, stub: str,
                                                files: str) -> None:
    """The runtime library, the generated model C and (for rtl) the Verilated stub RTL
    all build: only then is the stub's own message what stops the run."""
    done = cli(work, "run", "model.int8.onnx", "--target", f"acme/{PKG}", "--backend", backend)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out[-3000:]
    assert f"not implemented: {stub} (edit {files})" in out, out[-3000:]
    assert "does not compile" not in out and "error:" in out
