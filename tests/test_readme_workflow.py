"""The README's "workflow of a vendor", run literally through the CLI from a fresh directory.

The commands are read from README.md itself, so a README that drifts from what works
fails here. Only `model.onnx` is supplied (the README leaves it to the reader): a small
float CNN. `a|b` in the README is a choice; the test takes every one: in `init` each
starting point (`--from reference_npu|example_npu`, both bundled NPUs) is a workflow of its
own from a fresh directory, elsewhere (`--backend fsim|rtl`) each alternative is one more
command of the same workflow. `pip install` installs into a fresh venv that sees this
environment's packages (offline, fast); from then on every `vendor-sdk` command runs in that
venv, so `targets` and `run --target NAME` see the target only if the wheel works installed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from venvs import fresh_venv

from vendor_sdk.runtime.examples import cnn

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _readme_lines() -> list[list[str]]:
    """The words of each command of the README's vendor-workflow block, comments dropped."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## The workflow of a vendor\s+```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no 'The workflow of a vendor' sh block"
    return [w for w in (shlex.split(line, comments=True) for line in
                        block.group(1).splitlines()) if w]


def _choice(words: list[str]) -> int | None:
    alts = [i for i, w in enumerate(words) if "|" in w]
    return alts[0] if alts else None


def readme_starts() -> list[str]:
    """The starting points the README's `init` offers as `--from a|b` (one if no choice)."""
    init = next(w for w in _readme_lines() if w[1:2] == ["init"])
    i = _choice(init)
    return init[i].split("|") if i is not None else [""]


def readme_workflow(start: str = "") -> list[list[str]]:
    """The commands of the README's vendor-workflow block for one starting point: `init`'s
    choice resolved to ``start``, every other `a|b` expanded into one command each."""
    commands = []
    for words in _readme_lines():
        i = _choice(words)
        if i is None:
            commands.append(words)
        elif words[1] == "init":
            assert start in words[i].split("|"), (start, words)
            commands.append([*words[:i], start, *words[i + 1:]])
        else:
            commands += [[*words[:i], alt, *words[i + 1:]] for alt in words[i].split("|")]
    return commands


def test_readme_lists_the_whole_workflow_for_both_bundled_npus() -> None:
    assert sorted(readme_starts()) == ["example_npu", "reference_npu"]
    for start in readme_starts():
        verbs = [c[1] for c in readme_workflow(start)]
        for verb in ("init", "validate", "check-intrinsics", "partition", "quantize",
                     "compile", "run", "package", "install", "targets"):
            assert verb in verbs, f"README workflow lacks {verb}"
        assert sum(v == "run" for v in verbs) == 4  # fsim and rtl, from the tree and installed
        assert verbs.index("install") < verbs.index("targets")


@pytest.mark.parametrize("start", readme_starts())
def test_readme_workflow_literally(start: str, tmp_path: Path) -> None:
    cnn(tmp_path / "model.onnx")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "300"}
    venv: Path | None = None  # after `pip install`: the venv the wheel went into
    for words in readme_workflow(start):
        assert words[0] in ("vendor-sdk", "pip"), words
        cmd = list(words)
        if words[0] == "pip":
            assert words[1] == "install", words
            wheels = [str(w) for pat in words[2:] for w in sorted(tmp_path.glob(pat))]
            assert wheels, f"`{' '.join(words)}` matches no wheel"
            venv = fresh_venv(tmp_path)
            cmd = [sys.executable, "-m", "pip", "--python", str(venv), "install", "-q",
                   "--no-deps", "--no-index", *wheels]
        elif venv is not None:
            cmd = [str(venv), "-c", "from vendor_sdk.cli import main; main()", *words[1:]]
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        out = proc.stdout + proc.stderr
        shown = " ".join(words)
        assert proc.returncode == 0, f"`{shown}` exited {proc.returncode}:\n{out[-3000:]}"
        assert "Traceback" not in out, f"`{shown}` printed a traceback:\n{out[-3000:]}"
        flat = " ".join(out.split())  # Rich wraps at the console width
        if words[1] == "init":
            assert f"from {start}" in flat, out[-2000:]  # the package is a copy of that NPU
        if words[1] == "run":  # exit 0 is not enough: a package offloading nothing exits 0
            off = re.search(r"offloaded: (\d+)/\d+ compute ops", flat)
            assert off and int(off[1]) >= 3, f"`{shown}` ran nothing on the NPU:\n{out[-3000:]}"
            assert re.search(r"check layers: [1-9]\d* NPU layers bit for bit .*?: all agree",
                             flat), out[-3000:]
        if words[1] == "targets":  # the installed wheel, loaded from the fresh venv
            row = next((ln for ln in out.splitlines() if "acme_npu" in ln), "")
            assert " ok " in row and "acme-npu" in row and "site-packages" in row, out[-3000:]
        if words[1] == "check-intrinsics":
            # The default workdir is relative to the current directory; every case ran.
            assert re.search(r"\d+ cases: all passed", out), out[-2000:]
            assert (tmp_path / "check-intrinsics").is_dir()
    assert list((tmp_path / "build").glob("*.c")), "compile wrote no C into build/"
    assert list(tmp_path.rglob("*.whl")), "package built no wheel"
