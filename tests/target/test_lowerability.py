"""`vendor-sdk validate` refuses a pattern the code generator cannot lower, with the file,
line and column of the op or the `lower` entry at fault and the reason, before any model
is seen (it used to pass, and every compile sent the layers back to the host)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reference_npu
from vendor_sdk.cli import app

REF = Path(reference_npu.__file__).parent
AVGPOOL = """  avgpool2d:
    priority: 10
    root: pool
    nodes:
      pool: {op: AveragePool, in: [x]}
    tensors: {x: {dtype: int8, rank: 4}}
    lower: {tensorize: [alu_add, requant_i32_i8]}
"""


def _target(tmp_path: Path, old: str, new: str) -> Path:
    """The reference NPU with ``old`` in its target.yaml replaced by ``new``."""
    dst = tmp_path / "npu"
    dst.mkdir()
    shutil.copytree(REF / "templates", dst / "templates")  # templates stay inside
    for d in ("rtl", "driver"):
        (dst / d).symlink_to(REF / d)
    text = (REF / "target.yaml").read_text()
    assert text.count(old) >= 1, old
    (dst / "target.yaml").write_text(text.replace(old, new, 1))
    return dst / "target.yaml"


def _relisted(tmp_path: Path, pattern: str, lower: str) -> Path:
    """The reference NPU with pattern ``pattern``'s `lower` line replaced by ``lower``."""
    text = (REF / "target.yaml").read_text()
    m = re.search(rf"\n  {pattern}:\n(?:    .*\n)*?    (lower: [^\n]*)", text)
    assert m, pattern
    return _target(tmp_path, m[0], m[0].replace(m[1], lower))


def _located(path: Path, needle: str) -> tuple[int, int]:
    """1-based (line, column) of the first ``needle`` in the file."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(needle)


def _validate(path: Path) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "250"})
    # a clean exit (0 or 2), never an exception escaping the command
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, res.output


def test_an_op_without_a_lowering_is_a_located_error(tmp_path: Path) -> None:
    """AveragePool: the code generator has no layer for it (the host runs it)."""
    path = _target(tmp_path, "  add:\n    priority: 10\n", AVGPOOL + "  add:\n    priority: 10\n")
    code, out = _validate(path)
    line, col = _located(path, "AveragePool")
    assert code == 2, out
    assert f"{path}:{line}:{col}: patterns.avgpool2d.nodes.pool.op: the code generator has " \
        "no lowering for AveragePool" in out, out
    assert "hint:" in out and "leave AveragePool to the host" in out, out


def test_an_op_after_a_gemm_without_an_epilogue_is_a_located_error(tmp_path: Path) -> None:
    """A Conv followed by a MaxPool in one pattern: the GEMM layer's epilogue is a bias Add
    and the clamp, nothing else."""
    path = _target(tmp_path, 'act: {op: "Relu | Clip", in: [conv, lo, hi], optional: true}',
                   'act: {op: "Relu | MaxPool", in: [conv, lo, hi], optional: true}')
    code, out = _validate(path)
    line, col = _located(path, "MaxPool")
    assert code == 2, out
    assert f"{path}:{line}:{col}: patterns.conv2d_bias_relu.nodes.act.op: the code " \
        "generator has no lowering for MaxPool after a Conv" in out, out


def test_a_template_on_a_conv_is_a_located_error(tmp_path: Path) -> None:
    """Template kernels are rendered for MatMul / Gemm layers only."""
    path = _relisted(tmp_path, "conv2d_bias_relu", "lower: {template: dense.c.j2}")
    code, out = _validate(path)
    line, col = _located(path, "{op: Conv, in: [x, w, b], attrs: {group: 1,")
    assert code == 2, out
    assert f"{path}:{line}:{col + 5}: patterns.conv2d_bias_relu.nodes.conv.op: template " \
        "kernels lower MatMul / Gemm layers, not Conv" in out, out


@pytest.mark.parametrize(("pattern", "lower", "why"), [
    ("conv2d_bias_relu", "alu_add", "no per-channel requantization intrinsic among "
     "['alu_add']"),
    ("conv2d_bias_relu", "alu_add, requant_i32_i8_pc", "no intrinsic among ['alu_add', "
     "'requant_i32_i8_pc'] reduces"),
    ("maxpool2d", "alu_max", "no per-tensor requantization intrinsic among ['alu_max']"),
    ("maxpool2d", "alu_add, requant_i32_i8", "no intrinsic computes D = D max S"),
    ("add", "alu_add_imm, alu_add, requant_i32_i8", "no intrinsic computes D = D * S"),
    ("relu", "requant_i32_i8", "no intrinsic computes D = D + S with S an immediate"),
])
def test_a_tensorize_list_that_names_too_little_is_a_located_error(
        tmp_path: Path, pattern: str, lower: str, why: str) -> None:
    """The list is every intrinsic the layer may use: one the code generator's role finders
    cannot complete is reported at the list, with the finder's reason."""
    path = _relisted(tmp_path, pattern, f"lower: {{tensorize: [{lower}]}}")
    code, out = _validate(path)
    line, col = _located(path, f"lower: {{tensorize: [{lower}]}}")
    assert code == 2, out
    text = " ".join(out.split())
    assert f"{path}:{line}:{col + len('lower: {tensorize: ')}: patterns.{pattern}.lower." \
        f"tensorize: {why}" in text, out


def test_compile_refuses_the_target_with_the_same_location(tmp_path: Path) -> None:
    """compile loads the target through the same checks: exit 2 before the model is read."""
    path = _target(tmp_path, "  add:\n    priority: 10\n", AVGPOOL + "  add:\n    priority: 10\n")
    res = CliRunner().invoke(app, ["compile", str(tmp_path / "absent.onnx"), "--target",
                                   str(path), "-o", str(tmp_path / "build")])
    assert res.exit_code == 2, res.output
    assert "no lowering for AveragePool" in " ".join(res.output.split()), res.output


def test_the_reference_and_the_wizard_default_are_lowerable(tmp_path: Path) -> None:
    assert _validate(REF / "target.yaml")[0] == 0
    pkg = tmp_path / "acme"
    res = CliRunner().invoke(app, ["init", str(pkg), "--defaults"])
    assert res.exit_code == 0, res.output
    code, out = _validate(pkg)
    assert code == 0, out
    # the default starting point is the reference NPU (init --from reference_npu): every one
    # of its patterns survives, none was dropped to make validation pass
    for name in ("conv2d_bias_relu", "dense_bias", "maxpool2d", "relu"):
        assert re.search(rf"^│ {name} ", out, re.M), out


def test_a_kernel_template_renders_with_what_the_code_generator_gives_it(
        tmp_path: Path) -> None:
    """The code generator renders a kernel with the layer's tensors x, w, b and out, whatever
    the pattern calls its inputs: a template reading the pattern's own name fails validate
    (it passed, and failed at compile time)."""
    path = _target(tmp_path, "      mm: {op: \"MatMul | Gemm(transA=0)\", in: [x, w]}",
                   "      mm: {op: \"MatMul | Gemm(transA=0)\", in: [a, w]}")
    text = path.read_text()
    path.write_text(text.replace("      x: {dtype: int8, rank: 2}\n      w: {dtype: int8, rank: "
                                 "2, const: true}\n      b: {dtype: int32, rank: 1, const: true}"
                                 "\n    lower: {template: dense.c.j2}",
                                 "      a: {dtype: int8, rank: 2}\n      w: {dtype: int8, rank: "
                                 "2, const: true}\n      b: {dtype: int32, rank: 1, const: true}"
                                 "\n    lower: {template: dense.c.j2}", 1))
    shutil.rmtree(path.parent / "templates")
    (path.parent / "templates").mkdir()
    kernel = (REF / "templates" / "dense.c.j2").read_text()
    assert "tensors.x." in kernel
    (path.parent / "templates" / "dense.c.j2").write_text(kernel.replace("tensors.x.",
                                                                         "tensors.a."))
    code, out = _validate(path)
    line, col = _located(path, "lower: {template: dense.c.j2}")
    assert code == 2, out
    assert f"{path}:{line}:{col + len('lower: {template: ')}: patterns.dense_bias.lower." \
        "template: dense.c.j2 does not render: 'dict object' has no attribute 'a'" in \
        " ".join(out.split()), out
