"""`vendor-sdk run --check output|layers|none` and `vendor-sdk replay`: a wrong result is a
non-zero exit, the first wrong layer is named, and its inputs replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

import core.executor
import vendor_sdk.codegen.lower_gemm as gemm_mod
from vendor_sdk.cli import app
from vendor_sdk.runtime.examples import light_float
from vendor_sdk.runtime.quantize import quantize

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert "Traceback" not in r.output
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def squeezenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sq")
    return quantize(light_float("squeezenet", d / "sq.onnx"), d / "sq.int8.onnx", random=2)


def test_wrong_conv_channel_is_caught_by_layers_not_by_output(
        squeezenet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One output channel of one SqueezeNet conv requantized 5% too large: the softmax
    output stays within 1 LSB of onnxruntime, the layer check names the conv."""
    layer = "region2_3_conv2d_bias_relu"
    qp_table = gemm_mod.qp_table

    def wrong(lay: object, form: object, *dims: int) -> np.ndarray:
        t = qp_table(lay, form, *dims)  # type: ignore[arg-type]
        if lay.name.endswith(layer):  # type: ignore[attr-defined]
            t[0, 0, 3] = int(t[0, 0, 3] * 1.05)  # channel 3's multiplier
        return t

    monkeypatch.setattr(gemm_mod, "qp_table", wrong)
    replays = tmp_path / "replays"
    code, out = _run("run", str(squeezenet), "--check", "layers", "--replay-dir", str(replays))
    assert code == 1, out
    flat = " ".join(out.split())
    # the output check of the same run passes: the softmax hides it
    assert "ok vs onnxruntime: softmaxout_1: max" in flat, flat
    assert "check failed: output" not in flat
    assert f"first diverging layer: npu layer reference_npu_{layer} (Conv, ONNX node(s) n22" \
        in flat, flat
    assert "first at index [0, 3," in flat  # channel 3, and nothing before it
    npz = replays / f"reference_npu_{layer}.npz"
    assert npz.exists() and str(npz) in flat
    with np.load(npz) as z:
        meta = json.loads(str(z["meta"]))
        assert meta["layer"] == f"reference_npu_{layer}" and meta["kind"] == "npu"
        assert z["in_0"].dtype == np.int8 and (z["expected_0"] != z["got_0"]).sum() > 0

    code, out = _run("replay", str(npz))  # the miscompile is still there
    assert code == 1 and "still diverges" in out and "n22" in out, out
    monkeypatch.setattr(gemm_mod, "qp_table", qp_table)  # "fixed"
    code, out = _run("replay", str(npz))
    assert code == 0 and "agrees now" in out, out


def test_wrong_maxpool_is_named(squeezenet: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The last MaxPool computing 3x2 instead of 3x3 windows: both checks fail the run,
    the layer check names that MaxPool (and no layer before it)."""
    import dataclasses

    import vendor_sdk.codegen.elementwise as elt

    maxpool = elt._maxpool

    def wrong(lay: elt.EltLayer, *args: object) -> str:
        if "region4" in lay.name:
            kh, kw = lay.pool["kernel"]
            lay = dataclasses.replace(lay, pool={**lay.pool, "kernel": (kh, kw - 1)})
        return maxpool(lay, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(elt, "_maxpool", wrong)
    code, out = _run("run", str(squeezenet), "--check", "layers", "--replay-dir",
                     str(tmp_path))
    flat = " ".join(out.split())
    assert code == 1, out
    assert "first diverging layer: npu layer reference_npu_region4_0_maxpool2d (MaxPool, " \
           "ONNX node(s) n32" in flat, flat
    assert "FAIL vs onnxruntime" in flat  # several LSB at the output too


def test_wrong_host_op_is_named_and_replays(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's GlobalAveragePool 1% off: the layer check names it (a host op is held to
    a relative 1e-4 of the numpy reference executor); replay reruns that op alone."""
    from vendor_sdk.runtime.examples import cnn

    model = quantize(cnn(tmp_path / "cnn.onnx"), tmp_path / "cnn.int8.onnx")
    tir_impl = core.executor._tir_impl

    def wrong(func: object, host: str, reassociate: bool) -> object:
        impl = tir_impl(func, host, reassociate)
        if impl is not None and func.name.endswith("globalaveragepool"):  # type: ignore[attr-defined]
            return lambda *xs: impl(*xs) * np.float32(1.01)
        return impl

    monkeypatch.setattr(core.executor, "_tir_impl", wrong)
    code, out = _run("run", str(model), "--check", "layers", "--replay-dir", str(tmp_path))
    flat = " ".join(out.split())
    assert code == 1, out
    assert "first diverging layer: host layer gap (GlobalAveragePool, ONNX node(s) gap)" \
        in flat, flat
    code, out = _run("replay", str(tmp_path / "gap.npz"))
    assert code == 1 and "still diverges" in out, out
    monkeypatch.setattr(core.executor, "_tir_impl", tir_impl)
    code, out = _run("replay", str(tmp_path / "gap.npz"))
    assert code == 0 and "agrees now" in out, out


def _embedding_model(path: Path) -> Path:
    """int64 token ids -> Gather from a float table (values up to ~6) -> x2: a float model
    whose input is not float32."""
    table = (np.arange(16 * 8, dtype=np.float32).reshape(16, 8) / 20.0)
    g = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
         helper.make_node("Mul", ["e", "two"], ["y"], name="scale")], "emb",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8])],
        [numpy_helper.from_array(table, "table"),
         numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def test_inputs_keep_their_dtype_and_bad_inputs_exit_2(tmp_path: Path) -> None:
    model = str(_embedding_model(tmp_path / "emb.onnx"))
    ids = tmp_path / "ids.npz"
    np.savez(ids, ids=np.array([[15, 3, 0, 9]], np.int64))  # 15 * 8 / 20 * 2 > 12
    for check in ("output", "layers"):
        code, out = _run("run", model, "--inputs", str(ids), "--check", check)
        assert code == 0, out
        assert "ok vs onnxruntime: y: max |d| / max |ref| = 0" in " ".join(out.split()), out
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, tokens=np.zeros((1, 4), np.int64))
    code, out = _run("run", model, "--inputs", str(wrong))
    flat = " ".join(out.split())
    assert code == 2 and str(wrong) in flat and "'ids' int64[1, 4]" in flat, out
    assert "missing ['ids']" in flat
    floats = tmp_path / "floats.npz"
    np.savez(floats, ids=np.zeros((1, 4), np.float32))
    code, out = _run("run", model, "--inputs", str(floats))
    assert code == 2 and "'ids' is float32, the model takes int64" in " ".join(out.split())
    code, out = _run("run", model, "--check", "everything")
    assert code == 2 and "choose one of output, layers, none" in out
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    code, out = _run("run", str(garbage))
    assert code == 2 and "not an ONNX model" in out, out


def test_replay_rejects_a_foreign_npz(tmp_path: Path) -> None:
    npz = tmp_path / "x.npz"
    np.savez(npz, a=np.zeros(3))
    code, out = _run("replay", str(npz))
    assert code == 2 and "not written by `vendor-sdk run --check layers`" in out, out


def test_python_api_check_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_compiled(check=...): the verdict is the result's CheckReport; raise_if_failed
    raises CheckError; 'none' checks nothing; an unknown mode is a RunError."""
    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.check import CheckError
    from vendor_sdk.runtime.compare import model_inputs, run_compiled
    from vendor_sdk.runtime.examples import mlp
    from vendor_sdk.runtime.npu import RunError

    model = quantize(mlp(tmp_path / "mlp.onnx"), tmp_path / "mlp.int8.onnx")
    c = compile_model(model, "reference_npu", {"N": 2})
    feeds = model_inputs(model, 2, 1)
    good = run_compiled(c, model, feeds, "fsim", check="layers")
    assert good.check.ok and good.check.layers is not None
    good.check.raise_if_failed()
    tir_impl = core.executor._tir_impl

    def wrong(func: object, host: str, reassociate: bool) -> object:
        impl = tir_impl(func, host, reassociate)
        if impl is not None and func.name.endswith("_quantizelinear"):  # type: ignore[attr-defined]
            return lambda *xs: np.clip(impl(*xs).astype(np.int16) + 3, -128, 127).astype(np.int8)
        return impl

    monkeypatch.setattr(core.executor, "_tir_impl", wrong)
    bad = run_compiled(c, model, feeds, "fsim", check="layers", dump=tmp_path / "r")
    assert not bad.check.ok
    first = bad.check.layers.first_divergence  # type: ignore[union-attr]
    assert first is not None and first.where == "host" and first.op == "QuantizeLinear"
    assert first.replay is not None and first.replay.exists()
    with pytest.raises(CheckError, match="first diverging layer: host layer"):
        bad.check.raise_if_failed()
    unchecked = run_compiled(c, model, feeds, "fsim", check="none")
    assert unchecked.check.ok and not unchecked.check.outputs
    with pytest.raises(RunError, match="unknown check 'all'"):
        run_compiled(c, model, feeds, "fsim", check="all")


def test_output_check_fails_a_wrong_output_none_does_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The MLP's final DequantizeLinear (on the host) 6 LSB high on one element: --check
    output exits 1 naming the output, the index and the LSB; --check none exits 0."""
    from vendor_sdk.runtime.examples import mlp

    model = str(quantize(mlp(tmp_path / "mlp.onnx"), tmp_path / "mlp.int8.onnx"))
    tir_impl = core.executor._tir_impl

    def wrong(func: object, host: str, reassociate: bool) -> object:
        impl = tir_impl(func, host, reassociate)
        if impl is not None and func.name == "main_y_dequantizelinear":  # type: ignore[attr-defined]
            def off(q: np.ndarray, *rest: np.ndarray) -> np.ndarray:
                y = np.array(impl(q, *rest))
                y[0, 7] += 6 * float(np.abs(y).max() / 127)  # ~6 LSB (scale ~ max / 127)
                return y
            return off
        return impl

    monkeypatch.setattr(core.executor, "_tir_impl", wrong)
    code, out = _run("run", model, "--check", "output")
    flat = " ".join(out.split())
    assert code == 1, out
    assert "check failed: output y:" in flat and "LSB off at index [0, 7]" in flat, flat
    code, out = _run("run", model, "--check", "none")
    assert code == 0 and "check: none (results not checked)" in " ".join(out.split()), out
