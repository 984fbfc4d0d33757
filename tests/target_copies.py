"""Copies of the reference target for tests that prove the SDK reads only target.yaml."""

from __future__ import annotations

import re
from pathlib import Path

from reference_npu import __file__ as ref_init

REF_DIR = Path(ref_init).parent
RENAMES = {"acc": "accum", "inp": "ifmap", "wgt": "weights", "out": "ofmap", "qp": "descr",
           "lut": "table"}


def renamed_text() -> str:
    """The reference target.yaml with every memory renamed (RENAMES), in declarations,
    operand scopes and movement lists."""
    text = (REF_DIR / "target.yaml").read_text()
    for old, new in RENAMES.items():
        text, decl = re.subn(rf"^  {old}: \{{", f"  {new}: {{", text, flags=re.M)
        text, uses = re.subn(rf"\bscope: {old}\b", f"scope: {new}", text)
        assert decl == 1, old
        assert uses or old == "lut", old  # no intrinsic of the reference NPU reads the LUT
    assert not re.search(r"scope: (acc|inp|wgt|out|qp|lut)\b", text)

    def movement(m: re.Match[str]) -> str:  # movement: {load: [...], ...} names memories
        names = [RENAMES.get(n.strip(), n.strip()) for n in m[2].split(",")]
        return f"{m[1]}[{', '.join(names)}]"

    text, moved = re.subn(r"^(  (?:load|store|pad): )\[([^\]]*)\]", movement, text, flags=re.M)
    assert moved == 3
    return text
