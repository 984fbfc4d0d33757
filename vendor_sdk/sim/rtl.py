"""Build a target's RTL (target.yaml `sim.rtl`) into the shared library its runtime loads.

    lib = build_rtl_library(target)   # cached; the runtime's "rtl" backend gets rtl_lib=lib

The target names everything: SystemVerilog sources (globs in compile order, the first
occurrence of a file wins), Verilator waiver files, the C++ harness that exports whatever
its runtime library calls, include directories, the top module, the -G parameters
(expressions over the target's params) and the library's file name. Nothing here knows
a particular NPU.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vendor_sdk.intrinsics.check import eval_const
from vendor_sdk.intrinsics.lang import ExprError
from vendor_sdk.sim.build import cached_build, run_verilator, source_hash
from vendor_sdk.sim.errors import SimError
from vendor_sdk.sim.toolchain import OPT_MAKEFLAGS, PCH_MAKEFLAGS, verilator_version
from vendor_sdk.target.load import Target

BUILD_FLAGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint",
               "-Wno-style", "-CFLAGS", "-O2")


@dataclass(frozen=True, slots=True)
class RtlDesign:
    """A target's sim.rtl, resolved to files and numbers."""

    target: str
    top: str
    sources: tuple[Path, ...]   # .sv/.v in compile order
    lint: tuple[Path, ...]      # .vlt waivers, before the sources
    harness: tuple[Path, ...]   # C++ compiled into the library
    include: tuple[Path, ...]   # -I for the harness
    params: tuple[tuple[str, int], ...]  # -G overrides, in target order
    library: str

    def verilator_args(self) -> list[str]:
        return [f"-G{name}={value}" for name, value in self.params]

    def key(self) -> str:
        headers = sorted({h for d in self.include for h in d.glob("*.h")})
        return source_hash([*self.lint, *self.sources, *self.harness, *headers], self.top,
                           ",".join(self.verilator_args()), self.library, verilator_version(),
                           " ".join(BUILD_FLAGS), PCH_MAKEFLAGS, OPT_MAKEFLAGS, "lib")


def _globbed(target: Target, field: str, patterns: list[str], must_match: bool) -> list[Path]:
    """Each glob's matches sorted, in the order of the globs; a file listed twice keeps its
    first place (packages first, then `rtl/*.sv`)."""
    base = target.path.resolve().parent
    out: list[Path] = []
    for i, pattern in enumerate(patterns):
        found = sorted(p for p in base.glob(pattern) if p.is_file())
        if not found and must_match:
            raise SimError(f"{target.path}: sim.rtl.{field}[{i}]: {pattern!r} matches no "
                           f"file (hint: globs are relative to {base})")
        out += [p for p in found if p not in out]
    return out


def rtl_design(target: Target, overrides: Mapping[str, int] | None = None) -> RtlDesign:
    """The target's RTL build; ``overrides`` adds or replaces -G parameters (e.g. a
    simulation-only memory latency a test sweeps)."""
    sim = target.spec.sim
    if sim is None:
        raise SimError(f"{target.path}: target {target.name} declares no `sim.rtl`, so it has "
                       "no RTL to run (hint: add sim: rtl: {top, sources, harness, library}; "
                       "docs/target_yaml.md)")
    rtl = sim.rtl
    params: dict[str, int] = {}
    for name, value in rtl.params.items():
        try:
            params[name] = eval_const(value, target.params)
        except ExprError as e:
            raise SimError(f"{target.path}: sim.rtl.params.{name}: {e.message}"
                           + (f" (hint: {e.hint})" if e.hint else "")) from None
    params.update(overrides or {})
    base = target.path.resolve().parent
    include = tuple(base / d for d in rtl.include)
    for i, d in enumerate(include):
        if not d.is_dir():
            raise SimError(f"{target.path}: sim.rtl.include[{i}]: {str(d)!r} is not a "
                           "directory (hint: paths are relative to target.yaml)")
    sources = [p for p in _globbed(target, "sources", rtl.sources, True)
               if p.suffix in (".sv", ".v")]
    return RtlDesign(target.name, rtl.top, tuple(sources),
                     tuple(_globbed(target, "lint", rtl.lint, True)),
                     tuple(_globbed(target, "harness", rtl.harness, True)), include,
                     tuple(params.items()), rtl.library)


def build_design(design: RtlDesign, jobs: int = 2) -> Path:
    """Verilate and compile the design with its harness into design.library (cached)."""

    def build(tmp: Path) -> None:
        args = [
            "--cc", "--exe", "--build", "-j", str(jobs), "--top-module", design.top,
            *BUILD_FLAGS, *design.verilator_args(), "-CFLAGS", "-fPIC",
            *(a for d in design.include for a in ("-CFLAGS", f"-I{d}")),
            "-LDFLAGS", "-shared", "--Mdir", str(tmp / "obj"), "-o", str(tmp / design.library),
            *map(str, design.lint), *map(str, design.sources), *map(str, design.harness),
        ]
        run_verilator(args, tmp, f"the RTL library of {design.target} "
                                 f"({','.join(design.verilator_args())})")
        shutil.rmtree(tmp / "obj", ignore_errors=True)  # ~100 MB of objects per build

    return cached_build("rtl", design.key(), build, design.library)


def build_rtl_library(target: Target, overrides: Mapping[str, int] | None = None,
                      jobs: int = 2) -> Path:
    """The target's Verilated RTL + harness as a shared library (built once per content)."""
    return build_design(rtl_design(target, overrides), jobs)
