"""Generate the SV package, the C header and the Python encoder from isa.yaml.

    python -m reference_npu.isa.gen            # rewrite the checked-in files
    python -m reference_npu.isa.gen --check    # exit 1 if any is out of date
    python -m reference_npu.isa.gen --out DIR  # write under DIR instead
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from reference_npu.isa.emit_c import emit_c
from reference_npu.isa.emit_md import emit_md
from reference_npu.isa.emit_py import emit_py
from reference_npu.isa.emit_sv import emit_sv
from reference_npu.isa.table import IsaTable, load

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent

# Output path (relative to the reference_npu package) -> emitter.
OUTPUTS = {
    "rtl/npu_isa_pkg.sv": emit_sv,
    "driver/npu_isa.h": emit_c,
    "isa/encoding.py": emit_py,
    "isa/ISA.md": emit_md,
}


def render(table: IsaTable) -> dict[str, str]:
    return {rel: emit(table) for rel, emit in OUTPUTS.items()}


def write(root: pathlib.Path, table: IsaTable | None = None) -> list[pathlib.Path]:
    written = []
    for rel, text in render(table or load()).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def stale(root: pathlib.Path = PACKAGE_DIR) -> list[str]:
    """Outputs whose checked-in text differs from what the table generates."""
    out = []
    for rel, text in render(load()).items():
        path = root / rel
        if not path.exists() or path.read_text() != text:
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    parser.add_argument("--out", type=pathlib.Path, default=PACKAGE_DIR)
    args = parser.parse_args(argv)
    if args.check:
        drift = stale(args.out)
        for rel in drift:
            print(f"out of date: {rel} (run python -m reference_npu.isa.gen)", file=sys.stderr)
        return 1 if drift else 0
    for path in write(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
