"""ONNX's backend conformance suite, run on the graph IR (import + reference executor).

Which tests run is derived from the op table, not a hand list: a node test (or
an on-disk model test: pytorch-converted, pytorch-operator, simple) is
included when every node of its model is an op the importer supports
(:func:`vendor_sdk.frontend.onnx.supported_ops`), so new ops join as they
land. Included tests that cannot pass are expected failures below, each with its reason;
everything else must pass. Only included tests are exposed to pytest (skipping
thousands of unsupported or CUDA cases would just be noise).

Run: ``.venv/bin/python -m pytest -n 2 -q tests/test_onnx_conformance.py``
"""

from __future__ import annotations

import glob
import os
import re
import unittest
import warnings

import numpy as np
import onnx
import onnx.backend.test
import pytest
from onnx import numpy_helper
from onnx.backend.test.case.test_case import TestCase as OnnxTestCase
from onnx.backend.test.loader import load_model_tests
from onnx_backend import IRBackend

from core.executor import run
from core.graph import Call
from core.lower import lower_module
from vendor_sdk.frontend.onnx import MIN_OPSET, supported_ops

# (regex on the test name, reason). Every entry says why the IR cannot pass it.
EXCLUDED: tuple[tuple[str, str], ...] = (
    (r"^test_(cast|castlike)_.*(BFLOAT16|FLOAT8|FLOAT4|INT4|INT2)",
     "element types outside core.types.DTYPES: bfloat16, float8/float4 variants, int2/int4"),
    (r"^test_(de)?quantizelinear_(e4m3fn|e5m2|float4e2m1|u?int2|u?int4)",
     "float8/float4/int2/int4 quantized types are outside core.types.DTYPES"),
    (r"^test_range_bfloat16", "bfloat16 is outside core.types.DTYPES"),
    (r"^test_equal_string", "string tensors are outside core.types.DTYPES"),
    (r"^test_identity_(opt|sequence)_", "optional and sequence values: the IR has tensors only"),
    (r"^test_training_dropout", "Dropout is inference-only: training draws a random mask"),
    (r"^test_batchnorm_.*_training_mode", "BatchNormalization is inference-only (no running "
     "mean/var outputs)"),
    (r"^test_maxpool_with_argmax", "MaxPool's optional Indices output is not produced"),
    (r"^test_attention_.*_expanded", "the expanded Attention function computes Expand/Reshape "
     "targets from tensor values (masks, past lengths), not from shapes: data-dependent shapes "
     "are outside the IR's static-or-symbolic typing"),
    (r"^test_\w*_(bf16|bfloat16)_", "bfloat16 is outside core.types.DTYPES"),
    (r"^test_resize_.*(cubic|antialias|tf_crop_and_resize)",
     "Resize: cubic interpolation, antialiasing and tf_crop_and_resize are not supported "
     "(import rejects them by name); torch's upsampling needs none of them"),
    (r"^test_resize_downsample_scales_linear_align_corners",
     "the suite computes align_corners from the unrounded in * scale length; onnxruntime uses "
     "the integer output length, and results are checked against onnxruntime"),
)


def _model(case: OnnxTestCase) -> onnx.ModelProto:
    if case.model is not None:
        return case.model
    # Model tests stored on disk (pytorch-converted, pytorch-operator, simple).
    assert case.model_dir is not None
    return onnx.load(os.path.join(case.model_dir, "model.onnx"))


def _covered(model: onnx.ModelProto, ops: frozenset[str]) -> bool:
    return all(n.domain in ("", "ai.onnx") and n.op_type in ops for n in model.graph.node)


def _opset(model: onnx.ModelProto) -> int:
    # 0 for models that import only other domains (training, ML); none of them is included.
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _cases() -> list[OnnxTestCase]:
    # "real" models are downloaded at test time; this suite never touches the network.
    kinds = ("node", "pytorch-converted", "pytorch-operator", "simple")
    with warnings.catch_warnings():  # the node-test generators overflow on purpose
        warnings.simplefilter("ignore")
        return [c for kind in kinds for c in load_model_tests(kind=kind)]


def _names(names: list[str]) -> str:
    return "^(" + "|".join(re.escape(n) for n in names) + ")_cpu$"


SUPPORTED = frozenset(supported_ops())
CASES = {c.name: c for c in _cases()}
MODELS = {name: _model(c) for name, c in CASES.items()}
INCLUDED = sorted(name for name, m in MODELS.items() if _covered(m, SUPPORTED))
# Old PyTorch exports (opset 6) and a few opset-1 node tests predate the frontend's minimum.
TOO_OLD = sorted(name for name in INCLUDED if _opset(MODELS[name]) < MIN_OPSET)
_KEEP = re.compile(_names(INCLUDED))

backend_test = onnx.backend.test.BackendTest(IRBackend, __name__)
backend_test.include(_KEEP.pattern)
# Expected failures, not skips: they still run, and one that starts passing fails the
# suite (unexpected success) so a stale entry cannot hide.
for pattern, _reason in EXCLUDED:
    backend_test.xfail(pattern)
_TOO_OLD = re.compile(_names(TOO_OLD)) if TOO_OLD else None
_TOO_OLD_REASON = (f"model opset is below the frontend's MIN_OPSET {MIN_OPSET} (lowering it would "
                   "also need converters for the pre-7 'broadcast'/'axis' attributes)")


def _exposed(case: type[unittest.TestCase]) -> type[unittest.TestCase]:
    tests = {name: getattr(case, name) for name in dir(case) if _KEEP.match(name)}
    for name in tests:
        if _TOO_OLD is not None and _TOO_OLD.match(name):
            tests[name] = unittest.expectedFailure(tests[name])  # _TOO_OLD_REASON
    return type(case.__name__, (unittest.TestCase,), {"__module__": __name__, **tests})


globals().update({name: _exposed(case) for name, case in backend_test.test_cases.items()
                  if name != "OnnxBackendRealModelTest"})


def test_suite_opsets_are_ones_the_frontend_accepts() -> None:
    newest = onnx.defs.onnx_opset_version()
    assert max(_opset(m) for m in MODELS.values()) <= newest
    # The included tests reach the newest opset, so its semantics are what gets checked.
    assert max(_opset(MODELS[n]) for n in INCLUDED) == newest


# Ops whose host lowering is checked on the suite's own cases, beyond the reference above.
LOWERED = re.compile(r"^test_(resize|upsample|hardswish|hardsigmoid|expand)_")
_EXPECTED_FAILURES = [re.compile(p) for p, _ in EXCLUDED]


def _data_sets(case: OnnxTestCase) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    if case.data_sets is not None:
        return [(list(i), list(o)) for i, o in case.data_sets]
    out = []
    assert case.model_dir is not None
    for d in sorted(glob.glob(os.path.join(case.model_dir, "test_data_set_*"))):
        def load(kind: str, d: str = d) -> list[np.ndarray]:
            return [numpy_helper.to_array(onnx.load_tensor(f))
                    for f in sorted(glob.glob(os.path.join(d, f"{kind}_*.pb")))]
        out.append((load("input"), load("output")))
    return out


@pytest.mark.parametrize("name", [n for n in INCLUDED if LOWERED.match(n)
                                  and not any(p.match(n) for p in _EXPECTED_FAILURES)])
def test_host_lowering_on_the_suite_cases(name: str) -> None:
    """The op runs as a tensor program (not the numpy reference) and gives the suite's
    expected outputs, with the suite's tolerance."""
    case = CASES[name]
    rep = IRBackend.prepare(MODELS[name])
    for inputs, outputs in _data_sets(case):
        module, fed = rep._module_for(inputs)
        lowered = lower_module(module)
        main = lowered[lowered.entry]
        left = {b.value.op for blk in main.blocks for b in blk.bindings
                if isinstance(b.value, Call)}
        assert not left & {"Resize", "HardSwish", "HardSigmoid", "Expand"}, left
        got = run(lowered, [a for a, keep in zip(inputs, fed, strict=True) if keep])
        for g, w in zip(got, outputs, strict=True):
            np.testing.assert_allclose(g, w, rtol=case.rtol, atol=case.atol)
