"""A layer the code generator refuses at compile time goes to the host, and the partition
report says why (it used to say "forced to the host by the partition options"); when there
are too many of them, the error names each one with its reason.

What validate cannot know: a vendor pattern lets Clip's bounds be any tensor, and the model
computes its max at run time (ReduceMax of the input), so no compile-time clamp exists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import helper, numpy_helper
from typer.testing import CliRunner

from tests.e2e.test_miscompiles_elementwise import _conv, _model, _quantize, _variant
from vendor_sdk.cli import app
from vendor_sdk.compile import MAX_RETRIES

WHY = "Clip max is not a constant scalar"


def _target(tmp_path: Path) -> Path:
    """The reference NPU whose conv pattern accepts Clip bounds that are not constants."""
    target = _variant(tmp_path, "lo: {const: true, optional: true}   # Clip's bounds",
                      "lo: {optional: true}   # Clip's bounds")
    target.write_text(target.read_text().replace(
        "hi: {const: true, optional: true}", "hi: {optional: true}", 1))
    return target


def _clipped_convs(tmp_path: Path, layers: int) -> Path:
    """``layers`` x (Conv -> Clip(max = max of the model's input, computed at run time))."""
    rng = np.random.default_rng(3)
    nodes = [helper.make_node("ReduceMax", ["x"], ["top0"], keepdims=0, name="top0"),
             helper.make_node("Reshape", ["top0", "shape"], ["top"], name="top")]
    inits = [numpy_helper.from_array(np.array([1], np.int64), "shape")]
    cur = "x"
    for i in range(layers):
        conv, w = _conv(f"c{i}", cur, 8, 3, 2.0, 0.0, rng)
        out = "y" if i == layers - 1 else f"clip{i}"
        nodes += [conv, helper.make_node("Clip", [f"c{i}", "", "top"], [out], name=f"clip{i}")]
        inits += w
        cur = out
    return _quantize(_model(tmp_path / "m.onnx", nodes, inits),
                     QDQKeepRemovableActivations=True)


def test_the_partition_report_gives_the_code_generators_reason(tmp_path: Path) -> None:
    target, model = _target(tmp_path), _clipped_convs(tmp_path, 2)
    build = tmp_path / "build"
    res = CliRunner().invoke(app, ["compile", str(model), "--target", str(target), "-o",
                                   str(build)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    text = (build / "partition.txt").read_text()
    host = text.split("on the host:")[1]
    for i in range(2):  # each Conv and its Clip: its composite's reason
        for node in (f"c{i}", f"clip{i}"):
            line = next(ln for ln in host.splitlines() if f" {node}:" in ln)
            assert "the code generator cannot lower composite" in line and WHY in line, text
    assert "forced to the host by the partition options" not in text, text
    assert f"0/{text.split('/')[1].split()[0]} compute ops offloaded" in text, text


def test_giving_up_names_every_fallback_and_its_reason(tmp_path: Path) -> None:
    target, model = _target(tmp_path), _clipped_convs(tmp_path, MAX_RETRIES + 1)
    res = CliRunner().invoke(app, ["compile", str(model), "--target", str(target), "-o",
                                   str(tmp_path / "build")], env={"COLUMNS": "200"})
    out = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert f"gave up after {MAX_RETRIES} host fallbacks:" in out, out
    assert out.count(WHY) == MAX_RETRIES, out
    assert "Traceback" not in out, out
