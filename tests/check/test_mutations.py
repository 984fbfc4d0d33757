"""Mutation tests: a target whose YAML disagrees with the hardware is caught.

One copy of the reference target carries every mutation, each on a different
intrinsic, and runs once (one RTL simulation); the mutated intrinsics must
fail with the failing case written out, the untouched ones must still pass.
"""

from __future__ import annotations

import json
import pathlib
import shlex

import pytest
from typer.testing import CliRunner

from tests.check.targets import mutated_target
from vendor_sdk.check import CheckOptions, CheckReport, check_intrinsics
from vendor_sdk.cli import app
from vendor_sdk.target import load_target

# intrinsic -> (what is wrong, (old, new), text every failing case must show)
MUTATIONS: dict[str, tuple[str, tuple[str, str], str]] = {
    "requant_i32_i8_pc": ("semantics: rounding mode half_even instead of half_up",
                          ("shift[c], half_up)", "shift[c], half_even)"), "Y["),
    "alu_sub": ("semantics: swapped operands",
                ('"D[m,c] = D[m,c] - S[m,c]"', '"D[m,c] = S[m,c] - D[m,c]"'), "D["),
    "alu_shr_round_imm": ("semantics: shift one too far",
                          ("rshift_round(D[m,c], imm, half_up)",
                           "rshift_round(D[m,c], imm + 1, half_up)"), "D["),
    "gemm_i8_i32": ("emit: outer and inner input strides swapped",
                    ("{{ A.fo }}, {{ A.fi }}", "{{ A.fi }}, {{ A.fo }}"), "C["),
    "requant_i32_i8": ("emit: per-channel flag set on the per-tensor form",
                       ("{{ Y.fi }}, 0, 0);", "{{ Y.fi }}, 1, 0);"), "Y["),
    "alu_add": ("emit: destination and source rows swapped",
                ("NPU_ALU_ADD, 0, {{ D.row }}, {{ S.row }}",
                 "NPU_ALU_ADD, 0, {{ S.row }}, {{ D.row }}"), "D["),
    "alu_max": ("emit: dependency mask dropped (the STORE waits for a token forever)",
                ("npu_alu({{ ctx }}, {{ deps }}, NPU_ALU_MAX, 0",
                 "npu_alu({{ ctx }}, 0, NPU_ALU_MAX, 0"), "DEADLOCK"),
}
CONTROLS = ("alu_mul", "alu_min", "alu_mov", "alu_add_imm")


@pytest.fixture(scope="module")
def mutated(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, CheckReport]:
    base = tmp_path_factory.mktemp("mutated")
    path = mutated_target(base / "target", [edit for _, edit, _ in MUTATIONS.values()])
    options = CheckOptions(workdir=base / "work", only=(*MUTATIONS, *CONTROLS),
                           target_spec=str(path), waves=1, progress=lambda _: None)
    return path, check_intrinsics(load_target(path), options)


@pytest.mark.parametrize("intrinsic", sorted(MUTATIONS))
def test_mutation_is_caught_with_the_failing_case_shown(
        intrinsic: str, mutated: tuple[pathlib.Path, CheckReport]) -> None:
    _, report = mutated
    _, _, shows = MUTATIONS[intrinsic]
    outcomes = [o for o in report.outcomes if o.intrinsic == intrinsic]
    failing = [o for o in outcomes if not o.passed]
    assert failing, f"{intrinsic}: mutation not caught ({MUTATIONS[intrinsic][0]})"
    for o in failing:
        assert any(shows in p for p in o.problems), o.problems
        text = report.failure_files[o.id].read_text()
        assert "expected" in text and "input " in text and o.problems[0] in text
        assert f"--only {o.id}" in report.reruns[o.id] and report.reruns[o.id] in text
        data = json.loads((o.case_dir / "failure.json").read_text())  # type: ignore[operator]
        assert data["id"] == o.id and data["expected"] is not None
    if shows != "DEADLOCK":  # a value mismatch names the first differing element
        assert any("expected" in p and "elements differ" in p for o in failing
                   for p in o.problems)


def test_untouched_intrinsics_still_pass(mutated: tuple[pathlib.Path, CheckReport]) -> None:
    _, report = mutated
    for name in CONTROLS:
        outcomes = [o for o in report.outcomes if o.intrinsic == name]
        assert outcomes and all(o.passed for o in outcomes), name


def test_first_failure_keeps_a_waveform(mutated: tuple[pathlib.Path, CheckReport]) -> None:
    _, report = mutated
    with_waves = [o for o in report.outcomes if o.waves is not None]
    assert len(with_waves) == 1
    assert with_waves[0].waves.stat().st_size > 1000  # type: ignore[union-attr]


def test_printed_command_reruns_exactly_that_case(
        mutated: tuple[pathlib.Path, CheckReport]) -> None:
    _, report = mutated
    case = next(o.id for o in report.outcomes if o.intrinsic == "alu_sub" and not o.passed)
    argv = shlex.split(report.reruns[case])
    assert argv[0] == "vendor-sdk"
    result = CliRunner().invoke(app, [*argv[1:], "--waves", "0"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert f"FAIL {case}" in result.output and "1 cases: 1 failed" in result.output
