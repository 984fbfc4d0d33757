"""The README's "workflow of a vendor", run literally through the CLI from a fresh directory.

The commands are read from README.md itself, so a README that drifts from what works
fails here. Only `model.onnx` is supplied (the README leaves it to the reader): a small
float CNN. `--backend fsim|rtl` is the README's shorthand for two runs.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from vendor_sdk.runtime.examples import cnn

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def readme_workflow() -> list[list[str]]:
    """The commands of the README's vendor-workflow block, comments dropped, `a|b`
    alternatives expanded into one command each."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## The workflow of a vendor\s+```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no 'The workflow of a vendor' sh block"
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        alts = [i for i, w in enumerate(words) if "|" in w]
        if not alts:
            commands.append(words)
            continue
        i = alts[0]
        commands += [[*words[:i], alt, *words[i + 1:]] for alt in words[i].split("|")]
    return commands


def test_readme_lists_the_whole_workflow() -> None:
    verbs = [c[1] for c in readme_workflow()]
    for verb in ("init", "validate", "check-intrinsics", "partition", "quantize", "compile",
                 "run", "package"):
        assert verb in verbs, f"README workflow lacks vendor-sdk {verb}"
    assert sum(v == "run" for v in verbs) == 2  # fsim and rtl


def test_readme_workflow_literally(tmp_path: Path) -> None:
    cnn(tmp_path / "model.onnx")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "120"}
    for words in readme_workflow():
        assert words[0] == "vendor-sdk", words
        proc = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        out = proc.stdout + proc.stderr
        shown = " ".join(words)
        assert proc.returncode == 0, f"`{shown}` exited {proc.returncode}:\n{out[-3000:]}"
        assert "Traceback" not in out, f"`{shown}` printed a traceback:\n{out[-3000:]}"
        if words[1] == "check-intrinsics":
            # The default workdir is relative to the current directory; every case ran.
            assert re.search(r"\d+ cases: all passed", out), out[-2000:]
            assert (tmp_path / "check-intrinsics").is_dir()
    assert list((tmp_path / "build").glob("*.c")), "compile wrote no C into build/"
    assert list(tmp_path.rglob("*.whl")), "package built no wheel"
