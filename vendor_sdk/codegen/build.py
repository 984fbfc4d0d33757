"""Compile a CModel into a shared library against the target's driver (cached)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from reference_npu.driver.build import DRIVER_DIR, build_driver
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.emit import CONTRACT_DIR, CModel
from vendor_sdk.sim.build import cached_build

CC = "gcc"
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-std=c11")


def _errors(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if re.search(r"error|warning", ln)]
    return "\n".join(lines[:20]) or stderr.strip()[-3000:]


def build_library(cm: CModel, flags: tuple[str, ...] = CFLAGS) -> Path:
    """Path of lib<model>.so built from the generated C (cached by content)."""
    driver = build_driver()
    key = hashlib.sha256("\0".join([CC, " ".join(flags), str(driver),
                                    (DRIVER_DIR / "npu.h").read_text(),
                                    (CONTRACT_DIR / "vsdk_glue.h").read_text(),
                                    *(f"{n}\0{t}" for n, t in sorted(cm.files.items()))]
                                   ).encode()).hexdigest()[:20]
    lib = f"lib{cm.model}.so"
    sources = sorted(n for n in cm.files if n.endswith(".c"))

    def build(tmp: Path) -> None:
        for n, t in cm.files.items():
            (tmp / n).write_text(t)
        done = subprocess.run([CC, *flags, f"-I{DRIVER_DIR}", f"-I{CONTRACT_DIR}", "-I.",
                               *sources, str(driver),
                               f"-Wl,-rpath,{driver.parent}", "-o", lib], cwd=tmp,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CodegenError(f"generated C for {cm.model} does not compile:\n"
                               f"{_errors(done.stderr)}")

    return cached_build("models", key, build, lib)
