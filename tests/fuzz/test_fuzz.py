"""The model fuzzer in CI: fixed seeds through quantize -> compile -> fsim -> check.

`make fuzz N=500` runs many seeds; this runs a fixed set (deterministic: seeded specs,
weights, calibration and inputs; onnxruntime on one thread) in about two minutes.
"""

from __future__ import annotations

import collections

import onnx
from harness import OPTION_SETS, Outcome, run_seed
from minimise import minimise
from modelgen import Block, Spec, build, random_spec

CI_SEEDS = range(24)
# Seeds that fail today, with their class; each has a minimised xfail test in
# test_regressions.py. A seed that starts passing fails this test: take it out.
KNOWN: dict[int, str] = {}


def test_fixed_seeds_agree_with_onnxruntime() -> None:
    outs = [run_seed(s) for s in CI_SEEDS]
    got = {o.seed: o.cls for o in outs if o.failed}
    for o in outs:
        assert o.cls == KNOWN.get(o.seed, "ok"), \
            f"seed {o.seed} ({o.options}): {o.cls}: {o.detail} (tests/fuzz/run.py to reproduce)"
    assert set(got) == set(KNOWN)
    # A model that runs all on the host tests nothing of the NPU: most must offload.
    offloading = [o for o in outs if o.offloaded]
    assert len(offloading) >= 0.6 * len(outs), [(o.seed, o.offloaded, o.total) for o in outs]
    assert sum(o.offloaded for o in outs) >= 0.2 * sum(o.total for o in outs)
    assert {o.options for o in outs} == set(OPTION_SETS)


def test_generator_covers_realistic_models() -> None:
    """200 specs: each a valid opset-17 model (onnx's full checker, in build), every
    building block of the brief present, batches 1, 2 and symbolic."""
    ops: collections.Counter[str] = collections.Counter()
    feats: set[str] = set()
    batches = set()
    for seed in range(200):
        spec = random_spec(seed)
        batches.add(spec.batch)
        m = build(spec)
        for n in m.graph.node:
            ops[n.op_type] += 1
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            if n.op_type == "Conv":
                feats.add(f"conv{len(a['kernel_shape'])}d")
                feats |= {"depthwise"} if a["group"] > 1 and m.graph.initializer else set()
                feats |= {"dilated"} if max(a["dilations"]) > 1 else set()
                feats |= {"strided"} if max(a["strides"]) > 1 else set()
        for b in spec.blocks:
            if b.kind in ("residual", "dense_residual"):
                feats.add(f"{b.get('op', 'Add')} swap={b.get('swap')}")
    want = {"Conv", "Gemm", "MatMul", "Add", "Mul", "Concat", "Relu", "Clip", "LeakyRelu",
            "Sigmoid", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
            "Flatten", "Reshape", "Transpose", "Softmax", "LayerNormalization"}
    assert want <= set(ops), want - set(ops)
    assert {"conv1d", "conv2d", "depthwise", "dilated", "strided", "Add swap=True",
            "Add swap=False", "Mul swap=True", "Concat swap=False"} <= feats, feats
    assert batches == {1, 2, "N"}


def test_specs_are_deterministic() -> None:
    for seed in (3, 17):
        assert random_spec(seed) == random_spec(seed)
        assert build(random_spec(seed)).SerializeToString() == \
            build(random_spec(seed)).SerializeToString()


def test_every_subset_of_blocks_builds() -> None:
    """What the minimiser relies on: dropping any blocks leaves a valid model."""
    spec = random_spec(2)
    for i in range(len(spec.blocks)):
        build(Spec(spec.batch, spec.kind, spec.shape, spec.blocks[i:]))
        build(Spec(spec.batch, spec.kind, spec.shape, spec.blocks[:i]))


def test_minimise_keeps_the_failure_and_drops_the_rest() -> None:
    """A stand-in run that fails whenever a Mul residual is present: the minimiser ends at
    that block alone, at batch 1, on the smallest input it can reach."""
    def run(spec: Spec, options: str) -> Outcome:
        bad = any(b.kind == "residual" and b.get("op") == "Mul" for b in spec.blocks)
        return Outcome(None, options, True, 0, 0, "mismatch: > 2 LSB" if bad else "ok")

    mul = Block("residual", 7, (("k", 3), ("op", "Mul"), ("swap", True), ("gain", 4.0),
                                ("act", "relu")))
    conv = Block("conv", 8, (("co", 8), ("k", 3), ("stride", 1), ("dilation", 1),
                             ("pad", "same"), ("groups", "1"), ("bias", True), ("act", "relu")))
    spec = Spec(2, "img", (8, 6, 6), (conv, mul, conv, Block("gpool", 9, (("op", "MaxPool"),))))
    small, out = minimise(spec, "per-channel", "mismatch: > 2 LSB", run=run)
    assert out.cls == "mismatch: > 2 LSB"
    assert small.batch == 1 and small.shape == (1, 1, 1)
    assert [b.kind for b in small.blocks] == ["residual"]
    assert dict(small.blocks[0].params) == {"k": 1, "op": "Mul", "swap": False, "gain": 1.0,
                                            "act": "none"}
