"""Hostile target.yaml through validate, compile and run: each a located error (file:line:col
and the field or "(document)"), exit 2, quickly; never a hang or a traceback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.conftest import cli

LAUGHS = "".join(f"{a}: &{a} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
                 for p, a in zip(["", *"abcdefgh"], "abcdefghi", strict=True))
REF = Path(__file__).resolve().parents[2] / "reference_npu" / "target.yaml"


def _ref(**replace: str) -> Callable[[], str]:
    def text() -> str:
        t = REF.read_text()
        for old, new in replace.items():
            assert old.replace("_", " ") in t or old in t
            t = t.replace(old, new, 1)
        return t
    return text


# (case, the file's text (bytes for non-text), what the message names)
YAML: list[tuple[str, Callable[[], str | bytes], tuple[str, ...]]] = [
    ("billion_laughs", lambda: "schema_version: 1\n" + LAUGHS,
     ("t.yaml:", "aliases expand", "limits")),
    ("deep_list", lambda: "schema_version: 1\nx: " + "[" * 20000 + "]" * 20000 + "\n",
     ("t.yaml:2:", "nested more than 64")),
    ("deep_mapping", lambda: "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200
     + "v\n", ("t.yaml:", "nested more than 64")),
    ("self_alias", lambda: "schema_version: 1\na: &a [1, *a]\n", ("t.yaml:2:", "contains it")),
    ("alias_depth", lambda: "schema_version: 1\n" + "".join(
        f"a{i}: &a{i} " + ("[" * 40 + "1" + "]" * 40 if i == 0 else f"[*a{i - 1}]") + "\n"
        for i in range(40)), ("t.yaml:", "deep")),
    ("too_big", lambda: "schema_version: 1\n# " + "x" * (5 << 20) + "\n",
     ("t.yaml:1:1", "limit")),
    ("syntax_unclosed", lambda: "schema_version: 1\ntarget: [a, b\n", ("t.yaml:", "(syntax)")),
    ("syntax_tab", lambda: "schema_version: 1\nparams:\n\tDIM: 8\n", ("t.yaml:3:", "(syntax)")),
    ("python_tag", lambda: "schema_version: 1\ntarget: !!python/object/apply:os.system [id]\n",
     ("t.yaml:2:", "python/object")),
    ("empty", lambda: "", ("t.yaml:1:1", "empty")),
    ("only_comment", lambda: "# nothing\n", ("t.yaml:1:1", "empty")),
    ("not_utf8", lambda: b"\xff\xfe\x00garbage\x80", ("t.yaml", "cannot read")),
    ("binary_nul", lambda: b"schema_version: 1\n\x00\x01\x02", ("t.yaml",)),
    ("top_list", lambda: "- 1\n- 2\n", ("t.yaml:1:1",)),
    ("top_scalar", lambda: "hello\n", ("t.yaml:1:1",)),
    ("duplicate_key", _ref(**{"templates: templates": "templates: templates\ntemplates: x"}),
     ("t.yaml:", "duplicate key 'templates'")),
    ("unknown_key_typo", _ref(**{"templates: templates": "templtes: templates"}),
     ("t.yaml:", "unknown key 'templtes'", "did you mean 'templates'")),
    ("schema_version", _ref(**{"schema_version: 1": "schema_version: 99"}),
     ("t.yaml:", "schema_version")),
    ("huge_int_param", _ref(**{"DIM: 8": "DIM: 99999999999999999999999999999999"}),
     ("t.yaml:", "int64")),  # the intrinsics' ranges no longer fit: located there
    ("anchor_merge_into_list", lambda: "schema_version: 1\na: &a [1]\nb: {<<: *a}\n",
     ("t.yaml:2:", "merging")),
]


# compile and run load --target through validate's loader; these cases show they say the same
SHARED = [c for c in YAML if c[0] in ("billion_laughs", "deep_list", "syntax_tab",
                                      "unknown_key_typo", "not_utf8")]
CASES = [("validate", *c) for c in YAML] + [
    (cmd, *c) for cmd in ("compile", "run", "check-intrinsics") for c in SHARED]


@pytest.mark.parametrize("command,case,text,named", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_hostile_target_yaml(command: str, case: str, text: Callable[[], str | bytes],
                             named: tuple[str, ...], tmp_path: Path,
                             models: dict[str, Path]) -> None:
    body = text()
    path = tmp_path / "t.yaml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    args: list[str | Path] = {"validate": ["validate", path],
                              "compile": ["compile", models["int8"], "--target", path, "-o",
                                          tmp_path / "build"],
                              "run": ["run", models["int8"], "--target", path],
                              "check-intrinsics": ["check-intrinsics", path]}[command]
    start = time.monotonic()
    out = cli(*args, cwd=tmp_path)
    assert time.monotonic() - start < 10, "a hostile target.yaml took too long"
    assert out.code == 2, out.text
    assert out.names(*named), out.text
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("command", ["compile", "run", "validate", "partition",
                                     "check-intrinsics"])
def test_target_name_typo_is_the_same_error_everywhere(command: str, tmp_path: Path,
                                                       models: dict[str, Path]) -> None:
    args: list[str | Path] = {
        "compile": ["compile", models["int8"], "--target", "reference_npx", "-o", tmp_path / "b"],
        "run": ["run", models["int8"], "--target", "reference_npx"],
        "validate": ["validate", "reference_npx"],
        "partition": ["partition", models["int8"], "-t", "reference_npx"],
        "check-intrinsics": ["check-intrinsics", "reference_npx"]}[command]
    out = cli(*args, cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names("reference_npx", "no installed target", "did you mean 'reference_npu'")
    assert not (tmp_path / "b").exists()


def test_a_directory_without_a_target_is_named(tmp_path: Path, models: dict[str, Path]) -> None:
    (tmp_path / "empty").mkdir()
    for args in (["validate", tmp_path / "empty"],
                 ["compile", models["int8"], "--target", tmp_path / "empty", "-o",
                  tmp_path / "b"]):
        out = cli(*args, cwd=tmp_path)
        assert out.code == 2 and out.names("empty/target.yaml", "cannot read"), out.text
