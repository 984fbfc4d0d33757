"""Models exported from PyTorch, quantized by `vendor-sdk quantize` (onnxruntime's quantizer)
with its defaults and its options, run through `vendor-sdk run` from a fresh directory.

`run` checks by default (every NPU layer bit for bit against its integer reference, host ops
against the reference executor, outputs against onnxruntime) and exits 1 on a divergence; on
top of its exit code this test asserts that the NPU really ran the model (the offloaded
share) and reads the agreement it printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from torch_models import export

BIN = Path(sys.executable).parent

# Compute ops each model must offload on the reference NPU (of those it has). What stays on
# the host: the global average pools / means and, in the encoder, the float parts (LayerNorm,
# softmax, GELU) and the activation-by-activation MatMuls.
MIN_OFFLOADED = {"resnet_tiny": 0.8, "mobilenetv2_tiny": 0.8, "conv1d": 0.5, "mlp": 1.0,
                 "encoder": 0.25}

OPTIONS = {
    "default": [],
    "symmetric": ["--symmetric-activations"],
    "uint8": ["--activation-type", "uint8"],
    "per-tensor": ["--per-tensor"],
}

CASES = [(m, "default") for m in MIN_OFFLOADED] + [
    (m, o) for m in ("resnet_tiny", "mobilenetv2_tiny", "encoder")
    for o in ("symmetric", "uint8", "per-tensor")]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200"}
    return subprocess.run(["vendor-sdk", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("torch")
    return {m: export(m, d / f"{m}.onnx") for m in MIN_OFFLOADED}


@pytest.mark.parametrize(("model", "option"), CASES, ids=[f"{m}-{o}" for m, o in CASES])
def test_torch_model_on_the_npu(model: str, option: str, exported: dict[str, Path],
                                tmp_path: Path) -> None:
    q = _cli(["quantize", str(exported[model]), "-o", "model.int8.onnx", *OPTIONS[option]],
             tmp_path)
    assert q.returncode == 0, q.stdout + q.stderr
    r = _cli(["run", "model.int8.onnx"], tmp_path)
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out[-4000:]
    assert r.returncode == 0, out[-4000:]
    assert "all agree" in out, out[-4000:]           # --check layers ran and passed
    off = re.search(r"offloaded: (\d+)/(\d+) compute ops", out)
    assert off, out[-4000:]
    done, total = map(int, off.groups())
    assert done >= MIN_OFFLOADED[model] * total, f"offloaded only {done}/{total}"
    # The product's own check may explain drift away (every layer verified); this test
    # holds the bar on the outputs themselves: <= 2 LSB, >= 99.9% within 1 LSB.
    verdicts = re.findall(r"(?:ok|drift|FAIL) vs onnxruntime: \S+ max (\d+) LSB, [\d.]+% of "
                          r"elements off, ([\d.]+)% by more than 1 LSB", " ".join(out.split()))
    assert verdicts, out[-4000:]
    for max_lsb, beyond in verdicts:
        assert int(max_lsb) <= 2 and float(beyond) <= 0.1, (max_lsb, beyond)
