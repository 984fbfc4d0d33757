"""Bad input never hangs check-intrinsics and is reported where it happens: per case
(machine errors, the RTL watchdog, the wall-clock limit, snippets that fail), or once
with exit 2 (RTL that does not build, a configuration the device refuses, a target
without a runtime)."""

from __future__ import annotations

import pathlib
import shutil
import time

import pytest
from typer.testing import CliRunner

from tests.check.targets import REFERENCE, mutated_target
from vendor_sdk.check import CheckOptions, check_intrinsics
from vendor_sdk.cli import app
from vendor_sdk.runtime.device import DeviceError
from vendor_sdk.sim.errors import SimError
from vendor_sdk.sim.rtl import rtl_design
from vendor_sdk.target import load_target
from vendor_sdk.target.runtime_build import RuntimeBuildError


def _options(work: pathlib.Path, *only: str, **kw: object) -> CheckOptions:
    return CheckOptions(workdir=work, only=only, progress=lambda _: None,
                        **kw)  # type: ignore[arg-type]


def _cli(path: pathlib.Path, work: pathlib.Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check-intrinsics", str(path), "--workdir", str(work),
                                      *args], env={"COLUMNS": "300"})
    return result.exit_code, result.output.replace("\n", " ")


def test_failing_snippets_are_reported_per_case(tmp_path: pathlib.Path) -> None:
    path = mutated_target(tmp_path / "t", [
        # does not compile: no such driver function
        ("npu_alu({{ ctx }}, {{ deps }}, NPU_ALU_MIN", "npu_alux({{ ctx }}, {{ deps }}, "
                                                      "NPU_ALU_MIN"),
        # does not encode: the dst field has 16 bits
        ("NPU_ALU_MOV, 0, {{ D.row }}", "NPU_ALU_MOV, 0, {{ D.row }} + 70000"),
        # encodes, but the machine stops: ACC has 2048 rows
        ("NPU_ALU_MAX, 1, {{ D.row }}", "NPU_ALU_MAX, 1, {{ D.row }} + 4000"),
    ])
    report = check_intrinsics(load_target(path), _options(
        tmp_path / "w", "alu_min", "alu_mov", "alu_relu", "alu_add"))
    by = {name: [o for o in report.outcomes if o.intrinsic == name]
          for name in ("alu_min", "alu_mov", "alu_relu", "alu_add")}
    assert all(by.values()) and all(o.passed for o in by["alu_add"])
    for o in by["alu_min"]:
        assert not o.passed and "does not compile" in o.problems[0]
        assert "intrinsics.alu_min.emit" in o.problems[0] and "npu_alux" in o.problems[0]
    for o in by["alu_mov"]:
        # the glue's vsdk_check saw nothing queued; the device names the driver's reason
        assert o.problems == [o.problems[0]] and "did not build" in o.problems[0]
        assert "dst out of range" in o.problems[0]
    for o in by["alu_relu"]:
        assert len(o.problems) == 2, o.problems
        assert o.problems[0].startswith("fsim stopped: SRAM_RANGE at instruction ")
        assert o.problems[1].startswith("RTL stopped: SRAM_RANGE at instruction ")


def test_rtl_watchdog_is_reported_per_case(tmp_path: pathlib.Path) -> None:
    target = load_target(REFERENCE / "target.yaml")
    report = check_intrinsics(target, _options(tmp_path, "alu_add/min", "alu_add/max",
                                               cycle_budget=3))
    assert len(report.outcomes) == 2
    for o in report.outcomes:
        assert len(o.problems) == 1 and o.problems[0].startswith("RTL stopped: WATCHDOG"), \
            o.problems


def test_wall_clock_limit_kills_the_runs(tmp_path: pathlib.Path) -> None:
    target = load_target(REFERENCE / "target.yaml")
    start = time.perf_counter()
    report = check_intrinsics(target, _options(tmp_path, "alu_add", timeout_s=0.2))
    assert time.perf_counter() - start < 30
    assert report.outcomes and not report.passed
    for o in report.outcomes:
        assert "no result (runs killed after 0 s (wall clock))" in o.problems[-1], o.problems


def test_rtl_that_does_not_build_reports_verilators_message(tmp_path: pathlib.Path) -> None:
    rtl = tmp_path / "vendor_rtl"
    shutil.copytree(REFERENCE / "rtl", rtl)
    alu = rtl / "npu_alu.sv"
    alu.write_text(alu.read_text().replace("endmodule", "  this is not verilog;\nendmodule", 1))
    path = mutated_target(tmp_path / "t", [], rtl=rtl)
    with pytest.raises(SimError) as err:
        check_intrinsics(load_target(path), _options(tmp_path / "w", "alu_add/min"))
    assert "%Error" in str(err.value) and "npu_alu.sv" in str(err.value)
    code, output = _cli(path, tmp_path / "w", "--only", "alu_add/min")
    assert code == 2 and "%Error" in output, output


def test_vendor_rtl_sources_come_from_the_yaml(tmp_path: pathlib.Path) -> None:
    rtl = tmp_path / "vendor_rtl"
    shutil.copytree(REFERENCE / "rtl", rtl)
    target = load_target(mutated_target(tmp_path / "t", [], rtl=rtl))
    svs = rtl_design(target).sources
    assert svs and all(p.resolve().is_relative_to(rtl.resolve()) for p in svs)
    report = check_intrinsics(target, _options(tmp_path / "w", "alu_add/min", "gemm_i8_i32/max"))
    assert report.passed and len(report.outcomes) == 2


def test_configuration_the_device_refuses(tmp_path: pathlib.Path) -> None:
    # The reference driver's fsim takes DIM 4..64, powers of two: 6 stops before any case.
    path = mutated_target(tmp_path / "t", [("DIM: 8", "DIM: 6")])
    with pytest.raises(DeviceError, match="dim=6 must be"):
        check_intrinsics(load_target(path), _options(tmp_path / "w", "alu_add/min"))
    code, output = _cli(path, tmp_path / "w", "--only", "alu_add/min")
    assert code == 2 and "cannot open backend 'fsim'" in output and "dim=6" in output, output


def test_target_without_a_runtime(tmp_path: pathlib.Path) -> None:
    text = (REFERENCE / "target.yaml").read_text()
    # runtime:, movement:, counters: and peak_macs_per_cycle describe the runtime library
    cut = text[text.index("\nruntime:"):text.index("\n# The RTL as")]
    path = mutated_target(tmp_path / "t", [(cut, "")])
    with pytest.raises(RuntimeBuildError, match="declares no runtime"):
        check_intrinsics(load_target(path), _options(tmp_path / "w", "alu_add/min"))
    code, output = _cli(path, tmp_path / "w", "--only", "alu_add/min")
    assert code == 2 and "declares no runtime" in output and "runtime:" in output, output
