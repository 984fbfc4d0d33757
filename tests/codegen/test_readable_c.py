"""Generated C reads at a glance: the unsimplified index forms it used to carry do not come
back, neither in the golden files nor in what `vendor-sdk compile` writes for a model with
padded, strided convolutions; no inner loop recomputes a floor division or modulo of outer
loops' variables (it is declared once, where its variables are bound); and that C still
runs bit-exactly (`vendor-sdk run` checks every NPU layer against its integer reference)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vendor_sdk.compile import compile_model
from vendor_sdk.runtime.examples import cnn
from vendor_sdk.runtime.quantize import quantize

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "e2e"
CLI = str(Path(sys.executable).with_name("vendor-sdk"))

# What the index printer must never write again (issue 16, readable generated C).
UNREADABLE = {
    "x * k // k": re.compile(r"vsdk_fdiv\(\(?(\w+) \* (\d+)\)?, \2\)"),
    "k * x // k": re.compile(r"vsdk_fdiv\(\(?(\d+) \* \w+\)?, \1\)"),
    "(n - 1) * 1 + 1": re.compile(r"-\s*1\)\s*\*\s*1\s*\+\s*1"),
    "a + -c": re.compile(r"\+ -\d"),
    "four parentheses": re.compile(r"\(\(\(\("),
    "a lane loop stepping by a row": re.compile(r"\+= \d+\) \{"),
    "a loop of one iteration": re.compile(r"for \(int64_t \w+ = 0; \w+ < 1; "),
}


def unreadable(text: str) -> list[str]:
    return [f"{what}: {m.group(0)!r}" for what, rx in UNREADABLE.items()
            for m in rx.finditer(text)]


_LOOP = re.compile(r"for \(int64_t (\w+) = 0; ")
_CONST = re.compile(r"const int64_t (\w+) = ")
_NAME = re.compile(r"[A-Za-z_]\w*")
_NOISE = re.compile(r'/\*.*?\*/|"(?:\\.|[^"\\])*"')  # comments and string literals


def _calls(code: str) -> list[str]:
    """Every ``vsdk_fdiv(...)`` / ``vsdk_fmod(...)`` call in a line, nested ones too."""
    out = []
    for m in re.finditer(r"vsdk_f(?:div|mod)\(", code):
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(code)):
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            if depth == 0:
                break
        out.append(code[m.start():end + 1])
    return out


def recomputed(text: str) -> list[str]:
    """Floor divisions and modulos an inner ``int64_t`` loop computes of names bound
    outside it only (enclosing loops' variables, constants declared in their bodies): each
    iteration recomputes the same value, which belongs at the top of the loop binding its
    innermost name."""
    out: list[str] = []
    loops: list[tuple[str, int, set[str]]] = []  # variable, brace depth of body, its consts
    depth = 0
    for n, line in enumerate(text.splitlines(), 1):
        code = _NOISE.sub("", line)
        level = {x: k for k, (v, _, consts) in enumerate(loops) for x in (v, *consts)}
        for call in _calls(code):
            names = set(_NAME.findall(call)) - {"vsdk_fdiv", "vsdk_fmod", "INT64_C"}
            if names and names <= level.keys() and max(level[x] for x in names) < len(loops) - 1:
                out.append(f"line {n}: {call} inside loop {loops[-1][0]}")
        if (const := _CONST.search(code)) and loops:
            loops[-1][2].add(const[1])
        depth += code.count("{") - code.count("}")
        if loop := _LOOP.search(code):
            loops.append((loop[1], depth, set()))
        while loops and depth < loops[-1][1]:
            loops.pop()
    return out


def test_recomputed_terms_are_found() -> None:
    """The check below can fail: an outer loop's term (or a term of a constant an outer
    loop declares) in an inner loop is found; declared once where its variable is bound,
    or varying with the loop it is printed in, it is not."""
    inner = ("for (int64_t t_k = 0; t_k < 9; t_k++) {\n"
             "    const int64_t t_k_div2 = vsdk_fdiv(t_k, 2);\n"
             "    f(vsdk_fmod(t_k, 3));\n"
             "    for (int64_t e = 0; e < 4; e++) {\n"
             "        f(e + vsdk_fdiv(t_k, 3), vsdk_fmod(t_k_div2, 3), vsdk_fdiv(e + t_k, 2));\n"
             "    }\n"
             "}\n"
             "for (int64_t e = 0; e < 4; e++) { f(vsdk_fdiv(e, 2)); }\n")
    assert recomputed(inner) == ["line 5: vsdk_fdiv(t_k, 3) inside loop e",
                                 "line 5: vsdk_fmod(t_k_div2, 3) inside loop e"]


def test_patterns_are_found() -> None:
    """The checks below can fail: each pattern matches the form it names."""
    old = ("(uint32_t)(((vsdk_fdiv((s_n * 8), 8) * 64) + x)), (uint32_t)(((502) - 1) * 1 + 1)"
           " ((((t_p * 64) + e_p) + -1) >= 0) for (int64_t e_n = 0; e_n < 16; e_n += 8) {"
           " vsdk_fdiv(8 * e, 8) for (int64_t e_m = 0; e_m < 1; e_m++)")
    assert {hit.split(":")[0] for hit in unreadable(old)} == set(UNREADABLE)


def test_golden_c_is_simplified() -> None:
    files = sorted(GOLDEN.glob("*.c"))
    assert files
    for f in files:
        assert unreadable(f.read_text()) == [], f
        assert recomputed(f.read_text()) == [], f


def test_conv_layers_golden(tmp_path: Path) -> None:
    """The CNN's three conv layers as the reference NPU's C (UPDATE_GOLDEN=1 refreshes
    tests/golden/codegen/cnn_conv_layers.c): what a vendor reads, hoisted terms and named
    indices included. Their text does not depend on the quantization (scales live in the
    constants blob), only on the model's shapes and the target."""
    q = quantize(cnn(tmp_path / "cnn.onnx"), tmp_path / "cnn.int8.onnx", random=2)
    c = compile_model(q, "reference_npu", {"N": 1}, name="cnn", build=False)
    text = "\n".join(lc.text for r in c.cmodel.regions for lc in r.layers
                     if "conv" in lc.function)
    path = GOLDEN.parent / "codegen" / "cnn_conv_layers.c"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, f"{path} differs; UPDATE_GOLDEN=1 refreshes it"
    assert text.count("conv2d") >= 3 and "const int64_t t_k_div3 = vsdk_fdiv(t_k, 3);" in text
    assert unreadable(text) == [] and recomputed(text) == []


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def compiled_cnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("readable")
    cnn(d / "cnn.onnx")
    q = _cli("quantize", "cnn.onnx", "-o", "cnn.int8.onnx", "--random", "2", cwd=d)
    assert q.returncode == 0, q.stdout + q.stderr
    c = _cli("compile", "cnn.int8.onnx", "--target", "reference_npu", "-o", "build", cwd=d)
    assert c.returncode == 0, c.stdout + c.stderr
    return d


def test_compiled_c_reads_at_a_glance(compiled_cnn: Path) -> None:
    regions = sorted((compiled_cnn / "build").glob("cnn_int8_*region*.c"))
    assert regions, sorted(p.name for p in (compiled_cnn / "build").iterdir())
    text = "\n".join(p.read_text() for p in regions)
    assert unreadable(text) == []
    assert recomputed(text) == []
    # the 3x3 stride-2 conv's padded input rows: its row and column named once per row,
    # the bounds check and the DRAM address both read the names
    assert re.search(r"const int64_t iy = .+;\n\s+const int64_t ix = .+;\n"
                     r"\s+if \(iy >= 0 && iy < 16 && ix >= 0 && ix < 16\) \{\n"
                     r"\s+vsdk_load_row\(.+X \+ \d+ \* t_m \+ 256 \* iy \+ 16 \* ix", text)
    code = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("/*", "*"))]
    # every floor division left is one the loop ranges cannot remove
    assert sum(ln.count("vsdk_fdiv(") + ln.count("vsdk_fmod(") for ln in code) < 60


def test_compiled_c_runs_bit_exact(compiled_cnn: Path) -> None:
    r = _cli("run", "cnn.int8.onnx", "--target", "reference_npu", "--backend", "fsim",
             cwd=compiled_cnn)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "100.00% within 1 LSB" in r.stdout
