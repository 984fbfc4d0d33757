"""Fixed-point requantization: (mult, shift) represents the scale ratio to 31 bits, and the
NPU formula is the exact rational product rounded half up."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vendor_sdk.codegen.requant import fixed_point


@given(st.floats(min_value=1e-9, max_value=1e6, allow_nan=False))
def test_multiplier_is_31_bit_accurate(real: float) -> None:
    fp = fixed_point(real)
    assert 0 <= fp.shift <= 63
    if fp.shift < 63:
        assert 1 << 30 <= fp.mult < 1 << 31
        assert abs(Fraction(fp.mult, 1 << fp.shift) - Fraction(real)) <= Fraction(real) / 2**30


@given(st.floats(min_value=1e-6, max_value=10.0), st.lists(
    st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=32))
def test_apply_is_round_half_up_of_the_exact_product(real: float, accs: list[int]) -> None:
    fp = fixed_point(real)
    got = fp.apply(np.array(accs, np.int64))
    for a, g in zip(accs, got, strict=True):
        exact = Fraction(a * fp.mult, 1 << fp.shift)
        want = (exact + Fraction(1, 2)).__floor__()
        assert g == want
