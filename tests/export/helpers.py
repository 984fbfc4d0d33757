"""Shared steps of the export tests: the CLI in-process, a user's session in its own process,
and `vendor-sdk run`'s outputs through the library call the command makes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from vendor_sdk.cli import app

USER_SESSION = Path(__file__).with_name("user_session.py")
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert "Traceback" not in r.output
    return r.exit_code, r.output


def user_session(model: Path, feeds: Mapping[str, np.ndarray], cwd: Path,
                 *flags: str) -> tuple[subprocess.CompletedProcess[str], dict[str, np.ndarray]]:
    """Run the exported model in onnxruntime in a new process started in ``cwd``."""
    cwd.mkdir(parents=True, exist_ok=True)
    np.savez(cwd / "feeds.npz", **feeds)
    done = subprocess.run([sys.executable, str(USER_SESSION), str(model), "feeds.npz",
                           "outputs.npz", *flags], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=600)
    if done.returncode != 0:
        return done, {}
    with np.load(cwd / "outputs.npz") as z:
        return done, {k: z[k] for k in z.files}


def vendor_sdk_run(model: Path, target: str, backend: str,
                   feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """`vendor-sdk run MODEL --target T --backend B --check output`'s outputs (the calls the
    command makes), after its own verdict against onnxruntime on the source model."""
    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.compare import run_compiled

    c = compile_model(model, target, {"N": 1})
    result = run_compiled(c, model, feeds, backend, check="output")
    assert result.check.ok, result.check.failures()
    return result.outputs


def assert_bit_identical(ours: Mapping[str, np.ndarray], ref: list[np.ndarray]) -> None:
    assert len(ours) == len(ref)
    for (name, a), b in zip(ours.items(), ref, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape, (name, a.dtype, a.shape, b.shape)
        diff = int(np.sum(a != b))
        assert diff == 0, f"{name}: {diff} of {a.size} elements differ"
