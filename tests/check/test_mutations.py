"""Mutation tests: a target whose YAML disagrees with the hardware is caught.

One copy of the reference target carries every mutation, each on a different
intrinsic, and runs once through the CLI; the mutated intrinsics must fail (exit 1)
on fsim AND on the RTL, with the failing cases named and written out; the untouched
ones must still pass.
"""

from __future__ import annotations

import json
import pathlib
import shlex
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner, Result

from tests.check.targets import mutated_target
from vendor_sdk.cli import app

# intrinsic -> (what is wrong, (old, new), the result operand every failure names)
MUTATIONS: dict[str, tuple[str, tuple[str, str], str]] = {
    "requant_i32_i8_pc": ("semantics: rounding mode half_even instead of half_up",
                          ("shift[c], half_up)", "shift[c], half_even)"), "Y"),
    "alu_sub": ("semantics: swapped operands",
                ('"D[m,c] = D[m,c] - S[m,c]"', '"D[m,c] = S[m,c] - D[m,c]"'), "D"),
    "alu_shr_round_imm": ("semantics: shift one too far",
                          ("rshift_round(D[m,c], imm, half_up)",
                           "rshift_round(D[m,c], imm + 1, half_up)"), "D"),
    "gemm_i8_i32": ("emit: outer and inner input strides swapped",
                    ("{{ A.fo }}, {{ A.fi }}", "{{ A.fi }}, {{ A.fo }}"), "C"),
    "requant_i32_i8": ("emit: per-channel flag set on the per-tensor form",
                       ("{{ Y.fi }}, 0, 0);", "{{ Y.fi }}, 1, 0);"), "Y"),
    "alu_add": ("emit: destination and source rows swapped",
                ("NPU_ALU_ADD, 0, {{ D.row }}, {{ S.row }}",
                 "NPU_ALU_ADD, 0, {{ S.row }}, {{ D.row }}"), "D"),
}
CONTROLS = ("alu_mul", "alu_min", "alu_mov", "alu_add_imm")


@dataclass(frozen=True)
class Run:
    path: pathlib.Path
    work: pathlib.Path
    result: Result
    failed: dict[str, str]   # case id -> its JUnit failure text
    passed: set[str]


def _cases(junit: pathlib.Path) -> tuple[dict[str, str], set[str]]:
    failed, passed = {}, set()
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    for case in suite.findall("testcase"):
        intrinsic = case.get("classname", "").split(".", 1)[1]
        cid = f"{intrinsic}/{case.get('name')}"
        bad = case.find("failure")
        if bad is None:
            passed.add(cid)
        else:
            failed[cid] = bad.text or ""
    return failed, passed


@pytest.fixture(scope="module")
def mutated(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("mutated")
    path = mutated_target(base / "target", [edit for _, edit, _ in MUTATIONS.values()])
    work = base / "work"
    args = ["check-intrinsics", str(path), "--workdir", str(work)]
    for name in (*MUTATIONS, *CONTROLS):
        args += ["--only", name]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    return Run(path, work, result, *_cases(work / "junit.xml"))


def test_mutated_target_exits_1_and_names_every_failing_case(mutated: Run) -> None:
    assert mutated.result.exit_code == 1, mutated.result.output
    assert mutated.failed
    for cid in mutated.failed:
        assert f"FAIL {cid}\n" in mutated.result.output


@pytest.mark.parametrize("intrinsic", sorted(MUTATIONS))
def test_mutation_is_caught_on_fsim_and_rtl(intrinsic: str, mutated: Run) -> None:
    what, _, result = MUTATIONS[intrinsic]
    failing = {cid: text for cid, text in mutated.failed.items()
               if cid.split("/")[0].split(".")[0] == intrinsic}
    assert failing, f"{intrinsic}: mutation not caught ({what})"
    for cid, text in failing.items():
        # the first differing element, on both backends
        assert f"fsim: {result}[" in text and f"RTL: {result}[" in text, text
        assert "elements differ" in text
        case_dir = mutated.work / "cases" / cid.replace("/", "__")
        details = (case_dir / "failure.txt").read_text()
        assert "expected" in details and "input " in details and "RTL gave" in details
        assert f"--only {cid}" in details
        data = json.loads((case_dir / "failure.json").read_text())
        assert data["id"] == cid and data["expected"] is not None
        assert data["fsim"] is not None and data["rtl"] is not None
        c_file = pathlib.Path(data["source"])  # the C under test, kept with the case
        assert "vsdk_exec(rt, n_, acc_)" in c_file.read_text()


def test_untouched_intrinsics_still_pass(mutated: Run) -> None:
    for name in CONTROLS:
        ours = [c for c in mutated.passed if c.split("/")[0] == name]
        assert ours and not [c for c in mutated.failed if c.split("/")[0] == name], name


def test_printed_command_reruns_exactly_that_case(mutated: Run) -> None:
    case = next(c for c in sorted(mutated.failed) if c.startswith("alu_sub/"))
    line = next(ln for ln in mutated.result.output.splitlines()
                if ln.strip().startswith("re-run:") and f"--only {case} " in ln)
    argv = shlex.split(line.split("re-run:", 1)[1])
    assert argv[0] == "vendor-sdk"
    result = CliRunner().invoke(app, argv[1:], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert f"FAIL {case}" in result.output and "1 cases: 1 failed" in result.output


def test_a_snippet_without_deps_is_refused_before_it_runs(tmp_path: pathlib.Path) -> None:
    """With runtime.sync: tokens, a snippet that never mentions {{ deps }} cannot carry the
    glue's tokens: validate (and so check-intrinsics) refuses it at the snippet."""
    path = mutated_target(tmp_path / "t", [("npu_gemm({{ ctx }}, {{ deps }},",
                                            "npu_gemm({{ ctx }}, 0,")])
    result = CliRunner().invoke(app, ["check-intrinsics", str(path), "--only",
                                      "gemm_i8_i32.init", "--workdir", str(tmp_path / "w")],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "intrinsics.gemm_i8_i32.emit" in flat and "does not use {{ deps }}" in flat, flat


def test_dropped_dependency_mask_is_caught_on_the_rtl(tmp_path: pathlib.Path) -> None:
    """fsim runs in order, so a GEMM snippet that drops the dependency bits still computes
    the right values there; on the RTL the GEMM no longer waits for the load unit and reads
    rows that have not arrived. Only running both catches it. (The snippet mentions deps,
    so the static check above passes it: it is dropped at render time.)"""
    path = mutated_target(tmp_path / "t", [("npu_gemm({{ ctx }}, {{ deps }},",
                                            "npu_gemm({{ ctx }}, {{ deps if false else 0 }},")])
    work = tmp_path / "w"
    result = CliRunner().invoke(app, ["check-intrinsics", str(path), "--only",
                                      "gemm_i8_i32.init", "--workdir", str(work)],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    failed, _ = _cases(work / "junit.xml")
    assert failed
    for cid, text in failed.items():
        assert f"FAIL {cid}\n" in result.output
        assert "RTL: C[" in text and "fsim" not in text, text
