"""`vendor-sdk run` on what stopped the light models (issue 12), through the CLI:

- Inception v1/v2: a MaxPool of 528/832 channels requantizes 66/104 blocks of DIM channels
  in one tile, more descriptors than the qp memory holds (64 at QP_ROWS 192), and the
  descriptor index overflowed the instruction field. They now load in groups that fit.
- ZFNet-512/VGG-19: fc6's weights (72/98 MiB as int8) exceed the 64 MiB DRAM the target
  declares (DRAM_BYTES); the layer runs on the host with the reason, and whatever the
  driver still refuses at run time is exit 2, not a traceback.

The light models take 30 s (ZFNet) to minutes (VGG-19) each under load, so each mechanism
is shown on a small model with the same property: a pool over 528 channels, a Gemm against
a target copy with a small DRAM (docs/compile.md has the light models' runs).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from reference_npu import __file__ as ref_init
from vendor_sdk.cli import app

REF_DIR = Path(ref_init).parent


def _cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*map(str, args)])
    return result.exit_code, result.output


def _quantized(model: onnx.ModelProto, tmp_path: Path, name: str) -> Path:
    src, out = tmp_path / f"{name}.onnx", tmp_path / f"{name}.int8.onnx"
    onnx.save(model, str(src))
    code, output = _cli("quantize", src, "-o", out, "--random", "2")
    assert code == 0, output
    return out


def _offloaded(output: str) -> tuple[int, int]:
    m = re.search(r"offloaded: (\d+)/(\d+)", output)
    assert m, output
    return int(m[1]), int(m[2])


def _wide_maxpool(channels: int) -> onnx.ModelProto:
    """Conv 3 -> channels, Relu, 3x3 MaxPool: one tile of the pool holds every channel."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.uniform(-1, 1, (channels, 3, 1, 1)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.uniform(0.5, 1.5, channels).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(
        nodes, "wide_pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 4, 4])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_pool_wider_than_the_descriptor_memory_runs_on_the_npu(tmp_path: Path) -> None:
    # 8 * 66 = 528 channels (Inception v1's pool): 66 descriptors, the qp memory holds 64
    model = _quantized(_wide_maxpool(528), tmp_path, "wide_pool")
    code, output = _cli("run", model)
    assert code == 0, output
    assert _offloaded(output) == (2, 2), output  # the conv and the pool, none sent back
    assert "host fallback" not in output
    assert "all agree" in output


def _target_copy(tmp_path: Path, dram: int) -> Path:
    d = tmp_path / "small_dram"
    shutil.copytree(REF_DIR / "templates", d / "templates")
    (d / "rtl").symlink_to(REF_DIR / "rtl")
    (d / "driver").symlink_to(REF_DIR / "driver")
    text = (REF_DIR / "target.yaml").read_text()
    assert "DRAM_BYTES: 67108864" in text
    (d / "target.yaml").write_text(text.replace("DRAM_BYTES: 67108864", f"DRAM_BYTES: {dram}"))
    return d / "target.yaml"


def _two_gemms() -> onnx.ModelProto:
    """Gemm 64 -> 512 (32 KiB of int8 weights), Relu, Gemm 512 -> 16 (8 KiB)."""
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("w1", rng.uniform(-0.3, 0.3, (64, 512))), ("b1", rng.uniform(0.5, 1.5, 512)),
        ("w2", rng.uniform(-0.3, 0.3, (512, 16))), ("b2", rng.uniform(0.5, 1.5, 16)))]
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["y"])]
    graph = helper.make_graph(
        nodes, "two_gemms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_layer_larger_than_the_dram_runs_on_the_host_with_the_reason(tmp_path: Path) -> None:
    model = _quantized(_two_gemms(), tmp_path, "two_gemms")
    code, output = _cli("run", model)
    assert code == 0, output
    assert _offloaded(output) == (2, 2), output  # the declared 64 MiB holds both
    small = _target_copy(tmp_path, 24 * 1024)  # the first Gemm's weights alone are 32 KiB
    code, output = _cli("run", model, "--target", small)
    assert code == 0, output
    assert _offloaded(output) == (1, 2), output
    flat = " ".join(output.split())
    assert "DRAM_BYTES is 24.0 KiB" in flat and "runs on the host" in flat, output
    assert "all agree" in output


def test_driver_refusing_the_dram_is_exit_2(tmp_path: Path) -> None:
    model = _quantized(_two_gemms(), tmp_path, "two_gemms")
    huge = _target_copy(tmp_path, 8 << 30)  # the driver's DRAM is below 4 GiB
    code, output = _cli("run", model, "--target", huge)
    assert code == 2, output
    assert "dram=" in output and "Traceback" not in output
