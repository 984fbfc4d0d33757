"""Hostile vendor templates: budgets (time, output, repetition, powers, filter widths,
recursion), no file from outside the target, no #include outside the build. Each is a
located error at the template's target.yaml field, from validate and from compile."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.conftest import cli

REF_DIR = Path(__file__).resolve().parents[2] / "reference_npu"
KERNEL = "patterns.dense_bias.lower.template"  # the field of the kernel template dense.c.j2


def copy_target(tmp: Path) -> Path:
    """A copy of the reference target (its templates, driver and RTL) to spoil."""
    dst = tmp / "npu"
    shutil.copytree(REF_DIR, dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dst


def _append(text: str) -> Callable[[Path], None]:
    def spoil(t: Path) -> None:
        with (t / "templates" / "dense.c.j2").open("a") as f:
            f.write(text)
    return spoil


def _symlink(target: str) -> Callable[[Path], None]:
    def spoil(t: Path) -> None:
        (t / "templates" / "dense.c.j2").unlink()
        (t / "templates" / "dense.c.j2").symlink_to(target)
    return spoil


def _yaml(old: str, new: str) -> Callable[[Path], None]:
    def spoil(t: Path) -> None:
        text = (t / "target.yaml").read_text()
        assert old in text
        (t / "target.yaml").write_text(text.replace(old, new, 1))
    return spoil


def _glue(text: str) -> Callable[[Path], None]:
    def spoil(t: Path) -> None:
        with (t / "templates" / "runtime.c.j2").open("a") as f:
            f.write(text)
    return spoil


def _dir_symlink(t: Path) -> None:
    shutil.rmtree(t / "templates")
    (t / "templates").symlink_to("/etc")


LOOP = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
EMIT = ("      npu_gemm({{ ctx }}, {{ deps }}, {{ 0 if variant == \"init\" else 1 }}, 1, "
        "{{ B.tile }},")

# (case, how the copy is spoilt, what the message names)
TEMPLATES: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("nested_range_loops", _append(LOOP), (KERNEL, "took more than 1 s")),
    ("set_range_loops", _append("{% set r = range(99999) %}{% for i in r %}{% for j in r %}"
                                "{% endfor %}{% endfor %}"), (KERNEL, "took more than 1 s")),
    ("range_1e9", _append("{{ range(10**9)|list }}"), (KERNEL, "Range too big")),
    ("recursive_macro", _append("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}"),
     (KERNEL, "recursion too deep")),
    ("repeat_float", _append("{{ 'x' * 1e11 }}"), (KERNEL, "can't multiply")),
    ("repeat_1e11", _append("{{ 'x' * 10**11 }}"), (KERNEL, "template budget")),
    ("repeat_list", _append("{{ [0] * 10**10 }}"), (KERNEL, "template budget")),
    ("power_tower", _append("{{ 10 ** (10 ** 10) }}"), (KERNEL, "bits")),
    ("filter_center", _append("{{ 'x'|center(10**10) }}"), (KERNEL, "filter center")),
    ("filter_indent", _append("{{ 'x\ny'|indent(10**10) }}"), (KERNEL, "filter indent")),
    ("output_size", _append("{% for i in range(99999) %}{{ 'x' * 9999 }}{% endfor %}"),
     (KERNEL, "output over")),
    ("concat_doubling", _append("{% set ns = namespace(s='x') %}{% for i in range(40) %}"
                                "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"),
     (KERNEL, "the template budget")),  # memory, or time on a loaded machine
    ("zero_division", _append("{{ 1 / 0 }}"), (KERNEL, "ZeroDivisionError")),
    ("attribute_escape", _append("{{ ''.__class__.__mro__[1].__subclasses__() }}"),
     (KERNEL, "unsafe")),
    ("globals_escape", _append("{{ self._TemplateReference__context }}"), (KERNEL,)),
    ("include_absolute", _append('#include "/etc/passwd"\n'), (KERNEL, "'/etc/passwd'")),
    ("include_dotdot", _append('#include "../../../../etc/passwd"\n'), (KERNEL, "outside")),
    ("include_angle", _append("#include </etc/passwd>\n"), (KERNEL, "outside the build")),
    ("include_computed", _append('#define P "/etc/passwd"\n#include P\n'),
     (KERNEL, "computed")),
    ("include_digraph", _append('%:include "/etc/passwd"\n'), (KERNEL, "outside the build")),
    ("include_spliced", _append('#inc\\\nlude "/etc/passwd"\n'), (KERNEL, "outside the build")),
    ("embed", _append('#embed "/etc/passwd"\n'), (KERNEL, "outside the build")),
    ("include_comment", _append('#/**/include "/etc/passwd"\n'), (KERNEL, "outside the build")),
    ("include_trigraph", _append('??=include "/etc/passwd"\n'), (KERNEL, "outside the build")),
    ("incbin", _append('__asm__(".incbin \\"/etc/passwd\\"");\n'), (KERNEL, ".incbin")),
    ("jinja_include_absolute", _append("{% include '/etc/passwd' %}"), (KERNEL, "passwd")),
    ("jinja_include_dotdot", _append("{% include '../target.yaml' %}"), (KERNEL, "target.yaml")),
    ("symlink_out", _symlink("/etc/passwd"), (KERNEL, "resolves outside")),
    ("symlink_dir", _dir_symlink, ("templates", "outside the target's directory")),
    ("templates_etc", _yaml("templates: templates", "templates: /etc"),
     ("templates", "outside the target's directory")),
    ("templates_dotdot", _yaml("templates: templates", "templates: ../.."),
     ("templates", "outside the target's directory")),
    ("glue_budget", _glue("{{ 'x' * 10**11 }}"), ("runtime.glue", "template budget")),
    ("glue_include", _glue('#include "/etc/shadow"\n'), ("runtime.glue", "outside the build")),
    ("emit_budget", _yaml(EMIT, EMIT.replace("{{ ctx }}", "{{ 'x' * 10**11 }}")),
     ("intrinsics.gemm_i8_i32.emit", "template budget")),
    ("emit_loop", _yaml(EMIT, EMIT.replace("{{ ctx }}", "{{ ctx }}" + LOOP)),
     ("intrinsics.gemm_i8_i32.emit", "took more than 1 s")),
    ("emit_include", _yaml(EMIT, EMIT.replace("      npu_gemm(",
                                              "      #include \"/etc/passwd\"\n      npu_gemm(")),
     ("intrinsics.gemm_i8_i32.emit",)),
]


@pytest.mark.parametrize("case,spoil,named", TEMPLATES, ids=[c[0] for c in TEMPLATES])
def test_hostile_template_fails_validate(case: str, spoil: Callable[[Path], None],
                                         named: tuple[str, ...], tmp_path: Path) -> None:
    t = copy_target(tmp_path)
    spoil(t)
    start = time.monotonic()
    out = cli("validate", t, cwd=tmp_path)
    assert time.monotonic() - start < 15, "a template budget did not hold"
    assert out.code == 2, out.text
    assert out.names("npu/target.yaml:", *named), out.text
    assert "root:x:0" not in out.text  # /etc/passwd's first line never reaches the user


@pytest.mark.parametrize("case", ["nested_range_loops", "include_absolute", "symlink_out",
                                  "templates_etc"])
def test_compile_refuses_the_same_target(case: str, tmp_path: Path, models: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """... before anything is built: no build directory, nothing in the cache."""
    spoil, named = next((s, n) for c, s, n in TEMPLATES if c == case)
    t = copy_target(tmp_path)
    spoil(t)
    cache = tmp_path / "cache"
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(cache))
    out = cli("compile", models["int8"], "--target", t, "-o", tmp_path / "build", cwd=tmp_path)
    assert out.code == 2 and out.names(*named), out.text
    assert "root:x:0" not in out.text and not (tmp_path / "build").exists()
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_the_copy_as_is_validates_and_the_time_budget_is_restored(tmp_path: Path) -> None:
    """The budgets leave an honest target alone, and a budget hit leaves no alarm behind."""
    import resource
    import signal

    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    t = copy_target(tmp_path)
    assert cli("validate", t, cwd=tmp_path).code == 0
    _append(LOOP)(t)
    assert cli("validate", t, cwd=tmp_path).code == 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == limit  # the memory cap is lifted
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler,
                                                None)
    assert os.environ.get("VENDOR_SDK_TEMPLATE_SECONDS") is None
