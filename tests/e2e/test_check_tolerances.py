"""The numerics check's building blocks: output tolerances that pass requantization rounding
and fail miscompiles, and the layers' integer references."""

from __future__ import annotations

import numpy as np
import pytest

from tests.e2e.test_im2col import _layer
from vendor_sdk.codegen.layers import Layer, reference
from vendor_sdk.codegen.requant import fixed_point, requant_reference
from vendor_sdk.runtime.check import CheckReport, OutputKind, check_output
from vendor_sdk.runtime.layer_refs import gemm_reference, requantize
from vendor_sdk.target.lowering import Tensorize

QUANT = OutputKind(lsb=1 / 255, softmax=True, quantized=True, classifier=True)


def _probs(seed: int, n: int = 1000) -> np.ndarray:
    """A quantized softmax output as SqueezeNet/ResNet-50 give it: one large class."""
    q = np.zeros((1, n), np.int64)
    q[0, np.random.default_rng(seed).integers(0, n, 3)] = [3, 20, 250]
    return q


def test_rounding_passes_a_miscompile_fails() -> None:
    ref = _probs(0)
    ours = ref.copy()
    ours[0, ref[0].argsort()[-2]] += 1  # a tie rounded the other way: 1 LSB
    assert check_output("p", ours / 255, ref / 255, QUANT).ok
    # ResNet-50's miscompile: the top class lost (254 LSB), top-1 flipped
    top = int(ref.argmax())
    bad = ref.copy()
    bad[0, top] = 0
    res = check_output("p", bad / 255, ref / 255, QUANT)
    assert not res.ok and res.top1 == (0, 1)
    assert any("250 LSB off" in f for f in res.drift)
    assert any("top class flipped" in f for f in res.failures)  # never explained away
    # a zero point off by one: every element 1 LSB off
    res = check_output("p", (ref + 1) / 255, ref / 255, QUANT)
    assert not res.ok and any("100.0% of elements off" in f for f in res.drift)
    # several LSB on a few elements
    few = ref.copy()
    few[0, :30] += 2
    res = check_output("p", few / 255, ref / 255, QUANT)
    assert not res.ok and any("more than 1 LSB off" in f for f in res.drift)


class _Layers:
    """A layer check's verdict (layer_check.LayerReport's interface)."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def failures(self) -> list[str]:
        return [] if self.ok else ["first diverging layer: ..."]


def test_drift_is_explained_only_by_a_passing_layer_check() -> None:
    ref = _probs(0)
    few = ref.copy()
    few[0, :30] += 2                                  # beyond the share tolerance
    drift = check_output("p", few / 255, ref / 255, QUANT)
    assert drift.drift and not drift.failures
    assert not CheckReport("output", (drift,)).ok     # output alone cannot tell
    layers_ok = CheckReport("layers", (drift,), _Layers(True))
    assert layers_ok.ok and layers_ok.failures() == []
    assert "compounded over the layers" in layers_ok.warnings()[0]
    bad_layer = CheckReport("layers", (drift,), _Layers(False))
    assert not bad_layer.ok and bad_layer.warnings() == []
    assert any("more than 1 LSB off" in f for f in bad_layer.failures())
    top = int(ref.argmax())
    flipped = ref.copy()
    flipped[0, top] = 0
    lost = check_output("p", flipped / 255, ref / 255, QUANT)
    assert not CheckReport("layers", (lost,), _Layers(True)).ok  # a flipped top class


def test_near_tie_top1_flip_is_rounding() -> None:
    ref = np.array([[10, 100, 99, 5, 0, 0]]) / 255.0
    ours = np.array([[10, 99, 100, 5, 0, 0]]) / 255.0
    res = check_output("p", ours, ref, QUANT)
    assert res.ok and res.top1 == (0, 1)


def test_float_output_is_relative() -> None:
    """A float model whose outputs reach 6.2: float noise passes (an absolute 1e-5 failed
    it), a 1% error fails."""
    kind = OutputKind(None, False, False, False)
    ref = np.linspace(0, 6.2, 64, dtype=np.float32).reshape(8, 8)
    noisy = ref + np.float32(2e-5) * np.sign(np.sin(np.arange(64))).reshape(8, 8)
    assert check_output("y", noisy, ref, kind).ok
    res = check_output("y", ref * 1.01, ref, kind)
    assert not res.ok and "of its range off" in res.drift[0]
    nan = ref.copy()
    nan[0, 0] = np.nan
    assert not check_output("y", nan, ref, kind).ok


def test_float_softmax_in_logit_lsb() -> None:
    """Softmax of dequantized logits: a logit 1 LSB off moves p_i by at most 2 LSB p_i."""
    lsb = 0.05
    kind = OutputKind(lsb, True, False, True)
    logits = np.random.default_rng(1).integers(-40, 40, (2, 10)) * lsb

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    bumped = logits.copy()
    bumped[0, 3] += lsb
    assert check_output("p", softmax(bumped), softmax(logits), kind).ok
    bumped[0, 3] += 20 * lsb
    assert not check_output("p", softmax(bumped), softmax(logits), kind).ok


@pytest.mark.parametrize("ci", [3, 20, 130])  # 130 * 9 > 1024: float64 sums
def test_conv_reference_is_the_layers_reference(ci: int) -> None:
    for case in (((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), (9, 10)),
                 ((3, 3), (1, 1), (2, 2), (2, 0, 1, 2), (7, 6)),
                 ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), (4, 4))):
        layer = _layer(ci, 20, *case, 16, seed=ci)
        x = np.random.default_rng(ci).integers(-128, 128, layer.in_shape).astype(np.int8)
        np.testing.assert_array_equal(gemm_reference(layer, x), reference(layer, x))


def test_matmul_reference_and_requantize() -> None:
    rng = np.random.default_rng(5)
    k, n = 1100, 24
    w = rng.integers(-127, 128, (1104, 32)).astype(np.int8)
    w[k:] = 0
    fps = tuple(fixed_point(float(s)) for s in rng.uniform(1e-5, 1e-3, 32))
    layer = Layer("m", "p", Tensorize(("gemm",)), "n", "MatMul", (3, k), (3, n), 0, w,
                  rng.integers(-2**20, 2**20, 32).astype(np.int32), fps, -5, -128, 127)
    x = rng.integers(-128, 128, (3, k)).astype(np.int8)
    np.testing.assert_array_equal(gemm_reference(layer, x), reference(layer, x))
    acc = rng.integers(-2**31, 2**31, (50, 32))
    mult = np.array([fp.mult for fp in fps])
    shift = np.array([fp.shift for fp in fps])
    np.testing.assert_array_equal(requantize(acc, mult, shift, layer),
                                  requant_reference(acc, list(fps), -5, -128, 127))
