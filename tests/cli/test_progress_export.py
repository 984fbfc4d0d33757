"""`vendor-sdk export --verify` on a terminal shows its run step as `run` does: "region k
of n" with the cycles so far. The expected regions and cycles come from `run --json` of
the same model, not from the progress code."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize

BIN = Path(sys.executable).parent / "vendor-sdk"
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

    def drain() -> None:
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


def test_export_verify_shows_region_k_of_n(tmp_path: Path) -> None:
    model = quantize(mlp(tmp_path / "mlp.onnx", sizes=(16, 8, 4)), tmp_path / "mlp.int8.onnx")
    # relu0 on the host splits the MLP into two regions: region 2 starts after cycles
    facts = json.loads(subprocess.run(
        [str(BIN), "run", str(model), "--host", "relu0", "--check", "none", "--json"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True,
        stdin=subprocess.DEVNULL).stdout)
    regions = [r["name"] for r in facts["regions"]]
    assert len(regions) == 2, facts
    code, out, err = _on_tty(["export", str(model), "--host", "relu0", "--verify", "-o",
                              "x.onnx"], tmp_path)
    assert code == 0, out + err
    assert "bit-identical" in out
    step = "verify: vendor-sdk run on fsim: "
    assert f"{step}region 1 of 2 ({regions[0]})" in err, err
    cycles = facts["regions"][0]["cycles"]
    assert f"{step}region 2 of 2 ({regions[1]}), {cycles:,} cycles so far" in err, err
    assert "Traceback" not in err
