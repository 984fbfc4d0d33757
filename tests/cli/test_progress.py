"""Progress on stderr through the installed command: on a terminal (a pseudo-terminal here)
the stages, "layer k of n" while generating C and "region k of n" with the cycles so far
while running; on a pipe and under --json nothing at all.

The expected layers, regions and cycles come from the same run's --json output, not from
the progress code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from terminals import on_pipe as _on_pipe
from terminals import on_tty as _on_tty

from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("progress")
    return quantize(mlp(d / "mlp.onnx", sizes=(16, 8, 4)), d / "mlp.int8.onnx")


# relu0 (an Add) on the host splits the MLP into two regions: region 2 starts after cycles
RUN = ["run", "--host", "relu0"]


def test_progress_on_a_terminal_names_stages_layers_and_regions(model: Path,
                                                                tmp_path: Path) -> None:
    facts = json.loads(_on_pipe([*RUN, str(model), "--json"], tmp_path).stdout)
    layers = [lay["function"] for lay in facts["layers"]]
    regions = [r["name"] for r in facts["regions"]]
    assert len(layers) == 3 and len(regions) == 2, facts  # the case this test is about
    code, out, err = _on_tty([*RUN, str(model)], tmp_path)
    assert code == 0, out + err
    for stage in ("import", "partition", "build", "run on fsim: onnxruntime (the reference)",
                  "run on fsim: check every layer against its reference"):
        assert stage in err, err
    for k, fn in enumerate(layers, 1):
        assert f"tensorize + C: layer {k} of 3 ({fn})" in err, err
    assert f"run on fsim: region 1 of 2 ({regions[0]})" in err, err
    cycles = facts["regions"][0]["cycles"]  # region 1's, known when region 2 starts
    assert f"run on fsim: region 2 of 2 ({regions[1]}), {cycles:,} cycles so far" in err, err
    assert "Traceback" not in err
    # stdout is the same as on a pipe: progress never goes there
    piped = _on_pipe([*RUN, str(model)], tmp_path)
    assert piped.returncode == 0 and out == piped.stdout


def test_no_progress_on_a_pipe_or_under_json(model: Path, tmp_path: Path) -> None:
    piped = _on_pipe(["compile", str(model), "-o", "build"], tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert "layer 1 of" not in piped.stdout and "tensorize + C:" not in piped.stdout
    code, out, err = _on_tty([*RUN, str(model), "--json"], tmp_path)
    assert code == 0, err
    assert err == ""  # a terminal, but a script asked for JSON
    assert json.loads(out)["check"]["ok"] is True
