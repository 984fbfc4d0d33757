"""The RTL a target's `sim:` section names, built once and driven by cocotb.

The hardware configuration comes from the target (memories, params, and the
`sim.rtl.params` overrides); the sources from `sim.rtl.sources`, or the
reference RTL for a target without a `sim:` section. The design is wrapped
by the reference npu_sim_top (DPI memory model, register port) unless the
sources bring their own. All cases replay in one simulator process; that
process runs in its own session under a wall-clock limit, so nothing hangs.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from reference_npu import RTL_DIR
from reference_npu.sim import (
    DEFAULT_PARAMS,
    SIM_TOP,
    RtlParams,
    lint_vlt,
    npu_cocotb_design,
    rtl_sources,
)
from vendor_sdk.check.staging import CheckError
from vendor_sdk.intrinsics.check import eval_const
from vendor_sdk.intrinsics.lang import ExprError
from vendor_sdk.sim.cocotb_run import CocotbDesign, build_cocotb, run_cocotb
from vendor_sdk.target import Target

TESTBENCH = "vendor_sdk.check.tb_replay"
_MODULE = re.compile(r"^\s*(?:module|package)\s+(\w+)", re.MULTILINE)
# memory role -> the npu_sim_top harness's <name>_rows parameter (the names are the vendor's)
_MEMORY_PARAMS = {"input": "inp", "weight": "wgt", "accumulator": "acc", "output": "out",
                  "param": "qp", "table": "lut"}


def rtl_params(target: Target) -> RtlParams:
    """The configuration to build: memories and DIM of the target, then sim.rtl.params."""
    fields = {f.name: getattr(DEFAULT_PARAMS, f.name) for f in dataclasses.fields(RtlParams)}
    for mem in target.memories.values():
        if mem.role in _MEMORY_PARAMS:
            fields[f"{_MEMORY_PARAMS[mem.role]}_rows"] = mem.rows
    inp = target.memory("input")
    if "DIM" in target.params:
        fields["dim"] = target.params["DIM"]
    elif inp is not None:
        fields["dim"] = inp.row_elems
    sim = target.spec.sim
    for name, value in (sim.rtl.params.items() if sim else ()):
        field = name.lower()
        if field not in fields:
            raise CheckError(f"sim.rtl.params.{name}: the npu_sim_top harness has no such "
                             f"parameter (known: {', '.join(n.upper() for n in fields)})")
        try:
            fields[field] = eval_const(value, target.params)
        except ExprError as e:
            raise CheckError(f"sim.rtl.params.{name}: {e}") from None
    try:
        return RtlParams(**fields)
    except ValueError as e:
        raise CheckError(f"{target.name}: cannot build this configuration: {e}") from None


def rtl_sources_of(target: Target) -> list[pathlib.Path]:
    """SystemVerilog sources in compile order: packages first, then modules by name."""
    sim = target.spec.sim
    if sim is None:
        return rtl_sources()
    base = target.path.parent
    found = {p.resolve() for pattern in sim.rtl.sources for p in base.glob(pattern)
             if p.suffix in (".sv", ".v", ".svh")}
    if not found:
        raise CheckError(f"sim.rtl.sources of {target.name} match no SystemVerilog file")
    files = sorted(found, key=lambda p: (not p.name.endswith("_pkg.sv"), p.name))
    defined = {m for p in files for m in _MODULE.findall(p.read_text(errors="replace"))}
    if SIM_TOP not in defined:
        # Wrap the vendor's top in the reference harness; it instantiates npu_top.
        if sim.rtl.top != "npu_top":
            raise CheckError(f"sim.rtl.top is {sim.rtl.top!r}: the reference harness "
                             f"{SIM_TOP} instantiates npu_top; rename the top or add your "
                             f"own {SIM_TOP} to the sources")
        files.append(RTL_DIR / f"{SIM_TOP}.sv")
        if "npu_isa_pkg" not in defined:
            files.insert(0, RTL_DIR / "npu_isa_pkg.sv")
    return files


@functools.cache
def waveform_format() -> str:
    """"fst" when Verilator's FST writer can be compiled (it needs the lz4 headers,
    e.g. Debian's liblz4-dev), else "vcd", which needs nothing."""
    probe = subprocess.run(["g++", "-E", "-x", "c++", "-"], input="#include <lz4.h>\n",
                           capture_output=True, text=True, check=False)
    return "fst" if probe.returncode == 0 else "vcd"


def design_for(target: Target, params: RtlParams, waves: str = "") -> CocotbDesign:
    sources = rtl_sources_of(target)
    dirs = sorted({p.parent for p in sources})
    vlt = [v for d in dirs for v in lint_vlt(d)]
    # Same shape as the reference testbenches' design, so the build cache is shared.
    return dataclasses.replace(npu_cocotb_design(params),
                               sources=(*vlt, RTL_DIR / "npu_cocotb.vlt", *sources), waves=waves)


def build(design: CocotbDesign) -> pathlib.Path:
    """Builds (cached); a failing build raises SimError with Verilator's messages."""
    return build_cocotb(design)


@dataclass(frozen=True, slots=True)
class SimRun:
    """How one simulator process ended (per-case results are in the run directories)."""

    returncode: int | None   # None: killed at the wall-clock limit
    seconds: float
    log_tail: tuple[str, ...]
    timed_out: bool


def replay(design: CocotbDesign, cases: Sequence[dict[str, object]], test_dir: pathlib.Path,
           timeout_s: float) -> SimRun:
    """Replays `cases` ({"id", "run_dir", "max_cycles"}) in one simulation."""
    import time

    test_dir.mkdir(parents=True, exist_ok=True)
    (test_dir / "cases.json").write_text(json.dumps(list(cases)))
    request = test_dir / "request.pkl"
    request.write_bytes(pickle.dumps((design, str(test_dir))))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "vendor_sdk.check.rtl", str(request)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the simulator is in the same session
        out, _ = proc.communicate()
        code = None
    (test_dir / "runner.log").write_text(out)
    log = test_dir / "sim.log"
    tail = log.read_text(errors="replace").splitlines()[-12:] if log.exists() else []
    return SimRun(code, time.perf_counter() - start, tuple(tail or out.splitlines()[-12:]),
                  code is None)


def _main(request: pathlib.Path) -> int:
    design, test_dir = pickle.loads(request.read_bytes())
    test_dir = pathlib.Path(test_dir)
    env = {"CHECK_CASES": str(test_dir / "cases.json"),
           "NPU_DRAM_IN": str(test_dir / "dram_in.bin"),
           "NPU_INSNS_IN": str(test_dir / "insns.bin"),
           "NPU_DRAM_OUT": str(test_dir / "dram_out.bin")}
    result = run_cocotb(design, TESTBENCH, test_dir, extra_env=env)
    for failure in result.failures:
        print(f"testbench failure: {failure}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(_main(pathlib.Path(sys.argv[1])))
