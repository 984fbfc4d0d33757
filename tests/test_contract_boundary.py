"""The SDK knows no chip: `vendor_sdk/` and `core/` never import a target package, and
their code (not their documentation) names no target's driver symbols. The bundled NPUs
are plugins like any other; the only mention allowed is the default target's name.

Comments and docstrings may cite the reference NPU as an example; string literals, C
templates and imports may not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("vendor_sdk", "core")
TARGET_PACKAGES = ("reference_npu", "example_npu")
# C symbols of the bundled drivers (npu_gemm, NPU_MEM_ACC, ex_vdot, EX_MEM_PSUM, ...).
DRIVER_SYMBOL = re.compile(r"\b(?:npu|NPU|ex|EX)_[A-Za-z0-9_]+")
ALLOWED = {("vendor_sdk/plugins.py", "reference_npu")}  # DEFAULT_TARGET


def _python_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    """Ids of the string constants that are docstrings."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_module_imports_a_target_package() -> None:
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names
                      if n.split(".")[0] in TARGET_PACKAGES]
    assert not found, "\n".join(found)


def test_code_names_no_target_and_no_driver_symbol() -> None:
    """String literals (what reaches generated C, messages and defaults) outside
    docstrings name no bundled target and no driver symbol."""
    found = []
    for path in _python_files():
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), rel)
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in docs:
                continue
            for name in TARGET_PACKAGES:
                if name in node.value and (rel, name) not in ALLOWED:
                    found.append(f"{rel}:{node.lineno}: {name!r} in {node.value[:60]!r}")
            for m in DRIVER_SYMBOL.finditer(node.value):
                found.append(f"{rel}:{node.lineno}: driver symbol {m.group()!r}")
    assert not found, "\n".join(found)


def _c_code(text: str) -> str:
    """C/Jinja text without comments (/* */, //, {# #})."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


@pytest.mark.parametrize("path", sorted(
    p for pkg in PACKAGES for ext in ("*.j2", "*.h", "*.c") for p in (ROOT / pkg).rglob(ext)),
    ids=lambda p: str(p.relative_to(ROOT)))
def test_sdk_c_and_templates_name_no_driver_symbol(path: Path) -> None:
    code = _c_code(path.read_text())
    assert not DRIVER_SYMBOL.search(code), DRIVER_SYMBOL.findall(code)
    assert not any(name in code for name in TARGET_PACKAGES)


def test_the_scan_sees_what_it_forbids(tmp_path: Path) -> None:
    """The checks above can fail: an import, a literal and a C call are each caught."""
    src = 'import reference_npu\nX = "npu_gemm(ctx)"\n'
    tree = ast.parse(src)
    assert any(isinstance(n, ast.Import) and n.names[0].name == "reference_npu"
               for n in ast.walk(tree))
    assert DRIVER_SYMBOL.search("npu_gemm(ctx)") and DRIVER_SYMBOL.search("EX_MEM_PSUM")
    assert not DRIVER_SYMBOL.search("vsdk_load_row(rt, mem, row, dram)")
    assert DRIVER_SYMBOL.search(_c_code("/* ok: npu_x */ npu_sync(ctx);"))
    assert not DRIVER_SYMBOL.search(_c_code("/* npu_sync(ctx) */ {# NPU_Q_ST #}"))
