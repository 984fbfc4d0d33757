"""Convolution, matrix products, pooling, softmax and layer norm as tensor programs.

Padding is a ``select`` on the in-bounds condition with the pad value the
op needs (0 for sums, the zero point for ConvInteger, the lowest value for
max pooling), so the nest reads the input tensor directly and a schedule
can later materialise the padded copy where an intrinsic needs full tiles.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.graph import Attrs
from core.lower.build import LowerError, nest
from core.ops.window import Window
from core.tir.expr import Bin, Const, Expr, Load, Unary, Var, binop, cast, const, logical_and
from core.tir.expr import select as sel
from core.tir.stmt import Allocate, Buffer, Stmt, Store, seq


def _window_index(win: Window, out_i: Sequence[Expr], k_i: Sequence[Expr],
                  sizes: Sequence[Expr]) -> tuple[list[Expr], Expr | None]:
    """Input coordinates of each spatial dim and the in-bounds condition (None: always)."""
    coords, conds = [], []
    for d, (o, k) in enumerate(zip(out_i, k_i, strict=True)):
        c = binop("-", binop("+", binop("*", o, win.strides[d]),
                              binop("*", k, win.dilations[d])), win.pads[d])
        coords.append(c)
        if win.pads[d] or win.pads[d + win.rank]:
            conds += [Bin(">=", c, Const(0)), Bin("<", c, sizes[d])]
    return coords, logical_and(*conds)


def conv2d(x: Buffer, w: Buffer, bias: Buffer | None, win: Window, group: int, out: Buffer,
           zero_points: tuple[Buffer | None, Buffer | None] | None = None) -> Stmt:
    """Grouped N-d correlation; ``zero_points`` given means ConvInteger (int32 result)."""
    if win.auto_pad not in ("NOTSET", "VALID"):
        raise LowerError("Conv with auto_pad SAME_*: resolve the pads (frontend) first")
    cg = w.shape[1]
    mg = binop("//", w.shape[0], group)
    rank = win.rank

    def body(i: list, k: list) -> Store:
        n, m, spatial = i[0], i[1], i[2:]
        c, taps = k[0], k[1:]
        coords, inb = _window_index(win, spatial, taps, x.shape[2:])
        chan = binop("+", binop("*", binop("//", m, mg), cg), c)
        xv: Expr = Load(x, (n, chan, *coords))
        wv: Expr = Load(w, (m, c, *taps))
        if zero_points is not None:
            xz, wz = zero_points
            xv, wv = cast("int32", xv), cast("int32", wv)
            if xz is not None:
                xv = Bin("-", xv, cast("int32", Load(xz, (Const(0),) * xz.rank)))
            if wz is not None:
                wv = Bin("-", wv, cast("int32", Load(wz, (m,) if wz.rank else ())))
        if inb is not None:
            xv = sel(inb, xv, const(0, xv.dtype))  # padding contributes nothing
        return Store(out, tuple(i), Bin("+", Load(out, tuple(i)), Bin("*", xv, wv)))

    def init(i: list) -> Store:
        v = Load(bias, (i[1],)) if bias is not None else const(0, out.dtype)
        return Store(out, tuple(i), v)

    return nest("conv", out.shape, (cg, *w.shape[2:2 + rank]), body, init)


def matmul(a: Buffer, b: Buffer, out: Buffer, acc: str | None = None,
           zero_points: tuple[Buffer | None, Buffer | None] = (None, None)) -> Stmt:
    """numpy.matmul for rank >= 2 operands (batch dims broadcast)."""
    if a.rank < 2 or b.rank < 2:
        raise LowerError("MatMul with a 1-D operand: reshape it to 2-D first")
    kdim = a.shape[-1]
    rank = out.rank

    def operand(buf: Buffer, i: list, last2: tuple[Expr, Expr]) -> tuple[Expr, ...]:
        lead = rank - buf.rank
        batch = [Const(0) if d == Const(1) else i[lead + j] for j, d in enumerate(buf.shape[:-2])]
        return (*batch, *last2)

    def body(i: list, k: list) -> Store:
        av: Expr = Load(a, operand(a, i, (i[-2], k[0])))
        bv: Expr = Load(b, operand(b, i, (k[0], i[-1])))
        if acc is not None:
            av, bv = cast(acc, av), cast(acc, bv)
            za, zb = zero_points
            if za is not None:
                av = Bin("-", av, cast(acc, Load(za, (Const(0),) * za.rank)))
            if zb is not None:
                bv = Bin("-", bv, cast(acc, Load(zb, (Const(0),) * zb.rank)))
        return Store(out, tuple(i), Bin("+", Load(out, tuple(i)), Bin("*", av, bv)))

    return nest("matmul", out.shape, (kdim,), body,
                lambda i: Store(out, tuple(i), const(0, out.dtype)))


def gemm(a: Buffer, b: Buffer, c: Buffer | None, attrs: Attrs, out: Buffer) -> Stmt:
    ta, tb = attrs.get_int("transA"), attrs.get_int("transB")
    alpha, beta = attrs.get_float("alpha"), attrs.get_float("beta")
    kdim = a.shape[0] if ta else a.shape[1]

    def body(i: list, k: list) -> Store:
        av = Load(a, (k[0], i[0]) if ta else (i[0], k[0]))
        bv = Load(b, (i[1], k[0]) if tb else (k[0], i[1]))
        return Store(out, tuple(i), Bin("+", Load(out, tuple(i)), Bin("*", av, bv)))

    prod = nest("gemm", out.shape, (kdim,), body,
                lambda i: Store(out, tuple(i), const(0, out.dtype)))

    def scale(i: list, _: list) -> Store:
        v: Expr = Bin("*", const(alpha, out.dtype), Load(out, tuple(i)))
        if c is not None:
            cidx = tuple(Const(0) if d == Const(1) else i[out.rank - c.rank + j]
                         for j, d in enumerate(c.shape))
            v = Bin("+", v, Bin("*", const(beta, out.dtype), Load(c, cidx)))
        return Store(out, tuple(i), v)

    return seq(prod, nest("gemm_epilogue", out.shape, (), scale))


def pool(op: str, x: Buffer, win: Window, attrs: Attrs, out: Buffer) -> Stmt:
    """MaxPool / AveragePool (any rank) and the global variants (win is None-like)."""
    if win.auto_pad not in ("NOTSET", "VALID"):
        raise LowerError(f"{op} with auto_pad SAME_*: resolve the pads first")
    is_max = op == "MaxPool"
    from core.lower.build import lowest

    pad = const(lowest(x.dtype), x.dtype) if is_max else const(0, x.dtype)

    def body(i: list, k: list) -> Store:
        coords, inb = _window_index(win, i[2:], k, x.shape[2:])
        v: Expr = Load(x, (i[0], i[1], *coords))
        if inb is not None:
            v = sel(inb, v, pad)
        cur = Load(out, tuple(i))
        return Store(out, tuple(i), binop("max", cur, v) if is_max else Bin("+", cur, v))

    red = nest(op.lower(), out.shape, tuple(Const(k) for k in win.kernel), body,
               lambda i: Store(out, tuple(i), pad))
    if is_max:
        return red
    include = attrs.get_int("count_include_pad", 0)

    def divide(i: list, _: list) -> Store:
        count: Expr = Const(1)
        for d in range(win.rank):
            if win.dilations[d] != 1:
                raise LowerError("AveragePool with dilation has no lowering")
            start = binop("-", binop("*", i[2 + d], win.strides[d]), win.pads[d])
            hi_bound = binop("+", x.shape[2 + d], win.pads[d + win.rank]) if include \
                else x.shape[2 + d]
            lo_bound = Const(-win.pads[d]) if include else Const(0)
            hi = binop("min", binop("+", start, win.kernel[d]), hi_bound)
            lo = binop("max", start, lo_bound)
            count = binop("*", count, binop("-", hi, lo))
        return Store(out, tuple(i), Bin("/", Load(out, tuple(i)), cast(out.dtype, count)))

    return seq(red, nest("avgpool_div", out.shape, (), divide))


def global_pool(op: str, x: Buffer, out: Buffer) -> Stmt:
    spatial = x.shape[2:]
    is_max = op == "GlobalMaxPool"
    from core.lower.build import lowest

    def body(i: list, k: list) -> Store:
        v = Load(x, (i[0], i[1], *k))
        cur = Load(out, tuple(i))
        return Store(out, tuple(i), binop("max", cur, v) if is_max else Bin("+", cur, v))

    init = const(lowest(x.dtype) if is_max else 0, x.dtype)
    red = nest(op.lower(), out.shape, spatial, body, lambda i: Store(out, tuple(i), init))
    if is_max:
        return red
    count: Expr = Const(1)
    for d in spatial:
        count = binop("*", count, d)
    return seq(red, nest("gavg_div", out.shape, (), lambda i, _: Store(
        out, tuple(i), Bin("/", Load(out, tuple(i)), cast(out.dtype, count)))))


def _reduced(x: Buffer, axis: int, name: str) -> Buffer:
    return Buffer(name, x.dtype, tuple(d for k, d in enumerate(x.shape) if k != axis))


def softmax(x: Buffer, axis: int, out: Buffer, log: bool = False) -> Stmt:
    """max, ``out = exp(x - max)``, the sum of ``out``, then ``out * (1 / sum)`` (or
    ``x - max - log(sum)``).

    Each ``exp`` is computed once and stored, and the same loop adds it to the row's
    sum (a reduction block with a side store: rfactor keeps the store in its lanes).
    One reciprocal per row and a multiply per element, as onnxruntime does: a vector
    divide costs several multiplies, and the result differs from ``out / sum`` by at
    most an ulp or so (the reference op divides; tests compare within float rounding).
    """
    mx, sm = _reduced(x, axis, f"{out.name}_max"), _reduced(x, axis, f"{out.name}_sum")

    def at(i: list, k: Var | Expr) -> tuple[Expr, ...]:
        return (*i[:axis], k, *i[axis:])

    def rest(i: list) -> tuple[Expr, ...]:
        return tuple(v for d, v in enumerate(i) if d != axis)

    lo = const(float("-inf"), x.dtype)
    s1 = nest("softmax_max", mx.shape, (x.shape[axis],), lambda i, k: Store(
        mx, tuple(i), binop("max", Load(mx, tuple(i)), Load(x, at(i, k[0])))),
        lambda i: Store(mx, tuple(i), lo))
    def exp_sum(i: list, k: list) -> Stmt:
        # One pass: each exp is stored once and added to its row's sum right away, so
        # the row is not read a second time (the sum reads the element just written).
        e = at(i, k[0])
        return seq(Store(out, e, Unary("exp", Bin("-", Load(x, e), Load(mx, tuple(i))))),
                   Store(sm, tuple(i), Bin("+", Load(sm, tuple(i)), Load(out, e))))

    s2 = nest("softmax_exp_sum", sm.shape, (x.shape[axis],), exp_sum,
              lambda i: Store(sm, tuple(i), const(0, x.dtype)))

    def norm(i: list, _: list) -> Store:
        if log:
            shifted = Bin("-", Load(x, tuple(i)), Load(mx, rest(i)))
            return Store(out, tuple(i), Bin("-", shifted, Unary("log", Load(sm, rest(i)))))
        return Store(out, tuple(i), Bin("*", Load(out, tuple(i)), Load(sm, rest(i))))

    steps = [s1, s2]
    if not log:
        steps.append(nest("softmax_recip", sm.shape, (), lambda i, _: Store(
            sm, tuple(i), Bin("/", const(1, x.dtype), Load(sm, tuple(i))))))
    return Allocate(mx, Allocate(sm, seq(*steps, nest("softmax_norm", out.shape, (), norm))))


def layer_norm(x: Buffer, scale: Buffer, bias: Buffer | None, axis: int, eps: float,
               out: Buffer) -> Stmt:
    """Mean and variance over ``x.shape[axis:]`` (float32 statistics), then scale/shift."""
    outer, inner = x.shape[:axis], x.shape[axis:]
    stat = tuple(outer)
    mean = Buffer(f"{out.name}_mean", x.dtype, stat)
    var = Buffer(f"{out.name}_var", x.dtype, stat)
    count: Expr = Const(1)
    for d in inner:
        count = binop("*", count, d)
    n = cast(x.dtype, count)
    zero = const(0, x.dtype)
    s1 = nest("ln_sum", stat, inner, lambda i, k: Store(mean, tuple(i), Bin(
        "+", Load(mean, tuple(i)), Load(x, (*i, *k)))), lambda i: Store(mean, tuple(i), zero))
    s2 = nest("ln_mean", stat, (), lambda i, _: Store(mean, tuple(i),
                                                       Bin("/", Load(mean, tuple(i)), n)))

    def sq(i: list, k: list) -> Store:
        d = Bin("-", Load(x, (*i, *k)), Load(mean, tuple(i)))
        return Store(var, tuple(i), Bin("+", Load(var, tuple(i)), Bin("*", d, d)))

    s3 = nest("ln_var", stat, inner, sq, lambda i: Store(var, tuple(i), zero))

    def norm(i: list, _: list) -> Store:
        o = i[:axis]
        std = Unary("sqrt", Bin("+", Bin("/", Load(var, tuple(o)), n), const(eps, x.dtype)))
        y: Expr = Bin("*", Bin("/", Bin("-", Load(x, tuple(i)), Load(mean, tuple(o))), std),
                      Load(scale, _tail(scale, i)))
        if bias is not None:
            y = Bin("+", y, Load(bias, _tail(bias, i)))
        return Store(out, tuple(i), y)

    return Allocate(mean, Allocate(var, seq(s1, s2, s3, nest("ln_norm", out.shape, (), norm))))


def _tail(p: Buffer, i: list) -> tuple[Expr, ...]:
    lead = len(i) - p.rank
    return tuple(Const(0) if d == Const(1) else i[lead + j] for j, d in enumerate(p.shape))
