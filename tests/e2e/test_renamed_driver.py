"""Issue 13's acceptance test: a copy of the reference target with every memory renamed
AND its own driver — every C symbol, file name, SystemVerilog module and package renamed
from npu_/NPU_ to acme_/ACME_ — validates, compiles and runs a CNN and an MLP bit-identically
to the original on fsim and on the RTL.

Nothing of the copy is the reference's: its runtime library is built from its own
driver sources, its glue and emit snippets call acme_* functions, its RTL library is
Verilated from its own renamed modules. The SDK must get everything it needs from the
copy's target.yaml; any place that still named the reference driver breaks here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from target_copies import renamed_text
from typer.testing import CliRunner

from reference_npu import __file__ as ref_init
from vendor_sdk.cli import app
from vendor_sdk.compile import compile_model
from vendor_sdk.runtime.compare import model_inputs, run_compiled

REF_DIR = Path(ref_init).parent
PARTS = ("driver", "rtl", "templates")  # what target.yaml names (runtime, sim, templates)
TEXT = {".c", ".h", ".cpp", ".sv", ".vlt", ".j2", ".yaml"}
PREFIX = [(re.compile(r"npu(?=[_.])"), "acme"), (re.compile(r"NPU_"), "ACME_")]


def _rename(text: str) -> str:
    for pat, new in PREFIX:
        text = pat.sub(new, text)
    return text


def _cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*map(str, args)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("acme") / "acme_npu"
    for part in PARTS:
        for src in (REF_DIR / part).rglob("*"):
            if src.is_dir() or src.suffix not in TEXT:
                continue  # Python helpers, caches: not part of the C contract
            out = dst / part / _rename(str(src.relative_to(REF_DIR / part)))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(_rename(src.read_text()))
    (dst / "target.yaml").write_text(_rename(renamed_text()))
    return dst / "target.yaml"


def test_the_copy_shares_no_driver_name_with_the_reference(acme: Path) -> None:
    files = [p for p in acme.parent.rglob("*") if p.is_file()]
    assert any(p.name == "acme.h" for p in files) and any(p.name == "acme.c" for p in files)
    for p in files:
        text = p.read_text()
        assert not re.search(r"\bnpu_|NPU_|\"npu\.h\"", text), p
    yaml = acme.read_text()
    assert "acme_gemm(" in yaml and "ACME_MEM_ACC" in yaml and "scope: accum" in yaml
    assert "top: acme_sim_top" in yaml


def test_the_copy_validates(acme: Path) -> None:
    code, output = _cli("validate", acme)
    assert code == 0, output


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from vendor_sdk.runtime.examples import cnn, mlp

    d = tmp_path_factory.mktemp("models")
    out = {}
    for name, make in (("cnn", cnn), ("mlp", mlp)):
        code, output = _cli("quantize", make(d / f"{name}.onnx"), "-o",
                            d / f"{name}.int8.onnx", "--random", "2")
        assert code == 0, output
        out[name] = d / f"{name}.int8.onnx"
    return out


def _cycles(output: str) -> list[str]:
    """The per-region and per-layer cycle numbers the run printed, in order."""
    return re.findall(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b(?= ┃| │)", output)


@pytest.mark.parametrize("backend", ["fsim", "rtl"])
@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_the_copy_runs_bit_identically(model: str, backend: str, acme: Path,
                                       quantized: dict[str, Path]) -> None:
    reports = {}
    for name, target in (("ref", "reference_npu"), ("acme", str(acme))):
        code, output = _cli("run", quantized[model], "--target", target, "--backend", backend)
        assert code == 0, output
        assert "all agree" in output, output
        reports[name] = " ".join(output.split())
    offloaded = re.search(r"offloaded: (\d+)/(\d+)", reports["acme"])
    assert offloaded and int(offloaded[1]) > 0, reports["acme"]
    # same program: the same offload, cycles, instruction counts and verdicts, word for word
    assert reports["acme"] == reports["ref"]
    feeds = model_inputs(quantized[model], 1, 0)
    outs = [run_compiled(compile_model(quantized[model], t, {"N": 1}), quantized[model],
                         feeds, backend, check="output").outputs
            for t in ("reference_npu", str(acme))]
    assert len(outs[0]) == len(outs[1]) > 0
    for a, b in zip(*outs, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_the_copy_generates_c_that_calls_only_its_driver(acme: Path,
                                                         quantized: dict[str, Path],
                                                         tmp_path: Path) -> None:
    code, output = _cli("compile", quantized["cnn"], "--target", acme, "-o", tmp_path)
    assert code == 0, output
    c = "\n".join(p.read_text() for p in tmp_path.glob("*.[ch]"))
    assert "acme_gemm(" in c and '#include "acme.h"' in c
    assert not re.search(r"\bnpu_\w+\(|NPU_", c)
    shutil.rmtree(tmp_path)
