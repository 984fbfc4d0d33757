"""Generated C reads at a glance: the unsimplified index forms it used to carry do not come
back, neither in the golden files nor in what `vendor-sdk compile` writes for a model with
padded, strided convolutions; and that C still runs bit-exactly (`vendor-sdk run` checks
every NPU layer against its integer reference)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from vendor_sdk.runtime.examples import cnn

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
