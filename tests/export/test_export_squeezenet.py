"""SqueezeNet quantized and exported through the CLI, moved elsewhere, run by a user's own
onnxruntime session: its outputs are `vendor-sdk run`'s on fsim, bit for bit."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from export.helpers import assert_bit_identical, cli, user_session, vendor_sdk_run

from vendor_sdk.runtime.compare import model_inputs, onnxruntime_outputs
from vendor_sdk.runtime.examples import light_float


def test_squeezenet_in_onnxruntime_is_vendor_sdk_run(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    light_float("squeezenet", tmp_path / "squeezenet.onnx")  # the onnx package's graph
    code, out = cli("quantize", "squeezenet.onnx", "-o", "squeezenet.int8.onnx", "--random", "2")
    assert code == 0, out
    code, out = cli("export", "squeezenet.int8.onnx", "--target", "reference_npu",
                    "-o", "deploy/squeezenet.npu.onnx")
    assert code == 0, out
    assert "wrote deploy/squeezenet.npu.onnx" in out and "package deploy/squeezenet.npu/" in out

    source = onnx.load("squeezenet.int8.onnx")
    exported = onnx.load("deploy/squeezenet.npu.onnx")
    regions = [n for n in exported.graph.node if n.domain == "ai.onnx.contrib"]
    host = [n for n in exported.graph.node if n.domain != "ai.onnx.contrib"]
    assert len(regions) >= 2 and all(n.op_type.startswith("NpuRegion_") for n in regions)
    assert f"{len(regions)} NPU region nodes" in out
    # the host remainder is the model's own nodes, untouched; every conv went to the NPU
    originals = {n.SerializeToString() for n in source.graph.node}
    assert all(n.SerializeToString() in originals for n in host)
    assert not [n for n in host if n.op_type == "Conv"]
    assert {n.op_type for n in host} >= {"QuantizeLinear", "DequantizeLinear"}
    attrs = {a.name: a.s.decode() for a in regions[0].attribute}
    assert attrs["package"] == "squeezenet.npu" and attrs["backend"] == "fsim"
    assert attrs["target"] == "reference_npu"
    assert len(list(Path("deploy/squeezenet.npu").glob("lib*.so"))) == 1

    # the pair moves together; the session runs from another working directory
    shutil.move("deploy", "moved")
    feeds = model_inputs(Path("squeezenet.int8.onnx"), 1, 0)
    done, ours = user_session(tmp_path / "moved" / "squeezenet.npu.onnx", feeds,
                              tmp_path / "elsewhere")
    assert done.returncode == 0, done.stderr
    ref = vendor_sdk_run(Path("squeezenet.int8.onnx"), "reference_npu", "fsim", feeds)
    assert_bit_identical(ours, ref)
    # and, independently, onnxruntime on the source QDQ model picks the same class
    (src,) = onnxruntime_outputs(Path("squeezenet.int8.onnx"), feeds)
    (probs,) = ours.values()
    assert np.argmax(probs) == np.argmax(src) and probs.max() > 0.1
