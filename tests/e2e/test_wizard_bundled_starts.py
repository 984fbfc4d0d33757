"""Every bundled NPU is a starting point that works out of the box: `init --from NPU
--defaults` from a fresh directory, validate, and a CNN compiled and run on the copy's own
functional model (the RTL of the default starting point runs in
test_wizard_reference_start.py; one RTL build per module)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vendor_sdk.runtime.examples import cnn
from vendor_sdk.runtime.quantize import quantize
from vendor_sdk.target import load_target
from vendor_sdk.target.runtime_build import runtime_sources
from vendor_sdk.wizard.starts import bundled

BIN = Path(sys.executable).parent


def cli(cwd: Path, *args: str) -> str:
    done = subprocess.run([str(BIN / "vendor-sdk"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=1200, env={**os.environ, "COLUMNS": "200"})
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"vendor-sdk {' '.join(args)} exited {done.returncode}:\n" \
        f"{out[-4000:]}"
    assert "Traceback" not in out
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cnn")
    return quantize(cnn(d / "cnn.onnx"), d / "cnn.int8.onnx")


@pytest.mark.parametrize("start", [b.name for b in bundled()])
def test_derived_package_runs_a_cnn_on_its_own_fsim(start: str, model: Path,
                                                    tmp_path: Path) -> None:
    assert f"from {start}" in cli(tmp_path, "init", "mine", "--from", start, "--defaults",
                                  "-d", "vendor=Mine")
    path = tmp_path / "mine" / "mine_npu" / "target.yaml"
    target = load_target(path)
    assert all(p.resolve().is_relative_to(path.parent.resolve())
               for p in runtime_sources(target))
    cli(tmp_path, "validate", str(path.parent))
    out = cli(tmp_path, "run", str(model), "--target", str(path.parent), "--backend", "fsim")
    offloaded = re.search(r"offloaded: (\d+)/\d+ compute ops", out)
    assert offloaded and int(offloaded.group(1)) >= 3, out[-3000:]
    assert re.search(r"check layers: \d+ NPU layers bit for bit .*: all agree", out), out[-3000:]
