"""The pattern language and the partitioner on small hand-built graphs."""

from __future__ import annotations

import numpy as np
import pytest

from core.builder import FunctionBuilder, single_function_module
from core.executor import run
from core.graph import Module
from core.types import TensorType
from core.verify import verify
from vendor_sdk.patterns.constraint import ConstraintError, parse_constraint, parse_op
from vendor_sdk.patterns.errors import PartitionError
from vendor_sdk.patterns.from_target import compile_pattern
from vendor_sdk.patterns.lang import is_const, is_op, pattern, wildcard
from vendor_sdk.patterns.match import MatchContext
from vendor_sdk.patterns.partition import PartitionOptions, partition
from vendor_sdk.patterns.report import build_report
from vendor_sdk.target.model import PatternSpec

F = TensorType("float32", (1, 4, 8, 8))


def test_constraints_evaluate_per_element() -> None:
    assert parse_constraint("k <= 7").holds((3, 7)) and not parse_constraint("k <= 7").holds((9,))
    assert parse_constraint("s in {1, 2}").holds((2, 2))
    assert parse_constraint("k >= 2 and k <= 3 or k == 7").holds((7, 2))
    assert parse_constraint("p not in {0}").holds(1) and not parse_constraint(1).holds((1, 2))
    assert parse_constraint([1, 1]).holds((1, 1)) and parse_constraint("NOTSET").holds("NOTSET")
    with pytest.raises(ConstraintError) as e:
        parse_constraint("k <=< 7")
    assert e.value.col == 4
    assert [str(a) for a in parse_op("Relu | Clip(min=0)")] == ["Relu", "Clip(min=0)"]
    with pytest.raises(ConstraintError):
        parse_op("Clip(min=)")


def _conv_graph(group: int = 1) -> Module:
    b = FunctionBuilder("main")
    x = b.param("x", F)
    w = np.ones((4, 4 // group, 3, 3), np.float32)
    c = b.op("Conv", x, w, np.zeros(4, np.float32), group=group, pads=[1, 1, 1, 1])
    r = b.op("Clip", c, np.array(0, np.float32), None)
    y = b.op("Add", x, r)  # x is the *first* input: matched only by commutativity
    return single_function_module(b.finish([b.op("Relu", y)]))


def _conv_patterns() -> list:  # type: ignore[type-arg]
    conv = is_op("Conv", name="conv")(wildcard("x", rank=4), is_const("w"), is_const("b"))
    conv = conv.where(group=1, kernel_shape="k <= 7", strides="s in {1, 2}")
    act = is_op("Relu", "Clip(min=0)", name="act")(conv).optional()
    add = is_op("Add", name="add")(wildcard("y"), wildcard("z"))
    return [pattern("conv_act", act, priority=30, target="npu"),
            pattern("add", add, priority=10, target="npu")]


def test_optional_pinned_input_commutative_and_merge() -> None:
    m = _conv_graph()
    part = partition(m, _conv_patterns())
    (region,) = part.regions
    assert [c.pattern.name for c in region.composites] == ["conv_act", "add"]
    assert region.ops == 3
    verify(part.module)
    x = np.random.default_rng(0).standard_normal((1, 4, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(run(m, [x])[0], run(part.module, [x])[0])
    kinds = {str(f.attrs.get("kind")) for f in part.module.functions if f.name != "main"}
    assert kinds == {"region", "composite"}


def test_host_reason_names_the_failed_constraint() -> None:
    part = partition(_conv_graph(group=2), _conv_patterns())
    report = build_report(part, _conv_patterns(), "g")
    conv = next(h for h in report.host if h.op == "Conv")
    assert conv.reason == "pattern conv_act: conv requires group == 1 (got group=2)"
    assert report.ops["Add"] == (1, 0)


def test_options_force_host_min_ops_max_regions() -> None:
    pats = _conv_patterns()
    part = partition(_conv_graph(), pats, PartitionOptions(host_ops=frozenset({"Add"})))
    assert [r.ops for r in part.regions] == [2]
    part = partition(_conv_graph(), pats, PartitionOptions(min_ops=4))
    assert part.regions == ()
    report = build_report(part, pats)
    assert all("fewer than the minimum 4" in h.reason for h in report.host if h.op != "Relu")
    with pytest.raises(PartitionError):
        partition(_conv_graph(), pats, PartitionOptions(min_ops=0))


def test_check_callback_sees_matched_nodes() -> None:
    seen: list[str] = []

    def check(ctx: MatchContext) -> bool | str:
        seen.append(ctx.binding("conv").value.op)  # type: ignore[union-attr]
        return "kernel too wide" if ctx.attr("conv", "kernel_shape") == (3, 3) else True

    conv = is_op("Conv", name="conv")(wildcard("x"), is_const("w"), is_const("b"))
    pats = [pattern("conv", conv, priority=1, check=check, target="npu")]
    part = partition(_conv_graph(), pats)
    assert seen == ["Conv"] and part.regions == ()
    assert build_report(part, pats).host[0].reason == "pattern conv: check: kernel too wide"


def test_priority_beats_size_and_is_reported() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", F)
    m = single_function_module(b.finish([b.op("Relu", b.op("Neg", x))]))
    big = pattern("big", is_op("Relu", name="r")(is_op("Neg", name="n")(wildcard("x"))), 1,
                  target="npu")
    small = pattern("small", is_op("Neg", name="n")(wildcard("x")), 5, target="npu")
    part = partition(m, [big, small])
    assert [c.pattern.name for r in part.regions for c in r.composites] == ["small"]
    relu = next(h for h in build_report(part, [big, small]).host if h.op == "Relu")
    assert "big matched, but small" in relu.reason


def test_qdq_params_are_carried_per_channel() -> None:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("int8", (1, 4, 8, 8)))
    s = np.array(0.1, np.float32)
    zp = np.array(3, np.int8)
    xd = b.op("DequantizeLinear", x, s, zp)
    wq = np.ones((4, 4, 1, 1), np.int8)
    ws = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    wd = b.op("DequantizeLinear", wq, ws, np.zeros(4, np.int8), axis=0)
    c = b.op("Conv", xd, wd)
    q = b.op("QuantizeLinear", c, np.array(0.5, np.float32), np.array(-1, np.int8))
    other = b.op("Relu", xd)  # a host consumer of the shared DQ keeps it alive
    m = single_function_module(b.finish([q, other]))
    conv = is_op("Conv", name="conv")(wildcard("x", dtype="int8"),
                                      is_const("w", dtype="int8"))
    part = partition(m, [pattern("conv", conv, 1, target="npu")])
    (comp,) = [f for f in part.module.functions if f.attrs.get("kind") == "composite"]
    assert comp.attrs["w.scale"] == pytest.approx((0.1, 0.2, 0.3, 0.4))
    assert comp.attrs["w.axis"] == 0 and comp.attrs["x.zero_point"] == (3,)
    assert comp.attrs["out.scale"] == (0.5,) and comp.attrs["out.dtype"] == "int8"
    assert [p.type.dtype for p in comp.params] == ["int8"]
    xv = np.random.default_rng(0).integers(-128, 127, (1, 4, 8, 8)).astype(np.int8)
    for a, g in zip(run(m, [xv]), run(part.module, [xv]), strict=True):
        np.testing.assert_array_equal(a, g)


def test_bad_patterns_raise_partition_errors() -> None:
    with pytest.raises(PartitionError, match="optional node"):
        pattern("p", is_op("Relu")(wildcard("x")).optional(), 1)
    dup = pattern("p", is_op("Relu")(wildcard("x")), 1)
    b = FunctionBuilder("main")
    m = single_function_module(b.finish([b.op("Relu", b.param("x", F))]))
    with pytest.raises(PartitionError, match="unique"):
        partition(m, [dup, dup])


def test_yaml_tensor_shape_and_optional_input() -> None:
    """`shape` (null = any extent) and `optional` from target.yaml reach the matcher:
    Gemm with or without its bias C matches one pattern; a weight of the wrong shape
    (its input too) stays on the host with the failing constraint as its reason."""
    spec = PatternSpec.model_validate({
        "priority": 1, "root": "g",
        "nodes": {"g": {"op": "Gemm(transA=0)", "in": ["x", "w", "c"]}},
        "tensors": {"x": {"shape": [None, 4]}, "w": {"shape": [4, None], "const": True},
                    "c": {"rank": 1, "const": True, "optional": True}},
        "lower": {"template": "dense.c.j2"}})
    pats = [compile_pattern("gemm", spec, "npu")]
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (2, 4)))
    with_c = b.op("Gemm", x, np.ones((4, 3), np.float32), np.ones(3, np.float32))
    without_c = b.op("Gemm", x, np.ones((4, 5), np.float32))
    wrong_w = b.op("Gemm", with_c, np.ones((3, 2), np.float32))
    m = single_function_module(b.finish([without_c, wrong_w]))
    part = partition(m, pats)
    matched = [c for r in part.regions for c in r.composites]
    assert sorted(c.tensors["c"] is None for c in matched) == [False, True]
    (host,) = build_report(part, pats).host
    assert host.reason == "pattern gemm: requires x shape [None, 4] (got ['2', '3'])"
    xv = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    for want, got in zip(run(m, [xv]), run(part.module, [xv]), strict=True):
        np.testing.assert_array_equal(want, got)
