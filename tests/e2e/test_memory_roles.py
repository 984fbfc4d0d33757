"""Memories are found by role, never by name (issue 13): the reference target with every
memory renamed validates, compiles to the same program and runs bit-identically.

Before roles, renaming `acc` made `compile` die with KeyError: 'acc' and renaming `inp`
sent every layer to the host. The copy here renames all six memories and every `scope:`
that names them; only comments and buffer names in the generated C may differ.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from target_copies import RENAMES, renamed_text
from typer.testing import CliRunner

from reference_npu import __file__ as ref_init
from vendor_sdk.cli import app
from vendor_sdk.compile import compile_model
from vendor_sdk.runtime.compare import model_inputs, run_compiled

REF_DIR = Path(ref_init).parent
LOCATED = re.compile(r"(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): ")


def _cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*map(str, args)])
    return result.exit_code, result.output


def _target_dir(dst: Path, text: str) -> Path:
    dst.mkdir(parents=True)
    shutil.copytree(REF_DIR / "templates", dst / "templates")
    (dst / "rtl").symlink_to(REF_DIR / "rtl")
    (dst / "driver").symlink_to(REF_DIR / "driver")
    (dst / "target.yaml").write_text(text)
    return dst / "target.yaml"


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _target_dir(tmp_path_factory.mktemp("renamed") / "npu", renamed_text())


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The CNN and MLP examples, quantized by onnxruntime through `vendor-sdk quantize`."""
    from vendor_sdk.runtime.examples import cnn, mlp

    d = tmp_path_factory.mktemp("models")
    out = {}
    for name, make in (("cnn", cnn), ("mlp", mlp)):
        src = make(d / f"{name}.onnx")
        code, output = _cli("quantize", src, "-o", d / f"{name}.int8.onnx", "--random", "2")
        assert code == 0, output
        out[name] = d / f"{name}.int8.onnx"
    return out


def test_renamed_target_validates(renamed: Path) -> None:
    code, output = _cli("validate", renamed)
    assert code == 0, output
    rows = {ln.split("│")[1].strip(): ln.split("│")[2].strip()
            for ln in output.split("Intrinsics")[0].splitlines() if ln.count("│") >= 6}
    assert rows == {"ifmap": "input", "weights": "weight", "accum": "accumulator",
                    "ofmap": "output", "descr": "param", "table": "table"}, output


def _normalized_c(build: Path) -> dict[str, str]:
    """The generated C with the renamed memories' names put back (they only appear in
    comments and buffer names); everything else must be byte for byte the same."""
    back = {new: old for old, new in RENAMES.items()}
    word = re.compile(r"\b(" + "|".join(back) + r")\b|_(" + "|".join(back) + r")\b")
    out = {}
    for f in sorted(build.glob("*.c")):
        text = f.read_text()
        out[f.name] = word.sub(lambda m: back[m[1]] if m[1] else "_" + back[m[2]], text)
    return out


@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_renamed_target_compiles_the_same_program(model: str, renamed: Path,
                                                  quantized: dict[str, Path],
                                                  tmp_path: Path) -> None:
    builds = {}
    for name, target in (("ref", "reference_npu"), ("ren", str(renamed))):
        builds[name] = tmp_path / name
        code, output = _cli("compile", quantized[model], "--target", target,
                            "-o", builds[name])
        assert code == 0, output
    ref, ren = _normalized_c(builds["ref"]), _normalized_c(builds["ren"])
    assert ref and ref.keys() == ren.keys()
    for name in ref:
        assert ref[name] == ren[name], name
    for blob in builds["ref"].glob("*.bin"):  # the constants images
        assert blob.read_bytes() == (builds["ren"] / blob.name).read_bytes(), blob.name


@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_renamed_target_runs_bit_identically_on_fsim(model: str, renamed: Path,
                                                     quantized: dict[str, Path]) -> None:
    reports = {}
    for name, target in (("ref", "reference_npu"), ("ren", str(renamed))):
        code, output = _cli("run", quantized[model], "--target", target)
        assert code == 0, output
        assert "all agree" in output, output
        reports[name] = output
    offloaded = re.search(r"offloaded: (\d+)/(\d+)", reports["ren"])
    assert offloaded and int(offloaded[1]) > 0, reports["ren"]
    # same offloaded count, cycles, instruction counts and check verdicts, line for line
    assert reports["ren"] == reports["ref"]
    feeds = model_inputs(quantized[model], 1, 0)
    outs = [run_compiled(compile_model(quantized[model], t, {"N": 1}), quantized[model],
                         feeds, "fsim", check="output").outputs
            for t in ("reference_npu", str(renamed))]
    assert len(outs[0]) == len(outs[1]) > 0
    for a, b in zip(*outs, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_renamed_target_runs_bit_identically_on_rtl(renamed: Path,
                                                    quantized: dict[str, Path]) -> None:
    model = quantized["mlp"]
    code, output = _cli("run", model, "--target", renamed, "--backend", "rtl")
    assert code == 0, output
    assert "all agree" in output and "offloaded: 6/6" in output, output
    feeds = model_inputs(model, 1, 0)
    rtl = run_compiled(compile_model(model, str(renamed), {"N": 1}), model, feeds, "rtl",
                       check="output").outputs
    ref = run_compiled(compile_model(model, "reference_npu", {"N": 1}), model, feeds, "fsim",
                       check="output").outputs
    assert len(rtl) == len(ref) > 0
    for a, b in zip(rtl, ref, strict=True):
        assert np.array_equal(a, b)


def _errors(tmp_path: Path, text: str) -> tuple[list[re.Match[str]], str]:
    f = _target_dir(tmp_path / "bad", text)
    code, output = _cli("validate", f)
    assert code == 2, output
    assert "Traceback" not in output and "hint:" in output, output
    return [m for m in LOCATED.finditer(output) if m["file"] == str(f)], output


def _line_of(text: str, needle: str) -> int:
    return text.count("\n", 0, text.index(needle)) + 1


def test_memory_without_a_role_is_a_located_error(tmp_path: Path) -> None:
    text = renamed_text().replace("role: accumulator, ", "", 1)
    found, output = _errors(tmp_path, text)
    line = _line_of(text, "  accum: {")
    assert any(m["path"] == "memories.accum" and int(m["line"]) == line for m in found), output
    assert "has no `role`" in output


def test_unknown_role_is_a_located_error(tmp_path: Path) -> None:
    text = renamed_text().replace("role: accumulator", "role: accumulater", 1)
    found, output = _errors(tmp_path, text)
    line = _line_of(text, "accumulater")
    assert any(m["path"] == "memories.accum.role" and int(m["line"]) == line
               for m in found), output
    assert "accumulator" in output  # the hint names the role meant


def test_role_the_patterns_need_and_duplicate_role_are_errors(tmp_path: Path) -> None:
    # the descriptor memory declared a table: two tables, and nothing holds descriptors
    text = renamed_text().replace("role: param", "role: table", 1)
    found, output = _errors(tmp_path, text)
    flat = " ".join(output.split())
    assert any(m["path"] == "memories.table.role" for m in found), output  # the second
    assert "both have role 'table'" in flat, output
    assert "no memory has role 'param'" in flat and "conv2d_bias_relu" in flat, output
    assert any(m["path"] == "memories" for m in found), output


def test_memories_without_role_and_id_are_located_errors(tmp_path: Path) -> None:
    """No defaults by name: a target written before roles (reference names, no role/id)
    gets one located error per memory, saying what to add (a default C id would be the
    reference driver's constant, wrong for any other driver)."""
    text = re.sub(r",\n\s+role: \w+, id: \w+(, widen_id: \w+)?}", "}",
                  (REF_DIR / "target.yaml").read_text())
    assert not re.search(r"\b(role|id): ", text.split("intrinsics:")[0].split("memories:")[1])
    found, output = _errors(tmp_path, text)
    for name in RENAMES:
        assert any(m["path"] == f"memories.{name}" and int(m["line"]) ==
                   _line_of(text, f"  {name}: {{") for m in found), (name, output)
    assert "has no `role`" in output


def test_check_intrinsics_on_the_renamed_target(renamed: Path, tmp_path: Path) -> None:
    """check-intrinsics stages operands by the memory's role too: a GEMM (input, weight,
    accumulator), a requantization (descriptors in the param memory, result in the output
    memory) and a move, on fsim and the RTL."""
    code, output = _cli("check-intrinsics", renamed, "--only", "gemm_i8_i32", "--only",
                        "requant_i32_i8_pc", "--only", "alu_mov", "--workdir", tmp_path)
    assert code == 0, output
    assert "all passed" in output, output


def test_requantization_reading_another_memory_is_a_located_error(tmp_path: Path) -> None:
    text = renamed_text()
    at = text.index("X: {dtype: int32, shape: [m, c], scope: accum}",
                    text.index("  requant_i32_i8_pc:"))
    text = text[:at] + text[at:].replace("scope: accum", "scope: descr", 1)
    found, output = _errors(tmp_path, text)
    assert any(m["path"] == "intrinsics.requant_i32_i8_pc.inputs.X.scope"
               and int(m["line"]) == text.count("\n", 0, at) + 1 for m in found), output
    assert "accumulator" in output


def test_operand_placed_outside_its_declared_memory_goes_to_the_host(
        tmp_path: Path, quantized: dict[str, Path]) -> None:
    """alu_max declared on the descriptor memory (int32, so validate accepts it): the
    code generator puts pooling tiles in the accumulator, so it never emits that call;
    the pool runs on the host with the reason and the results stay right."""
    text = renamed_text()
    start = text.index("  alu_max:")
    end = text.index("  alu_min:")
    text = text[:start] + text[start:end].replace("scope: accum", "scope: descr") + text[end:]
    f = _target_dir(tmp_path / "npu", text)
    code, output = _cli("compile", quantized["cnn"], "--target", f, "-o", tmp_path / "build")
    assert code == 0, output
    report = " ".join((tmp_path / "build" / "partition.txt").read_text().split())
    assert "alu_max declares operand" in report and "in memory 'descr'" in report, report
    code, output = _cli("run", quantized["cnn"], "--target", f)
    assert code == 0, output
    assert "all agree" in output, output
