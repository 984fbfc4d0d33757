"""Hostile and broken input through the CLI (issue 15): tiny models and the runner.

Every case runs the command as a user would and checks the same four things: the exit
code, no traceback, a message that names the file / node / option at fault, and (where
the command writes) that nothing half-written is left behind.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.runtime.examples import _save, mlp
from vendor_sdk.runtime.quantize import quantize


@dataclass(frozen=True)
class Outcome:
    code: int
    text: str  # stdout and stderr, line breaks and rich's wrapping undone

    def names(self, *parts: str) -> bool:
        """Each part occurs, ignoring whitespace and table borders (rich wraps long paths
        anywhere, and folds a long table cell over several rows of the table)."""
        flat = re.sub(r"[\s│┃]+", "", self.text)
        return all(re.sub(r"\s+", "", p) in flat for p in parts)


def cli(*args: str | Path, cwd: Path | None = None) -> Outcome:
    """Run `vendor-sdk ARGS` in-process (typer's runner, as the other CLI tests do);
    an exception escaping the command is a test failure with its traceback."""
    env = {"COLUMNS": "400", "VENDOR_SDK_TEMPLATE_SECONDS": "1"}
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        res = CliRunner().invoke(app, [str(a) for a in args], env=env)
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"vendor-sdk {' '.join(map(str, args))} raised") \
            from res.exception
    text = re.sub(r"\s+", " ", res.output)
    assert "Traceback" not in text, text
    return Outcome(res.exit_code, text)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A float and an int8 QDQ MLP (16 -> 8 -> 4, batch N) and a few odd-input models."""
    d = tmp_path_factory.mktemp("hostile_models")
    out = {"float": mlp(d / "mlp.onnx", sizes=(16, 8, 4))}
    out["int8"] = quantize(out["float"], d / "mlp.int8.onnx")
    vi = helper.make_tensor_value_info
    for name, elem, shape in (("int64", TensorProto.INT64, ["N", 4]),
                              ("float16", TensorProto.FLOAT16, ["N", 4]),
                              ("huge", TensorProto.FLOAT, [10 ** 9, 10 ** 9]),
                              ("negative", TensorProto.FLOAT, [-3, 4])):
        node = helper.make_node("Identity", ["x"], ["y"], name="id0")
        if elem == TensorProto.INT64:  # an int input model, e.g. token ids
            node = helper.make_node("Cast", ["x"], ["y"], name="cast0", to=TensorProto.FLOAT)
        out[name] = _save([node], [vi("x", elem, shape)],
                          [vi("y", TensorProto.FLOAT if elem == TensorProto.INT64 else elem,
                              shape)], {}, d / f"{name}.onnx", name) \
            if name not in ("huge", "negative") else _unchecked(d / f"{name}.onnx", node,
                                                                 vi("x", elem, shape),
                                                                 vi("y", elem, shape))
    return out


def _unchecked(path: Path, node: object, x: object, y: object) -> Path:
    """A model onnx.checker would refuse (a negative dim): a careless exporter's output."""
    import onnx

    m = helper.make_model(helper.make_graph([node], "g", [x], [y]),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path
