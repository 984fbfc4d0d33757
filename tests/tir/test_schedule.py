"""Schedule primitives keep interpreter results; their errors name loop, condition, fix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorize_programs import dense  # shared test programs (tests/tensorize)

from core.schedule import (
    ScheduleError,
    TensorizeError,
    annotate,
    blockize,
    cache_read,
    cache_write,
    double_buffer,
    fuse,
    reorder,
    split,
    tensorize,
    tile,
)
from core.tir import (
    Allocate,
    Block,
    Buffer,
    Const,
    For,
    IterVar,
    Load,
    PrimFunc,
    Store,
    TensorIntrin,
    Var,
    call,
    cast,
    check,
    const,
    func_str,
    seq,
)
from core.tir.stmt import IntrinCall
from core.tir.verify import VerifyError
from core.tir.visit import walk_stmt


def _loops(f: PrimFunc) -> list[For]:
    return [s for s in walk_stmt(f.body) if isinstance(s, For)]


@st.composite
def schedules(draw: st.DrawFn) -> tuple[PrimFunc, np.ndarray, np.ndarray]:
    m, k, n = (draw(st.integers(1, 13)) for _ in range(3))
    f = dense(draw(st.sampled_from([m, "M"])), k, n)
    for _ in range(draw(st.integers(1, 5))):
        loops = _loops(f)
        kind = draw(st.sampled_from(["split", "reorder", "fuse", "tile", "cache_read",
                                     "cache_write"]))
        try:
            if kind == "split":
                f = split(f, draw(st.sampled_from(loops)).var.name, draw(st.integers(1, 6)))
            elif kind == "tile":
                names = [lp.var.name for lp in loops if lp.var.name in ("i", "j", "k")]
                if len(names) >= 2:
                    f = tile(f, names[:2], [draw(st.integers(1, 5)), draw(st.integers(1, 5))])
            elif kind == "reorder" and len(loops) >= 2:
                pick = draw(st.lists(st.sampled_from(loops), min_size=2, max_size=3,
                                     unique_by=lambda x: x.var.name))
                f = reorder(f, *(lp.var.name for lp in pick))
            elif kind == "fuse":
                outer = draw(st.sampled_from(loops))
                if isinstance(outer.body, For):
                    f = fuse(f, outer.var.name, outer.body.var.name)
            elif kind == "cache_read":
                f = cache_read(f, draw(st.sampled_from(["A", "B"])), "local")
            elif kind == "cache_write":
                f = cache_write(f, "C", "acc")
        except ScheduleError as e:
            assert e.fix and e.condition  # refused with a reason and a remedy
        check(f)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return f, rng.integers(-128, 128, (m, k)).astype(np.int8), \
        rng.integers(-128, 128, (k, n)).astype(np.int8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_random_schedules_keep_results(case: tuple[PrimFunc, np.ndarray, np.ndarray]) -> None:
    f, a, b = case
    (c,) = call(f, [a, b])
    np.testing.assert_array_equal(c, a.astype(np.int32) @ b.astype(np.int32), func_str(f))


def _gemm_intrin(m: int, n: int, k: int, init: bool = True) -> TensorIntrin:
    a = Buffer("IA", "int8", (Const(m), Const(k)), "inp")
    b = Buffer("IB", "int8", (Const(k), Const(n)), "wgt")
    c = Buffer("IC", "int32", (Const(m), Const(n)), "acc")
    x, y, z = Var("x"), Var("y"), Var("z")
    vm, vn, vk = Var("m"), Var("n"), Var("k")
    blk = Block("gemm", (IterVar(vm, Const(m)), IterVar(vn, Const(n)),
                         IterVar(vk, Const(k), "reduce")), (x, y, z),
                Store(c, (vm, vn), Load(c, (vm, vn)) + cast("int32", Load(b, (vk, vn)))
                      * cast("int32", Load(a, (vm, vk)))),
                init=Store(c, (vm, vn), const(0, "int32")) if init else None)
    body = For(x, Const(m), For(y, Const(n), For(z, Const(k), blk)))
    return TensorIntrin("gemm", PrimFunc("gemm", (a, b, c), body))


def _staged(m: int, k: int, n: int, tm: int, tn: int) -> PrimFunc:
    f = cache_read(cache_read(dense(m, k, n), "A", "inp"), "B", "wgt")
    f = cache_write(f, "C", "acc")
    return tile(f, ["i", "j"], [tm, tn])


def test_tensorize_replaces_nest_and_keeps_result() -> None:
    f = _staged(8, 16, 12, 4, 6)
    g = check(tensorize(f, "i_i", _gemm_intrin(4, 6, 16), {"m": "i_i", "n": "j_i", "k": "k"}))
    calls = [s for s in walk_stmt(g.body) if isinstance(s, IntrinCall)]
    assert len(calls) == 1 and "gemm(A_inp[4 * i_o:4 * i_o + 4" in func_str(g)
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, (8, 16)).astype(np.int8)
    b = rng.integers(-128, 128, (16, 12)).astype(np.int8)
    np.testing.assert_array_equal(call(g, [a, b])[0], a.astype(np.int32) @ b.astype(np.int32))


@pytest.mark.parametrize(("mapping", "intrin", "words"), [
    ({"m": "i_i", "n": "j_i"}, _gemm_intrin(4, 6, 16), "intrinsic axis k is unmapped"),
    ({"m": "i_i", "n": "j_i", "k": "k"}, _gemm_intrin(4, 8, 16), "needs 8"),
    ({"m": "j_i", "n": "i_i", "k": "k"}, _gemm_intrin(4, 6, 16), "runs 6 times"),
    ({"m": "i_i", "n": "j_i", "k": "k"}, _gemm_intrin(4, 6, 16, init=False), "has init"),
])
def test_tensorize_errors_say_what_and_how(mapping: dict, intrin: TensorIntrin,
                                           words: str) -> None:
    with pytest.raises(TensorizeError) as e:
        tensorize(_staged(8, 16, 12, 4, 6), "i_i", intrin, mapping)
    assert words in str(e.value) and e.value.fix


def test_tensorize_reports_scope_and_cast_mismatch() -> None:
    f = tile(dense(8, 16, 12), ["i", "j"], [4, 6])
    with pytest.raises(VerifyError, match="cache_read/cache_write it into 'inp'"):
        check(tensorize(f, "i_i", _gemm_intrin(4, 6, 16), {"m": "i_i", "n": "j_i", "k": "k"}))
    wide = dense(8, 16, 12)
    blk = next(s for s in walk_stmt(wide.body) if isinstance(s, Block))
    assert isinstance(blk.body, Store)
    plain = Store(blk.body.buffer, blk.body.indices, Load(blk.body.buffer, blk.body.indices) +
                  cast("int32", Load(wide.params[0], (Var("vi"), Var("vk")))
                       * Load(wide.params[1], (Var("vk"), Var("vj")))))
    from core.schedule.common import replace_block

    bad = replace_block(wide, "C", Block(blk.name, blk.iters, blk.bindings, plain, blk.init))
    bad = tile(bad, ["i", "j"], [4, 6])
    with pytest.raises(TensorizeError, match="a cast differs") as e:
        tensorize(bad, "i_i", _gemm_intrin(4, 6, 16), {"m": "i_i", "n": "j_i", "k": "k"})
    assert "i32(A[" in str(e.value) and e.value.fix


def test_split_refuses_guarding_bare_stores() -> None:
    x = Buffer("X", "int32", (Const(10),))
    i = Var("i")
    f = PrimFunc("scan", (x,), For(Var("i"), Const(9), Store(
        x, (i + 1,), Load(x, (i + 1,)) + Load(x, (i,)))))
    with pytest.raises(ScheduleError) as e:
        split(f, "i", 4)
    assert "loop i" in str(e.value) and "factor dividing" in e.value.fix
    with pytest.raises(ScheduleError, match="not constant"):
        annotate(dense("M", 4, 4), "i", "unrolled")
    with pytest.raises(ScheduleError, match="race"):
        annotate(dense(4, 4, 4), "k", "parallel")


def test_blockize_and_double_buffer_keep_results() -> None:
    f = blockize(tile(dense(8, 12, 6), ["i", "j"], [4, 3]), "i_i")
    outer = next(s for s in walk_stmt(f.body) if isinstance(s, Block))
    assert outer.name == "C_o" and [iv.kind for iv in outer.iters] == ["spatial", "spatial"]
    rng = np.random.default_rng(2)
    a = rng.integers(-128, 128, (8, 12)).astype(np.int8)
    b = rng.integers(-128, 128, (12, 6)).astype(np.int8)
    np.testing.assert_array_equal(call(check(f), [a, b])[0],
                                  a.astype(np.int32) @ b.astype(np.int32))
    # A row-wise staged copy: each iteration of t refills the scratch row, then uses it.
    x = Buffer("X", "float32", (Const(5), Const(7)))
    y = Buffer("Y", "float32", (Const(5), Const(7)))
    s = Buffer("S", "float32", (Const(7),), "local")
    t, c1, c2, v1, v2, vt = (Var(n) for n in ("t", "c1", "c2", "v1", "v2", "vt"))
    fill = For(c1, Const(7), Block("fill", (IterVar(vt, Const(5)), IterVar(v1, Const(7))),
                                   (t, c1), Store(s, (v1,), Load(x, (vt, v1)))))
    vt2 = Var("vt2")
    use = For(c2, Const(7), Block("use", (IterVar(vt2, Const(5)), IterVar(v2, Const(7))),
                                  (t, c2), Store(y, (vt2, v2), Load(s, (v2,)) * 2.0)))
    prog = check(PrimFunc("rows", (x, y), Allocate(s, For(t, Const(5), seq(fill, use)))))
    db = check(double_buffer(prog, "S"))
    assert "double_buffer=S" in func_str(db) and "S: float32[2, 7]" in func_str(db)
    xv = rng.standard_normal((5, 7)).astype(np.float32)
    np.testing.assert_array_equal(call(db, [xv])[0], xv * 2)
