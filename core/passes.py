"""Graph passes, each a small function from module to module.

``optimize`` runs them in the order that lets each one expose work for the
next: shapes first (so shape arithmetic becomes constants), then folding,
then BatchNormalization into Conv, then dead code.
"""

from __future__ import annotations

import numpy as np

from core import symbolic as sym
from core.graph import Binding, Block, Call, Constant, Function, Module, Var, used_vars
from core.ops import get_op
from core.rewrite import RewriteContext, rewrite_module
from core.types import TensorType

# Folding a huge constant only moves memory around; leave big producers as calls.
MAX_FOLD_ELEMENTS = 1 << 22


def fold_constants(m: Module, max_elements: int = MAX_FOLD_ELEMENTS) -> Module:
    """Evaluate pure op calls whose inputs are all constants."""

    def rule(b: Binding, _: RewriteContext) -> Constant | None:
        e = b.value
        if not isinstance(e, Call) or not get_op(e.op).pure:
            return None
        consts = [a for a in e.args if a is None or isinstance(a, Constant)]
        if len(consts) != len(e.args):
            return None
        t = b.var.type
        if not isinstance(t, TensorType) or not t.is_static:
            return None
        if int(np.prod([sym.static(d) for d in t.shape])) > max_elements:
            return None
        out = get_op(e.op).compute([a.value if a is not None else None for a in consts], e.attrs)
        if isinstance(out, tuple):
            return None
        return Constant(np.asarray(out), name=b.var.name)

    return rewrite_module(m, rule)


def simplify_shapes(m: Module) -> Module:
    """Turn shape computations with fully known results into constants; drop no-op reshapes.

    Shape inference already keeps symbolic dims canonical; what remains is to
    use what it learned: a ``Shape`` of a static tensor is a constant, and a
    Reshape/Expand/Cast that does not change anything is its input.
    """

    def rule(b: Binding, _: RewriteContext) -> Var | Constant | None:
        t = b.var.type
        e = b.value
        if not isinstance(t, TensorType) or not isinstance(e, Call):
            return None
        if t.value is not None and all(isinstance(v, int) for v in t.value) and t.is_static:
            return Constant(np.asarray(t.value, dtype=t.dtype).reshape(
                tuple(sym.static(d) for d in t.shape)), name=b.var.name)
        if e.op in ("Reshape", "Expand", "Cast", "Identity", "Dropout") and isinstance(
            e.args[0], Var | Constant
        ):
            src = e.args[0].type
            if isinstance(src, TensorType) and src.dtype == t.dtype and src.shape == t.shape:
                return e.args[0]
        return None

    return rewrite_module(m, rule)


def eliminate_dead_code(m: Module) -> Module:
    """Drop bindings whose values no output depends on (every op here is pure)."""
    funcs = []
    for f in m.functions:
        if not isinstance(f, Function):
            funcs.append(f)
            continue
        live = {o.name for o in f.outputs if isinstance(o, Var)}
        kept_rev: list[list[Binding]] = []
        for block in reversed(f.blocks):
            kept: list[Binding] = []
            for b in reversed(block.bindings):
                if b.var.name in live:
                    kept.append(b)
                    live.update(v.name for v in used_vars(b.value))
            kept_rev.append(kept[::-1])
        blocks = tuple(
            Block(tuple(bs), blk.dataflow)
            for bs, blk in zip(kept_rev[::-1], f.blocks, strict=True)
        )
        funcs.append(Function(f.name, f.params, blocks, f.outputs, f.attrs))
    return Module(tuple(funcs), m.entry)


def fold_batchnorm(m: Module) -> Module:
    """Conv(const W, const B) -> BatchNormalization(const params) becomes one Conv.

    y = s * (conv(x, W) + B - mean) + beta with s = scale / sqrt(var + eps), so
    W' = W * s (per output channel) and B' = (B - mean) * s + beta. Only when
    the conv result has no other user, else the conv would be computed twice.
    """

    def rule(b: Binding, ctx: RewriteContext) -> Call | None:
        e = b.value
        if not isinstance(e, Call) or e.op != "BatchNormalization":
            return None
        conv_b = ctx.producer(e.args[0])
        params = e.args[1:5]
        if conv_b is None or ctx.use_count(e.args[0]) != 1:
            return None
        conv = conv_b.value
        if not isinstance(conv, Call) or conv.op != "Conv":
            return None
        values = [p.value for p in params if isinstance(p, Constant)]
        if len(values) != len(params):
            return None
        w = conv.args[1]
        bias = conv.args[2] if len(conv.args) > 2 else None
        if not isinstance(w, Constant) or not (bias is None or isinstance(bias, Constant)):
            return None
        scale, beta, mean, var = (v.astype(np.float64) for v in values)
        s = scale / np.sqrt(var + e.attrs.get_float("epsilon"))
        wv = w.value
        new_w = (wv.astype(np.float64) * s.reshape((-1,) + (1,) * (wv.ndim - 1))).astype(wv.dtype)
        b0 = bias.value.astype(np.float64) if bias is not None else np.zeros_like(s)
        new_b = ((b0 - mean) * s + beta).astype(wv.dtype)
        return Call("Conv", (conv.args[0], Constant(new_w, w.name), Constant(new_b)), conv.attrs)

    return rewrite_module(m, rule)


def optimize(m: Module) -> Module:
    """The default pipeline, in the order that lets each pass feed the next."""
    m = simplify_shapes(m)
    m = fold_constants(m)
    m = simplify_shapes(m)
    m = fold_batchnorm(m)
    return eliminate_dead_code(m)
