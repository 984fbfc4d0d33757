"""The second bundled NPU runs models through the CLI: `vendor-sdk run MODEL --target
example_npu --backend fsim|rtl`. Its tiles are not square (a dot-product unit, N = 4 output
lanes x K = 16 input lanes, weights [n, k]), so this is the code generator deriving the
tile shape from the declared intrinsics (vendor_sdk.codegen.tiling), not from a DIM.

Each run is judged by the CLI itself: every NPU layer bit for bit against its integer
reference (so fsim and RTL agree bit for bit), the outputs against onnxruntime; a
disagreement is a non-zero exit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.codegen.tiling import Tiling, tiling_of
from vendor_sdk.runtime.examples import cnn, mlp
from vendor_sdk.target import load_target

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str | Path) -> tuple[int, str]:
    res = CliRunner().invoke(app, [*map(str, args)])
    return res.exit_code, " ".join(res.output.split())  # Rich wraps at the console width


def _quantized(make: object, tmp: Path, name: str) -> Path:
    src = make(tmp / f"{name}.onnx")  # type: ignore[operator]
    out = tmp / f"{name}.int8.onnx"
    code, output = _cli("quantize", src, "-o", out, "--random", "2")
    assert code == 0, output
    return out


@pytest.fixture(scope="module")
def ex_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("example_npu_models")
    return {"mlp": _quantized(mlp, d, "mlp"), "cnn": _quantized(cnn, d, "cnn")}


def _run_ok(model: Path, backend: str) -> str:
    """`vendor-sdk run` on example_npu: exit 0, every NPU layer checked and agreeing, some
    layers offloaded; the (unwrapped) output."""
    code, out = _cli("run", model, "--target", "example_npu", "--backend", backend)
    assert code == 0, out
    assert f"NPU on {backend}" in out, out
    check = re.search(r"check layers: (\d+) NPU layers bit for bit .*?: all agree", out)
    assert check and int(check[1]) > 0, out
    off = re.search(r"offloaded: (\d+)/(\d+) compute ops", out)
    assert off and int(off[1]) > 0, out
    assert "FAIL" not in out and "check failed" not in out, out
    return out


@pytest.mark.parametrize("backend", ["fsim", "rtl"])
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_mlp_and_cnn_run_bit_exact(ex_models: dict[str, Path], name: str, backend: str) -> None:
    out = _run_ok(ex_models[name], backend)
    if name == "mlp":  # 3 MatMul + 3 bias Add, all on the NPU
        assert "offloaded: 6/6 compute ops" in out, out


def test_depthwise_mobilenet_v2_runs_on_fsim(tmp_path: Path) -> None:
    """A MobileNet-V2-style model exported by torch (1x1 expand, 3x3 depthwise with
    ReLU6, 1x1 project, residual Add): the depthwise convs are block-diagonal dot
    products over 16-lane inputs and 4-lane outputs."""
    from torch_models import export  # tests/ is on pytest's pythonpath

    src = export("mobilenetv2_tiny", tmp_path / "mbv2.onnx")
    q = tmp_path / "mbv2.int8.onnx"
    code, output = _cli("quantize", src, "-o", q)
    assert code == 0, output
    out = _run_ok(q, "fsim")
    off = re.search(r"offloaded: (\d+)/(\d+)", out)
    assert off and int(off[1]) >= 13, out  # every Conv (depthwise too) and the residual Add


def test_tiling_comes_from_the_declared_intrinsics() -> None:
    """k / n / weight order from the GEMM intrinsic, channel padding a common multiple of
    the activation memories' rows (no parameter named DIM is read)."""
    ref = load_target(ROOT / "reference_npu" / "target.yaml")
    ex = load_target(ROOT / "example_npu" / "target.yaml")
    assert tiling_of(ref) == Tiling(k=8, n=8, weight_nk=False, channels=8)
    assert tiling_of(ex) == Tiling(k=16, n=4, weight_nk=True, channels=16)
    codegen = ROOT / "vendor_sdk" / "codegen"
    named = [p.name for p in codegen.glob("*.py") if '"DIM"' in p.read_text()]
    assert not named, f"code generator modules read params['DIM']: {named}"
