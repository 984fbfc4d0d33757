"""The loop-nest description built from each intrinsic's YAML `compute` agrees with the
statement's own numpy reference — the tensorizer matches the first and IntrinCalls run
the second, so a disagreement would tensorize programs onto the wrong meaning."""

from __future__ import annotations

import numpy as np
import pytest

from core.tir.interp import run
from vendor_sdk.intrinsics.tensor_intrin import _param_order, describe
from vendor_sdk.plugins import resolve_target

TARGET = resolve_target("reference_npu")
VARIANTS = [(name, variant) for name, sem in TARGET.semantics.items() for variant in sem.variants]


def test_every_reference_npu_intrinsic_has_a_description() -> None:
    assert len(VARIANTS) >= 10
    for name, variant in VARIANTS:
        describe(TARGET.semantics[name], variant)


@pytest.mark.parametrize(("name", "variant"), VARIANTS, ids=[f"{n}.{v}" if v else n
                                                              for n, v in VARIANTS])
def test_description_interprets_to_the_reference(name: str, variant: str) -> None:
    sem = TARGET.semantics[name]
    desc = describe(sem, variant)
    for case in sem.cases(random=4, seed=7):
        expected = sem.reference(case.inputs, variant)
        args = []
        for op, buf in zip(_param_order(sem), desc.params, strict=True):
            if op.kind == "input":
                args.append(np.array(case.inputs[op.name]))
            elif op.kind == "inout":
                args.append(np.array(case.inputs[op.name], dtype=buf.dtype))
            else:
                args.append(np.zeros(np.shape(expected), dtype=buf.dtype))
        sizes = {f"ext_{a}": n for a, n in case.extents.items()}
        run(desc, args, sizes)
        assert desc.num_outputs == 1
        out = args[-1]
        np.testing.assert_array_equal(out, expected, err_msg=f"{name}.{variant} {case.name}")
