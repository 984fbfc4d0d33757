"""Run cocotb testbenches on Verilator with one cached build per configuration.

Speed fixes measured on these machines (see docs/toolchain notes):
- cocotb's runner passes --public-flat-rw, which makes every signal
  VPI-visible and the model several times slower; `LeanVerilator` drops it
  and the design exposes only its ports through a .vlt file;
- testbenches should use Clock(..., impl="gpi") and move memory images
  through DPI or files, never signal by signal.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cocotb_tools.runner import Verilator

from vendor_sdk.sim.build import cached_build, source_hash
from vendor_sdk.sim.errors import SimError, verilator_diagnostics
from vendor_sdk.sim.toolchain import (
    OPT_MAKEFLAGS,
    PCH_MAKEFLAGS,
    apply_to_process,
    verilator_version,
)


def _cocotb_libs() -> pathlib.Path:
    import cocotb_tools.config

    return pathlib.Path(cocotb_tools.config.libs_dir)


class LeanVerilator(Verilator):
    """cocotb's Verilator runner without --public-flat-rw, with a bounded make -j."""

    jobs = 2

    def _build_command(self) -> list[list[str]]:
        cmds = super()._build_command()
        verilate, make = list(cmds[0]), list(cmds[1])
        verilate.remove("--public-flat-rw")
        if "-j" in make:
            make[make.index("-j") + 1] = str(self.jobs)
        return [verilate, make]


@dataclass(frozen=True, slots=True)
class CocotbDesign:
    """An HDL design to run testbenches on: sources, top, parameters, extra C++."""

    toplevel: str
    sources: tuple[pathlib.Path, ...]          # .sv and .vlt, in compile order
    parameters: tuple[tuple[str, object], ...] = ()
    cpp_sources: tuple[pathlib.Path, ...] = ()  # DPI implementations
    include_dirs: tuple[pathlib.Path, ...] = ()
    extra_args: tuple[str, ...] = ()
    waves: str = ""  # "fst" or "vcd": tracing compiled in; runs write dump.<fmt> in test_dir

    def key(self) -> str:
        cpp = [*self.cpp_sources, *(h for d in self.include_dirs for h in sorted(d.glob("*.h")))]
        # Only a waves build adds to the key, so existing cached builds stay valid.
        waves = (f"waves-{self.waves}",) if self.waves else ()
        # The build links cocotb's VPI library by absolute path (its runpath): a build
        # made by another cocotb installation (another venv, another checkout) cannot load.
        return source_hash([*self.sources, *cpp], self.toplevel, repr(self.parameters),
                           " ".join(self.extra_args), verilator_version(), PCH_MAKEFLAGS,
                           OPT_MAKEFLAGS, "cocotb", *waves, str(_cocotb_libs()))


def build_cocotb(design: CocotbDesign) -> pathlib.Path:
    """Builds (once per design key) and returns the cocotb simulation build directory."""
    apply_to_process()

    def build(tmp: pathlib.Path) -> None:
        runner = LeanVerilator()
        cflags = [arg for d in design.include_dirs for arg in ("-CFLAGS", f"-I{d}")]
        try:
            runner.build(
                sources=list(design.sources), hdl_toplevel=design.toplevel,
                parameters=dict(design.parameters), build_dir=tmp / "build",
                build_args=[*design.extra_args, *(["--trace-fst"] if design.waves == "fst" else []),
                            *cflags, *map(str, design.cpp_sources)],
                log_file=tmp / "build.log", timescale=("1ns", "1ps"), waves=bool(design.waves),
            )
        except (SystemExit, Exception) as exc:
            log = (tmp / "build.log").read_text() if (tmp / "build.log").exists() else ""
            raise SimError(f"cocotb build of {design.toplevel} failed: {exc}",
                           verilator_diagnostics(log)) from None
        # Only the simulator executable is needed to run tests; the objects are
        # ~100 MB per configuration.
        for item in (tmp / "build").iterdir():
            if item.is_dir():
                shutil.rmtree(item)
            elif item.name != design.toplevel:
                item.unlink()
        (tmp / "built").write_text(design.toplevel)

    return cached_build("cocotb", design.key(), build, "built").parent / "build"


@dataclass(frozen=True, slots=True)
class CocotbResult:
    tests: int
    failures: tuple[str, ...]   # "name: message" of each failed test
    results_xml: pathlib.Path


def run_cocotb(
    design: CocotbDesign, test_module: str, test_dir: pathlib.Path,
    module_dirs: Sequence[pathlib.Path] = (), testcase: str | Sequence[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> CocotbResult:
    """Runs testbench module `test_module` (found in module_dirs) on `design`.

    Results and logs go to test_dir; the build is shared (build_cocotb).
    """
    build_dir = build_cocotb(design)
    runner = LeanVerilator()
    # The runner hands the simulator PYTHONPATH = sys.path at test() time.
    saved = list(sys.path)
    sys.path[:0] = [str(d) for d in module_dirs]
    try:
        results = runner.test(
            test_module=test_module, hdl_toplevel=design.toplevel, hdl_toplevel_lang="verilog",
            build_dir=build_dir, test_dir=test_dir, testcase=testcase,
            extra_env=dict(extra_env or {}), results_xml=str(test_dir / "results.xml"),
            log_file=test_dir / "sim.log", timescale=("1ns", "1ps"), waves=bool(design.waves),
        )
    except SystemExit:
        # the runner exits when the simulator dies before writing results
        results = test_dir / "results.xml"
    finally:
        sys.path[:] = saved
    return _read_results(pathlib.Path(results), test_dir / "sim.log")


def _read_results(path: pathlib.Path, log: pathlib.Path) -> CocotbResult:
    if not path.is_file():
        tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
        raise SimError(f"simulation ended without results ({path} missing)", tuple(tail))
    tests, failures = 0, []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        tests += 1
        for bad in (*case.findall("failure"), *case.findall("error")):
            failures.append(f"{case.get('name')}: {bad.get('message', '')}")
    return CocotbResult(tests, tuple(failures), path)
