"""`vendor-sdk export` on small models: example_npu, the RTL backend, --verify, and the
errors a user meets (library deleted, package left behind, unknown backend, a model that
offloads nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from export.helpers import assert_bit_identical, cli, user_session, vendor_sdk_run

from vendor_sdk.runtime.compare import model_inputs, onnxruntime_outputs
from vendor_sdk.runtime.examples import cnn, mlp
from vendor_sdk.runtime.quantize import quantize


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {"cnn": quantize(cnn(d / "cnn.onnx"), d / "cnn.int8.onnx", random=2),
            "cnn_float": d / "cnn.onnx",
            "mlp": quantize(mlp(d / "mlp.onnx"), d / "mlp.int8.onnx", random=2)}


def test_example_npu_with_verify_and_a_session_opened_by_directory(
        models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = cli("export", str(models["cnn"]), "-t", "example_npu", "-o", "cnn.npu.onnx",
                    "--verify")
    assert code == 0, out
    assert "y: onnxruntime session vs vendor-sdk run on fsim: bit-identical" in out
    assert "2 NPU region nodes" in out and "example_npu_region1: NpuRegion_1i8_1i8(" in out
    code, out = cli("export", str(models["cnn"]), "-t", "example_npu", "-o", "cnn.npu.onnx",
                    "--verify", "--seed", "5", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["verify"]["identical"] and data["verify"]["region_calls"] == 2
    assert [r["op_type"] for r in data["regions"]] == ["NpuRegion_1i8_1i8"] * 2
    feeds = model_inputs(models["cnn"], 1, 0)
    # npu.session_options() without the model: the package is found from the working dir
    done, ours = user_session(tmp_path / "cnn.npu.onnx", feeds, tmp_path, "--no-model")
    assert done.returncode == 0, done.stderr
    assert_bit_identical(ours, vendor_sdk_run(models["cnn"], "example_npu", "fsim", feeds))


def test_rtl_backend(models: dict[str, Path], tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = cli("export", str(models["mlp"]), "-o", "mlp.npu.onnx", "--backend", "rtl")
    assert code == 0, out
    feeds = model_inputs(models["mlp"], 1, 3)
    done, ours = user_session(tmp_path / "mlp.npu.onnx", feeds, tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert_bit_identical(ours, vendor_sdk_run(models["mlp"], "reference_npu", "rtl", feeds))


def test_deleted_library_and_lost_package_are_named(models: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from vendor_sdk.export import ExportError
    from vendor_sdk.export.ort import session_options

    monkeypatch.chdir(tmp_path)
    code, out = cli("export", str(models["mlp"]), "-o", "m/mlp.npu.onnx")
    assert code == 0, out
    (lib,) = Path("m/mlp.npu").glob("lib*.so")
    lib.unlink()
    with pytest.raises(ExportError, match="the compiled NPU library is missing") as e:
        session_options(tmp_path / "m" / "mlp.npu.onnx")
    assert str(tmp_path / lib) in str(e.value) and "move together" in e.value.hint
    feeds = model_inputs(models["mlp"], 1, 0)
    # the user's script without the model path: the kernel cannot raise into onnxruntime
    # (it would abort); the process says why and exits 2
    done, _ = user_session(tmp_path / "m" / "mlp.npu.onnx", feeds, tmp_path / "m", "--no-model")
    assert done.returncode == 2
    assert f"error: NPU region reference_npu_region0: {lib.relative_to('m')}: the compiled " \
           "NPU library is missing" in done.stderr
    assert "terminate called" not in done.stderr and "Traceback" not in done.stderr
    # the model moved without its package
    code, out = cli("export", str(models["mlp"]), "-o", "mlp.npu.onnx")
    Path("alone").mkdir()
    Path("mlp.npu.onnx").rename("alone/mlp.npu.onnx")
    with pytest.raises(ExportError, match="no such directory") as e:
        session_options("alone/mlp.npu.onnx")
    assert str(e.value).startswith(f"{tmp_path / 'alone' / 'mlp.npu'}: ")


def test_unknown_backend(models: dict[str, Path], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    from vendor_sdk.export import ExportError
    from vendor_sdk.export.ort import session_options

    monkeypatch.chdir(tmp_path)
    code, out = cli("export", str(models["mlp"]), "--backend", "gpu")
    assert code == 2 and "error: --backend gpu: choose one of fsim, rtl" in out
    assert not Path("mlp.npu.onnx").exists()
    code, out = cli("export", str(models["mlp"]), "-o", "mlp.npu.onnx")
    assert code == 0, out
    with pytest.raises(ExportError, match="backend gpu: unknown backend"):
        session_options("mlp.npu.onnx", backend="gpu")
    code, out = cli("export", str(models["mlp"]), "-o", str(models["mlp"]))
    assert code == 2 and "is the input model" in out


def test_a_model_that_offloads_nothing(models: dict[str, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A float model (no QDQ): nothing matches the NPU's int8 patterns; the export says so
    and is the model itself, which onnxruntime runs with no registration at all."""
    monkeypatch.chdir(tmp_path)
    code, out = cli("export", str(models["mlp"]), "-o", "f.npu.onnx")  # a package to go stale
    assert code == 0 and Path("f.npu/export.json").is_file(), out
    code, out = cli("export", str(models["cnn_float"]), "-o", "f.npu.onnx")
    assert code == 0, out
    assert "nothing offloaded to reference_npu (0/" in out and "runs on onnxruntime alone" in out
    assert not Path("f.npu").exists()
    model = onnx.load("f.npu.onnx")
    assert model == onnx.load(models["cnn_float"])
    onnx.checker.check_model(model, full_check=True)
    feeds = model_inputs(models["cnn_float"], 1, 0)
    sess = onnxruntime.InferenceSession("f.npu.onnx", providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, feeds)
    (ref,) = onnxruntime_outputs(models["cnn_float"], feeds, deployed=True)
    np.testing.assert_array_equal(y, ref)
