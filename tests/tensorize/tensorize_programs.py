"""Small tensor programs shared by the tensorize tests."""

from __future__ import annotations

import numpy as np

from core.lower.build import nest
from core.tir import (
    Bin,
    Block,
    Buffer,
    Const,
    Expr,
    For,
    IterVar,
    Load,
    PrimFunc,
    Store,
    TensorIntrin,
    Var,
    cast,
    check,
    const,
    select,
)
from core.tir.expr import logical_and


def dense(m: int | str, k: int, n: int, acc: bool = True) -> PrimFunc:
    """C[i, j] = sum_k i32(A[i, k]) * i32(B[k, j]) with an init, M maybe symbolic."""
    mm = Var(m) if isinstance(m, str) else Const(m)
    a = Buffer("A", "int8", (mm, Const(k)))
    b = Buffer("B", "int8", (Const(k), Const(n)))
    c = Buffer("C", "int32", (mm, Const(n)))
    i, j, r = Var("i"), Var("j"), Var("k")
    vi, vj, vk = Var("vi"), Var("vj"), Var("vk")
    upd = cast("int32", Load(a, (vi, vk))) * cast("int32", Load(b, (vk, vj)))
    blk = Block("C", (IterVar(vi, mm), IterVar(vj, Const(n)), IterVar(vk, Const(k), "reduce")),
                (i, j, r), Store(c, (vi, vj), Load(c, (vi, vj)) + upd),
                init=Store(c, (vi, vj), const(0, "int32")) if acc else None)
    return check(PrimFunc("dense", (a, b, c), For(i, mm, For(j, Const(n), For(r, Const(k),
                                                                             blk)))))


def gemm_intrin(m: int, n: int, k: int, init: bool = True) -> TensorIntrin:
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


def conv1d(n: int | str, k: int, p: int) -> PrimFunc:
    """Y[i] = sum_t i32(X[i + t - p]) * i32(W[t]), zero padding p on both sides."""
    nn: Expr = Var(n) if isinstance(n, str) else Const(n)
    x = Buffer("X", "int8", (nn,))
    w = Buffer("W", "int8", (Const(k),))
    out_n = Bin("+", nn, Const(2 * p - k + 1)) if isinstance(n, str) else Const(n + 2 * p - k + 1)
    y = Buffer("Y", "int32", (out_n,))

    def body(i: list, r: list) -> Store:
        c = i[0] + r[0] - p
        xv: Expr = cast("int32", Load(x, (c,)))
        cond = logical_and(Bin(">=", c, Const(0)), Bin("<", c, nn)) if p else None
        if cond is not None:
            xv = select(cond, xv, const(0, "int32"))
        upd = xv * cast("int32", Load(w, (r[0],)))
        return Store(y, (i[0],), Load(y, (i[0],)) + upd)

    s = nest("conv", (out_n,), (Const(k),), body, lambda i: Store(y, (i[0],), const(0, "int32")))
    return check(PrimFunc("conv1d", (x, w, y), s))


def conv1d_ref(x: np.ndarray, w: np.ndarray, p: int) -> np.ndarray:
    xp = np.pad(x.astype(np.int32), p)
    return np.array([int(np.dot(xp[i:i + len(w)], w.astype(np.int32)))
                     for i in range(len(xp) - len(w) + 1)], np.int32)




def conv2d_int(n: int | str, ci: int, h: int, w: int, co: int, k: int, stride: int,
               pad_: int, group: int = 1, bias: bool = False) -> PrimFunc:
    """Integer conv (ConvInteger without zero points, maybe a bias init), lowered by
    core.lower.nn.conv2d exactly as the graph lowering does it."""
    from core.lower.nn import conv2d
    from core.ops.window import Window
    from core.tir.expr import from_dim  # noqa: F401  (symbolic batch dims are Vars)

    nn: Expr = Var(n) if isinstance(n, str) else Const(n)
    x = Buffer("X", "int8", (nn, Const(ci), Const(h), Const(w)))
    wt = Buffer("W", "int8", (Const(co), Const(ci // group), Const(k), Const(k)))
    oh, ow = (h + 2 * pad_ - k) // stride + 1, (w + 2 * pad_ - k) // stride + 1
    y = Buffer("Y", "int32", (nn, Const(co), Const(oh), Const(ow)))
    win = Window((k, k), (stride, stride), (1, 1), (pad_,) * 4, "NOTSET")
    b = Buffer("Bias", "int32", (Const(co),)) if bias else None
    body = conv2d(x, wt, b, win, group, y, (None, None))
    if b is not None:  # ConvInteger has no bias: start from it through the init instead
        from core.tir.visit import map_stmt

        def init_bias(s: object) -> object | None:
            if isinstance(s, Block) and s.init is not None:
                assert isinstance(s.init, Store)
                return Block(s.name, s.iters, s.bindings, s.body,
                             Store(y, s.init.indices, Load(b, (s.iters[1].var,))), s.predicate)
            return None

        body = map_stmt(body, init_bias)  # type: ignore[arg-type]
    params = (x, wt, *((b,) if b is not None else ()), y)
    return check(PrimFunc("conv2d", params, body))


def conv2d_ref(x: np.ndarray, w: np.ndarray, stride: int, pad_: int, group: int,
               bias: np.ndarray | None = None) -> np.ndarray:
    n, _, h, wd = x.shape
    co, cg, k, _ = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (pad_, pad_), (pad_, pad_)))
    oh, ow = (h + 2 * pad_ - k) // stride + 1, (wd + 2 * pad_ - k) // stride + 1
    y = np.zeros((n, co, oh, ow), np.int64)
    mg = co // group
    for o in range(co):
        g = o // mg
        for dy in range(k):
            for dx in range(k):
                patch = xp[:, g * cg:(g + 1) * cg, dy:dy + stride * oh:stride,
                           dx:dx + stride * ow:stride]
                y[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, dy, dx].astype(np.int64))
    if bias is not None:
        y += bias.astype(np.int64)[None, :, None, None]
    return y.astype(np.int32)
