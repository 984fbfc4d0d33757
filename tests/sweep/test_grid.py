"""The sweep's pure parts: --param parsing, grid expansion and keys, target.yaml editing,
Pareto fronts (against the definition), the results journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vendor_sdk.errors import VendorSdkError
from vendor_sdk.plugins import resolve_target
from vendor_sdk.sweep.configure import check_names, with_params
from vendor_sdk.sweep.grid import Axis, Model, SweepError, expand, find_models, parse_params
from vendor_sdk.sweep.pareto import pareto_front
from vendor_sdk.sweep.results import Journal, read_records
from vendor_sdk.target import load_target_text


def test_parse_params() -> None:
    axes = parse_params(["DIM=8,16", " ACC_ROWS = 1024"])
    assert axes == (Axis("DIM", ("8", "16")), Axis("ACC_ROWS", ("1024",)))
    for bad, why in (("DIM", "expected NAME=V1"), ("DIM=8,,16", "empty value"),
                     ("DIM=8,8", "listed twice"), ("8=1", "expected NAME=V1")):
        with pytest.raises(SweepError, match=why):
            parse_params([bad])
    with pytest.raises(SweepError, match="DIM is given twice"):
        parse_params(["DIM=8", "DIM=16"])


def test_expand_is_the_cross_product_configurations_outermost(tmp_path: Path) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.int8.onnx"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    models = find_models([tmp_path])
    assert [m.name for m in models] == ["a", "b_int8"]
    axes = parse_params(["DIM=8,16", "ACC_ROWS=1,2,3"])
    pts = expand("t", "t", "d" * 64, axes, models, "fsim", "output")
    assert len(pts) == 2 * 3 * 2
    assert [(p.config, p.model.name if p.model else "") for p in pts[:3]] == [
        ("DIM=8,ACC_ROWS=1", "a"), ("DIM=8,ACC_ROWS=1", "b_int8"), ("DIM=8,ACC_ROWS=2", "a")]
    assert len({p.key for p in pts}) == len(pts)  # keys tell every point apart
    # a model's content is in its key: an edited model is a new point on resume
    edited = Model("a", a, "e" * 64)
    assert expand("t", "t", "d" * 64, axes, (edited,), "fsim", "output")[0].key != pts[0].key
    intr = expand("t", "t", "d" * 64, axes, models, "fsim", "output", "check-intrinsics")
    assert len(intr) == 6 and all(p.model is None for p in intr)
    assert expand("t", "t", "d" * 64, (), models, "fsim", "output")[0].config == "defaults"


def test_find_models_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="no such file"):
        find_models([tmp_path / "missing.onnx"])
    with pytest.raises(SweepError, match=r"holds no \.onnx"):
        find_models([tmp_path])
    with pytest.raises(SweepError, match="no model given"):
        find_models([])
    (tmp_path / "x").mkdir()
    (tmp_path / "m.onnx").write_bytes(b"1")
    (tmp_path / "x" / "m.onnx").write_bytes(b"2")
    with pytest.raises(SweepError, match="name m is also"):
        find_models([tmp_path, tmp_path / "x"])


def test_with_params_edits_only_the_values() -> None:
    t = resolve_target("reference_npu")
    text = t.path.read_text()
    edited = with_params(text, str(t.path), [("DIM", "16"), ("ACC_ROWS", "1024")])
    changed = [(a, b) for a, b in zip(text.splitlines(), edited.splitlines(), strict=True)
               if a != b]
    assert changed == [("  DIM: 8", "  DIM: 16"), ("  ACC_ROWS: 2048", "  ACC_ROWS: 1024")]
    loaded = load_target_text(edited, t.path)
    assert loaded.params == t.params | {"DIM": 16, "ACC_ROWS": 1024}
    assert loaded.memories["acc"].rows == 1024 and loaded.memories["acc"].row_elems == 16
    # a value that is no integer stays one scalar, for the loader to refuse at its line
    assert '  DIM: "eight"' in with_params(text, str(t.path), [("DIM", "eight")])


def test_unknown_parameter_is_bad_input() -> None:
    t = resolve_target("reference_npu")
    with pytest.raises(SweepError) as e:
        check_names(t, (Axis("ACC_ROW", ("1",)),))
    assert isinstance(e.value, VendorSdkError)  # the CLI's one handler reports it
    assert (e.value.where, e.value.why) == ("--param ACC_ROW", "target reference_npu "
                                            f"({t.path}) has no such parameter")
    assert e.value.hint == "did you mean 'ACC_ROWS'?"


def _dominated(p: tuple[float, float], by: tuple[float, float]) -> bool:
    return by[0] <= p[0] and by[1] <= p[1] and by != p


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=30))
def test_pareto_front_is_the_non_dominated_set(pts: list[tuple[int, int]]) -> None:
    front = pareto_front([(float(x), float(y)) for x, y in pts])
    expected = [i for i, p in enumerate(pts) if not any(_dominated(p, q) for q in pts)]
    assert front == expected


def test_journal_survives_a_torn_line(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.append({"schema": "vendor-sdk.sweep/1", "key": "a", "status": "ok"})
    j.close()
    with (tmp_path / "results.jsonl").open("a") as f:  # a sweep killed mid-write
        f.write('{"schema": "vendor-sdk.sweep/1", "key": "b", "sta')
    j = Journal(tmp_path)
    j.append({"schema": "vendor-sdk.sweep/1", "key": "c", "status": "failed"})
    j.append({"schema": "vendor-sdk.sweep/0", "key": "d", "status": "ok"})
    j.close()
    got = read_records(tmp_path)
    assert sorted(got) == ["a", "c"] and got["c"]["status"] == "failed"
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["key"] == "d"  # appended whole, on a line of its own
