"""The ctypes mirror of npu_types.h has the C compiler's layout (sizes and offsets)."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

from reference_npu import DRIVER_DIR
from reference_npu.sim import HwConfigC, NpuStatsC


def _c_layout(tmp_path: Path, struct: str, fields: list[str]) -> list[int]:
    offsets = " ".join(f'printf("%zu\\n", offsetof({struct}, {f}));' for f in fields)
    src = tmp_path / "layout.c"
    src.write_text(
        "#include <stddef.h>\n#include <stdio.h>\n#include <stdint.h>\n"
        '#include "npu_types.h"\n'
        f'int main(void) {{ printf("%zu\\n", sizeof({struct})); {offsets} return 0; }}\n'
    )
    exe = tmp_path / "layout"
    subprocess.run(["gcc", "-I", str(DRIVER_DIR), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_ctypes_structs_match_the_c_header(tmp_path: Path) -> None:
    for struct, cls in (("npu_stats", NpuStatsC), ("npu_hw_config", HwConfigC)):
        names = [name for name, _ in cls._fields_]
        size, *offsets = _c_layout(tmp_path, struct, names)
        assert size == ctypes.sizeof(cls), struct
        assert offsets == [getattr(cls, n).offset for n in names], struct
