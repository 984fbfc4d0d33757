"""The README's "Where your users work" block, run literally from a fresh directory: the
report, the export and the user's onnxruntime script (the README's python block, saved as
the `use_npu.py` its sh block runs), and a sweep. Only `model.onnx` is supplied: a small
float CNN. Each command must exit 0 and leave what the README says it writes."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from vendor_sdk.runtime.examples import cnn

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _blocks() -> tuple[list[list[str]], str]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"## Where your users work\n(.*?)\n## ", text, re.S)
    assert section, "README.md has no 'Where your users work' section"
    sh = re.search(r"```sh\n(.*?)```", section[1], re.S)
    py = re.search(r"```python\n(.*?)```", section[1], re.S)
    assert sh and py
    lines = [shlex.split(ln, comments=True) for ln in sh[1].splitlines()]
    return [w for w in lines if w], py[1]


def test_readme_user_commands_literally(tmp_path: Path) -> None:
    commands, script = _blocks()
    assert [c[:2] for c in commands] == [
        ["vendor-sdk", "quantize"], ["vendor-sdk", "run"], ["vendor-sdk", "export"],
        ["python", "use_npu.py"], ["vendor-sdk", "sweep"]]
    cnn(tmp_path / "model.onnx")
    (tmp_path / "use_npu.py").write_text(script)
    for words in commands:
        exe = str(BIN / "vendor-sdk") if words[0] == "vendor-sdk" else sys.executable
        done = subprocess.run([exe, *words[1:]], cwd=tmp_path, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"{shlex.join(words)}:\n{done.stdout}\n{done.stderr}"
        if words[0] == "python":
            assert done.stdout.strip() == "(1, 10)", done.stdout  # the CNN's logits
    for name in ("report.html", "report.csv", "report.json", "model.npu.onnx",
                 "model.npu/export.json", "sweep/index.html", "sweep/results.csv"):
        assert (tmp_path / name).is_file(), name
    layers = json.loads((tmp_path / "report.json").read_text())
    assert layers["schema"].startswith("vendor-sdk.layers/")
    rows = [json.loads(ln) for ln in (tmp_path / "sweep/results.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in rows) == ["ok", "ok"], rows
