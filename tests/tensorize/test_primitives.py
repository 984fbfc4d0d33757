"""pad, compute_at and decompose_reduction keep interpreter results; their refusals
name the condition and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorize_programs import conv1d, conv1d_ref, dense, gemm_intrin

from core.schedule import (
    ScheduleError,
    TensorizeError,
    cache_read,
    compute_at,
    decompose_reduction,
    pad,
    split,
    tensorize,
    tile,
)
from core.tir import (
    call,
    check,
    func_str,
)
from core.tir.stmt import Block, IntrinCall
from core.tir.visit import walk_stmt

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(n=st.integers(3, 14), k=st.integers(1, 3), p=st.integers(0, 2),
       sym=st.booleans(), before=st.integers(0, 3), after=st.integers(0, 3),
       tile_=st.integers(1, 5), seed=st.integers(0, 99))
def test_pad_and_compute_at_keep_results(n: int, k: int, p: int, sym: bool, before: int,
                                         after: int, tile_: int, seed: int) -> None:
    f = conv1d("N" if sym else n, k, p)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, n).astype(np.int8)
    w = rng.integers(-128, 128, k).astype(np.int8)
    want = conv1d_ref(x, w, p)
    g = check(pad(f, "X", [(before, after)]))
    assert "X_pad" in func_str(g)
    np.testing.assert_array_equal(call(g, [x, w])[0], want, func_str(g))
    h = split(cache_read(f, "W", "local"), "conv_s0", tile_)
    copy = next(b.name for b in walk_stmt(h.body) if isinstance(b, Block) and "W_local" in b.name)
    h = check(compute_at(h, copy, "conv_s0_i"))
    np.testing.assert_array_equal(call(h, [x, w])[0], want, func_str(h))


def test_pad_value_defaults_to_the_guard_and_refuses_bad_values() -> None:
    f = conv1d(6, 3, 1)
    g = pad(f, "X", [(1, 1)])
    text = func_str(g)
    assert "X[X_pad_v0 - 1], 0i8)" in text and "i32(X_pad[conv_i0 + conv_k0])" in text, text
    with pytest.raises(ScheduleError, match="not a int8") as e:
        pad(f, "X", [(1, 1)], pad_value=300)
    assert e.value.fix
    with pytest.raises(ScheduleError, match="not an input"):
        pad(f, "Y", [(1, 1)])


@SETTINGS
@given(m=st.sampled_from([5, 8, "M"]), k=st.integers(1, 12), n=st.integers(1, 9),
       tk=st.integers(1, 5), seed=st.integers(0, 99))
def test_decompose_reduction_keeps_results(m: int | str, k: int, n: int, tk: int,
                                           seed: int) -> None:
    f = tile(dense(m, k, n), ["j", "k"], [min(n, 4), tk])
    g = check(decompose_reduction(f, "C", "i"))
    assert any(isinstance(b, Block) and b.name == "C_init" for b in walk_stmt(g.body))
    rng = np.random.default_rng(seed)
    mm = 7 if m == "M" else int(m)
    a = rng.integers(-128, 128, (mm, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    np.testing.assert_array_equal(call(g, [a, b])[0], a.astype(np.int32) @ b.astype(np.int32))


def test_decompose_reduction_refuses_reduce_loops_outside() -> None:
    f = tile(dense(8, 16, 8), ["k", "i"], [8, 4])  # k_o outside i_i
    with pytest.raises(ScheduleError, match=r"depends on loops \['k_o'\] outside i_o") as e:
        decompose_reduction(f, "C", "i_o")
    assert "k_o" in e.value.fix


def test_decompose_reduction_lets_accumulating_gemm_take_a_split_reduction() -> None:
    f = cache_read(cache_read(dense(8, 16, 8), "A", "inp"), "B", "wgt")
    from core.schedule import cache_write, reorder

    f = cache_write(f, "C", "acc")
    f = split(f, "k", 8)
    f = reorder(f, "k_o", "i", "j", "k_i")
    with pytest.raises(TensorizeError, match="outside the nest"):
        tensorize(f, "i", gemm_intrin(8, 8, 8), {"m": "i", "n": "j", "k": "k_i"})
    g = decompose_reduction(f, "C", "k_o")
    g = check(tensorize(g, "i", gemm_intrin(8, 8, 8, init=False),
                        {"m": "i", "n": "j", "k": "k_i"}))
    assert sum(isinstance(s, IntrinCall) for s in walk_stmt(g.body)) == 1
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (8, 16)).astype(np.int8)
    b = rng.integers(-128, 128, (16, 8)).astype(np.int8)
    np.testing.assert_array_equal(call(g, [a, b])[0], a.astype(np.int32) @ b.astype(np.int32))
