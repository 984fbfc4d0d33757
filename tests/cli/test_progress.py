"""Progress on stderr through the installed command: on a terminal (a pseudo-terminal here)
the stages, "layer k of n" while generating C and "region k of n" with the cycles so far
while running; on a pipe and under --json nothing at all.

The expected layers, regions and cycles come from the same run's --json output, not from
the progress code."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize

BIN = Path(sys.executable).parent / "vendor-sdk"
# rich reads these; the test decides what stderr is, not the caller's environment
RICH_ENV = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM", "COLUMNS")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RICH_ENV}
    return env | {"TERM": "xterm", "COLUMNS": "250"}  # wide: progress lines are not cut


def _on_tty(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """(exit code, stdout (a pipe), stderr (a pseudo-terminal) without escape codes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(BIN), *args], cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # the terminal's side, until the command closes it
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(master)
    return proc.returncode, out.decode(), ANSI.sub("", b"".join(chunks).decode())


def _on_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


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
