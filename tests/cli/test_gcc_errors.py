"""gcc's errors in generated C, mapped back through `vendor-sdk compile` (issue 16): exit 2,
each error at a line of a kept C file that exists, followed by the target.yaml line (and
template line) of what wrote it, and the layer and ONNX node.

The expected places are found independently of the SDK: the line of the copied target.yaml
or template that holds the text the test broke, and the kept C line that holds the broken
text."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reference_npu import __file__ as reference_init
from vendor_sdk.codegen.gcc_errors import gcc_errors, template_line
from vendor_sdk.runtime.examples import conv_model, mlp
from vendor_sdk.runtime.quantize import quantize

BIN = Path(sys.executable).parent / "vendor-sdk"
GEMM_CALL = "npu_gemm({{ ctx }}"  # the first line of intrinsics.gemm_i8_i32.emit


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "300"}, timeout=600)


def _copy(tmp: Path, rel: str, old: str, new: str) -> Path:
    """The reference NPU copied to ``tmp`` with ``old`` replaced once in ``rel``."""
    dst = tmp / "my_npu"
    shutil.copytree(Path(reference_init).parent, dst,
                    ignore=shutil.ignore_patterns("__pycache__"))
    text = (dst / rel).read_text()
    assert text.count(old) == 1, (rel, old)
    (dst / rel).write_text(text.replace(old, new))
    return dst / "target.yaml"


def _line_of(path: Path, needle: str) -> int:
    """1-based number of the only line of ``path`` holding ``needle``."""
    hits = [i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln]
    assert len(hits) == 1, (path, needle, hits)
    return hits[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A one-conv model (tensorized: gemm_i8_i32) and an MLP (template kernel dense.c.j2)."""
    d = tmp_path_factory.mktemp("gcc_models")
    return {"conv": quantize(conv_model(d / "conv.onnx", 8, 4, 8, 1, 1), d / "conv.int8.onnx"),
            "mlp": quantize(mlp(d / "mlp.onnx", sizes=(16, 8, 4)), d / "mlp.int8.onnx")}


def _failed(out: subprocess.CompletedProcess[str]) -> list[tuple[Path, int, str]]:
    """(kept C file, line, gcc's message) of each error the CLI printed; each file exists."""
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    found = [(Path(m[1]), int(m[2]), m[3])
             for m in re.finditer(r"^(/\S+\.[ch]):(\d+):\d+: error: (.*)$", out.stderr, re.M)]
    assert found, out.stderr
    for path, _, _ in found:
        assert path.is_file(), out.stderr
    return found


@pytest.mark.parametrize("broken", ["undeclared", "syntax"])
def test_an_emit_snippet_error_names_the_intrinsic_its_yaml_line_and_layer(
        broken: str, models: dict[str, Path], tmp_path: Path) -> None:
    new = {"undeclared": "npu_gemm_nosuch({{ ctx }}", "syntax": "npu_gemm(({{ ctx }}"}[broken]
    yaml = _copy(tmp_path, "target.yaml", GEMM_CALL, new)
    out = _cli("compile", models["conv"], "--target", yaml, "-o", "build", cwd=tmp_path)
    errors = _failed(out)
    line = _line_of(yaml, new)
    assert f"{yaml}:{line}:7: intrinsics.gemm_i8_i32.emit: the emit snippet of intrinsic " \
           "call gemm_i8_i32 (layer reference_npu_region0_0_conv2d_bias_relu, ONNX node " \
           "conv)" in out.stderr, out.stderr
    kept, c_line, message = errors[0]
    # the kept file's line is the snippet as rendered, and what gcc complained about
    assert new.split("{{")[0] in kept.read_text().splitlines()[c_line - 1]
    assert ("npu_gemm_nosuch" in message) == (broken == "undeclared"), message
    assert "fix intrinsics.gemm_i8_i32.emit in target.yaml" in out.stderr
    assert f"kept in {kept.parent}" in out.stderr and (kept.parent / "gcc.log").is_file()
    assert not (tmp_path / "build").exists()  # nothing half-written at -o


def test_a_broken_glue_template_names_the_template_and_its_line(
        models: dict[str, Path], tmp_path: Path) -> None:
    yaml = _copy(tmp_path, "templates/runtime.c.j2", "    return rt;\n}",
                 "    return rt +;\n}")
    out = _cli("compile", models["conv"], "--target", yaml, cwd=tmp_path)
    errors = _failed(out)
    template = yaml.parent / "templates" / "runtime.c.j2"
    assert errors[0][0].name == "conv_int8_runtime.c", out.stderr
    assert f"{template}:{_line_of(template, 'return rt +;')}: the template that wrote this " \
           "line" in out.stderr, out.stderr
    assert f"{yaml}:{_line_of(yaml, 'glue: runtime.c.j2')}:" in out.stderr, out.stderr
    assert f"fix the glue template {template}" in out.stderr


def test_a_broken_template_kernel_names_it_and_the_pattern(
        models: dict[str, Path], tmp_path: Path) -> None:
    yaml = _copy(tmp_path, "templates/dense.c.j2", "const uint32_t D = {{ params.DIM }};",
                 "const uint32_t D = {{ params.DIM }} + nosuch_d;")
    out = _cli("compile", models["mlp"], "--target", yaml, cwd=tmp_path)
    errors = _failed(out)
    template = yaml.parent / "templates" / "dense.c.j2"
    assert all("nosuch_d" in f.read_text().splitlines()[n - 1] for f, n, _ in errors)
    assert f"{template}:{_line_of(template, 'nosuch_d')}: the template that wrote" in out.stderr
    assert f"{yaml}:{_line_of(yaml, 'lower: {template: dense.c.j2}')}:12: " \
           "patterns.dense_bias.lower: the template kernel of pattern dense_bias (layer " \
           "reference_npu_region0_0_dense_bias, ONNX node fc0)" in out.stderr, out.stderr
    # the MLP's two dense layers both come from the template: each named with its node
    assert "(layer reference_npu_region0_2_dense_bias, ONNX node fc1)" in out.stderr


def test_template_line_matches_literal_text_around_substitutions(tmp_path: Path) -> None:
    t = tmp_path / "k.c.j2"
    t.write_text("{% for i in xs %}\n  x = {{ a }} + 1;\n  y = {{ a }} * 2;\n}\n  y = 3;\n")
    assert template_line(t, "    y = (q + 4) * 2;") == 3
    assert template_line(t, "x = 7 + 1;") == 2
    assert template_line(t, "z = 1;") is None
    t.write_text("a({{ x }});\na({{ y }});\n")  # two lines render alike: no guess
    assert template_line(t, "a(1);") is None


def test_gcc_errors_read_located_errors_once() -> None:
    text = ("m_r.c: In function 'f':\nm_r.c:3:5: error: 'x' undeclared\n"
            "m_r.c:3:5: error: 'x' undeclared\n/p/npu.h:9:1: fatal error: no.h: No such file\n"
            "cc1: all warnings being treated as errors\n")
    assert [(e.file, e.line, e.col, e.message) for e in gcc_errors(text)] == [
        ("m_r.c", 3, 5, "'x' undeclared"), ("/p/npu.h", 9, 1, "no.h: No such file")]
