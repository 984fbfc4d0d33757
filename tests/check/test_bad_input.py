"""Bad input never hangs check-intrinsics and is reported where it happens: per case
(machine errors, watchdog, killed simulation, snippets that fail), or once (RTL that
does not build, a configuration the RTL cannot have)."""

from __future__ import annotations

import pathlib
import shutil
import time

import pytest
from typer.testing import CliRunner

from tests.check.targets import REFERENCE, mutated_target
from vendor_sdk.check import CheckOptions, check_intrinsics
from vendor_sdk.check.rtl import design_for, rtl_params
from vendor_sdk.check.staging import CheckError
from vendor_sdk.cli import app
from vendor_sdk.sim.errors import SimError
from vendor_sdk.target import load_target


def _options(work: pathlib.Path, *only: str, **kw: object) -> CheckOptions:
    return CheckOptions(workdir=work, only=only, waves=0, progress=lambda _: None,
                        **kw)  # type: ignore[arg-type]


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
    assert all(o.passed for o in by["alu_add"])
    for o in by["alu_min"]:
        assert not o.passed and "does not compile" in o.problems[0]
        assert "intrinsics.alu_min.emit" in o.problems[0] and "npu_alux" in o.problems[0]
    for o in by["alu_mov"]:
        assert o.problems == [o.problems[0]] and "call failed" in o.problems[0]
        assert "dst out of range" in o.problems[0]
    for o in by["alu_relu"]:
        # the emit is instruction 1 (after LOAD ACC), 2 in the timing case (after a SYNC)
        pc = 2 if o.case == "timing" else 1
        assert o.problems == [f"fsim stopped with SRAM_RANGE at instruction {pc}",
                              f"RTL stopped with SRAM_RANGE at instruction {pc}"], o.problems


def test_watchdog_is_reported_per_case(tmp_path: pathlib.Path) -> None:
    target = load_target(REFERENCE / "target.yaml")
    report = check_intrinsics(target, _options(tmp_path, "alu_add/min", "alu_add/max",
                                               cycle_budget=3))
    assert len(report.outcomes) == 2
    for o in report.outcomes:
        assert o.problems == ["RTL stopped with WATCHDOG"], o.problems


def test_wall_clock_limit_kills_the_simulation(tmp_path: pathlib.Path) -> None:
    target = load_target(REFERENCE / "target.yaml")
    start = time.perf_counter()
    report = check_intrinsics(target, _options(tmp_path, "alu_add", timeout_s=0.2))
    assert time.perf_counter() - start < 30
    assert report.outcomes and not report.passed
    for o in report.outcomes:
        assert "simulation killed after 0 s (wall clock)" in o.problems[-1], o.problems


def test_rtl_that_does_not_build_reports_verilators_message(tmp_path: pathlib.Path) -> None:
    rtl = tmp_path / "vendor_rtl"
    shutil.copytree(REFERENCE / "rtl", rtl)
    alu = rtl / "npu_alu.sv"
    alu.write_text(alu.read_text().replace("endmodule", "  this is not verilog;\nendmodule", 1))
    path = mutated_target(tmp_path / "t", [], rtl=rtl)
    with pytest.raises(SimError) as err:
        check_intrinsics(load_target(path), _options(tmp_path / "w", "alu_add/min"))
    assert "%Error" in str(err.value) and "npu_alu.sv" in str(err.value)
    result = CliRunner().invoke(app, ["check-intrinsics", str(path), "--only", "alu_add/min",
                                      "--workdir", str(tmp_path / "w")],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "%Error" in result.output, result.output


def test_vendor_rtl_sources_come_from_the_yaml(tmp_path: pathlib.Path) -> None:
    rtl = tmp_path / "vendor_rtl"
    shutil.copytree(REFERENCE / "rtl", rtl)
    target = load_target(mutated_target(tmp_path / "t", [], rtl=rtl))
    design = design_for(target, rtl_params(target))
    svs = [p for p in design.sources if p.suffix == ".sv"]
    assert svs and all(p.is_relative_to(rtl.resolve()) for p in svs)
    report = check_intrinsics(target, _options(tmp_path / "w", "alu_add/min", "gemm_i8_i32/max"))
    assert report.passed and len(report.outcomes) == 2


@pytest.mark.parametrize(("edit", "message"), [
    (("DIM: 8", "DIM: 32"), "dim must be 4, 8 or 16"),
    (("LUT_ROWS: LUT_ROWS}", "LUT_ROWS: LUT_ROWS, FIFO_DEPTH: 4}"),
     "sim.rtl.params.FIFO_DEPTH: the npu_sim_top harness has no such parameter"),
])
def test_configurations_the_rtl_cannot_have(tmp_path: pathlib.Path, edit: tuple[str, str],
                                            message: str) -> None:
    path = mutated_target(tmp_path / "t", [edit])
    with pytest.raises(CheckError, match=message):
        check_intrinsics(load_target(path), _options(tmp_path / "w"))
    result = CliRunner().invoke(app, ["check-intrinsics", str(path), "--workdir",
                                      str(tmp_path / "w")], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and message in result.output.replace("\n", ""), result.output
