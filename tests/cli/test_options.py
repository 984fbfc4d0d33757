"""The shared options, through the installed command: --json prints one JSON object and
nothing else on stdout; --dim binds a symbolic dim by its own name (not only one called N);
--target has the same default on every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize

BIN = Path(sys.executable).parent / "vendor-sdk"


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"}, timeout=600)


@pytest.fixture(scope="module")
def batch_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The int8 MLP with its batch dim called `batch` (the old --batch bound only `N`)."""
    d = tmp_path_factory.mktemp("options")
    q = quantize(mlp(d / "mlp.onnx"), d / "mlp.int8.onnx", random=2)
    m = onnx.load(str(q))
    for vi in [*m.graph.input, *m.graph.output]:
        for dim in vi.type.tensor_type.shape.dim:
            if dim.dim_param == "N":
                dim.dim_param = "batch"
    out = d / "batch.int8.onnx"
    onnx.save(m, str(out))
    return out


def _json(r: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)  # the whole of stdout: nothing else printed there
    assert isinstance(data, dict)
    return data


def _macs_per_sample(model: Path) -> int:
    """MatMul MACs of one sample, from the weights' shapes (independent of the SDK)."""
    m = onnx.load(str(model))
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    dq = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "DequantizeLinear"}
    total = 0
    for n in m.graph.node:
        if n.op_type == "MatMul":
            k, c = inits[dq[n.input[1]]]
            total += k * c
    return total


def test_dim_binds_a_dim_by_its_name(batch_model: Path, tmp_path: Path) -> None:
    one = _json(_cli("run", batch_model, "--json", cwd=tmp_path))
    three = _json(_cli("run", batch_model, "--dim", "batch=3", "--json", cwd=tmp_path))
    assert one["macs"] == _macs_per_sample(batch_model)
    assert three["macs"] == 3 * _macs_per_sample(batch_model)
    assert three["check"] == {"mode": "layers", "ok": True, "failures": [], "warnings": []}
    assert three["backend"] == "fsim" and three["target"] == "reference_npu"
    layers = three["layers"]
    assert isinstance(layers, list) and layers
    assert sum(ls["cycles"] for ls in layers) == three["cycles"]


def test_dim_of_a_name_the_model_lacks_is_refused(batch_model: Path, tmp_path: Path) -> None:
    r = _cli("compile", batch_model, "--dim", "N=2", "-o", tmp_path / "b", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "error: --dim N: batch.int8.onnx has no symbolic dim of that name" in r.stderr
    assert "hint: its symbolic dims: batch (input x, axis 0)" in r.stderr
    bad = _cli("run", batch_model, "--dim", "batch=zero", cwd=tmp_path)
    assert bad.returncode == 2 and "--dim batch=zero: expected NAME=VALUE" in bad.stderr


def test_compile_json_and_report(batch_model: Path, tmp_path: Path) -> None:
    r = _cli("compile", batch_model, "-o", tmp_path / "b", "--report", tmp_path / "r.html",
             "--host", "fc0", "--json", cwd=tmp_path)
    data = _json(r)
    assert r.stderr == ""  # no progress when stderr is not a terminal
    written = data["report"]
    assert isinstance(written, list) and str(tmp_path / "r.html") in written
    assert all(Path(str(p)).is_file() for p in written)
    assert (tmp_path / "b" / "manifest.json").is_file()
    host = [h for h in data["partition"]["host"] if h["op"] == "MatMul"]  # type: ignore[index]
    assert [(h["name"], h["reason"]) for h in host if "fc0" in (h["source"] or h["name"])] \
        == [(host[0]["name"], "kept on the host by --host fc0")]


def test_target_commands_json(tmp_path: Path) -> None:
    listed = _json(_cli("targets", "--json", cwd=tmp_path))["targets"]
    assert isinstance(listed, list)
    assert {"reference_npu", "example_npu"} <= {t["name"] for t in listed}
    v = _json(_cli("validate", "reference_npu", "--json", cwd=tmp_path))
    assert v["name"] == "reference_npu" and v["ok"] is True
    assert "gemm_i8_i32" in {i["name"] for i in v["intrinsics"]}  # type: ignore[attr-defined]


def test_partition_defaults_to_the_default_target(batch_model: Path, tmp_path: Path) -> None:
    default = _json(_cli("partition", batch_model, "--json", cwd=tmp_path))
    named = _json(_cli("partition", batch_model, "--json", "--target", "reference_npu",
                       cwd=tmp_path))
    assert default == named and default["targets"] == ["reference_npu"]
