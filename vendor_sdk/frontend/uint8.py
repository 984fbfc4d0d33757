"""uint8 activations (onnxruntime's QUInt8) shifted exactly to int8, so the NPU patterns match.

A uint8 QuantizeLinear / DequantizeLinear pair with zero point z denotes the same
real values as an int8 pair with zero point z - 128 and every stored value minus
128: ``clamp(round(x / s) + z, 0, 255) - 128 = clamp(round(x / s) + z - 128, -128, 127)``
and ``(q - z) s = ((q - 128) - (z - 128)) s``. The rewrite is exact, so results
are bit-identical to the uint8 model's after the final DequantizeLinear.

What the user sees keeps its dtype: a QuantizeLinear whose uint8 result is a
model output, or also feeds anything but a DequantizeLinear, stays uint8 (it runs
on the host). A uint8 model input read by DequantizeLinear is shifted at the
boundary with an exact pair of host ops, DequantizeLinear(x, 1, 128) then
QuantizeLinear(., 1, 0) into int8.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from core.graph import Attrs, Binding, Block, Call, Constant, Function, Module, Var
from core.infer import infer_expr
from core.types import TensorType


def _u8_zero_point(call: Call) -> Constant | None:
    """The uint8 zero-point constant of a Q/DQ call (None: not a plain uint8 Q/DQ)."""
    if call.op not in ("QuantizeLinear", "DequantizeLinear") or call.attrs.get("output_dtype"):
        return None
    zp = call.args[2] if len(call.args) > 2 else None
    return zp if isinstance(zp, Constant) and zp.value.dtype == np.uint8 else None


def _minus_128(c: Constant) -> Constant:
    return Constant((c.value.astype(np.int16) - 128).astype(np.int8), c.name)


def _uint8_var(v: object) -> bool:
    return isinstance(v, Var) and isinstance(v.type, TensorType) and v.type.dtype == "uint8"


def _shiftable(f: Function) -> tuple[set[str], list[Var]]:
    """Quantize results read only by uint8 DequantizeLinear; uint8 params read that way."""
    users: dict[str, list[Call | None]] = {}
    for b in f.bindings:
        v = b.value
        for i, a in enumerate(v.args if isinstance(v, Call) else ()):
            if isinstance(a, Var):
                dq = v if isinstance(v, Call) and i == 0 and v.op == "DequantizeLinear" \
                    and _u8_zero_point(v) is not None else None
                users.setdefault(a.name, []).append(dq)
    outputs = {o.name for o in f.outputs if isinstance(o, Var)}

    def only_dq(name: str) -> bool:
        return name not in outputs and bool(users.get(name)) and all(users[name])

    quants = {b.var.name for b in f.bindings if isinstance(b.value, Call)
              and b.value.op == "QuantizeLinear" and _u8_zero_point(b.value) is not None
              and only_dq(b.var.name)}
    params = [p for p in f.params if _uint8_var(p) and only_dq(p.name)]
    return quants, params


# Per-tensor, the importer's defaults (scalar scales: the axis does not matter).
_DQ_ATTRS = Attrs.of(axis=1, block_size=0, output_dtype="")
_Q_ATTRS = Attrs.of(axis=1, block_size=0, output_dtype="", precision="", saturate=1)


def _convert_params(f: Function, params: list[Var]
                    ) -> tuple[Function, dict[str, Var], set[str]]:
    """Bindings at the top that turn each uint8 param into its int8 twin (exactly)."""
    names = Counter(b.var.name for b in f.bindings)
    new: list[Binding] = []
    twins: dict[str, Var] = {}
    one = Constant(np.array(1.0, np.float32))
    for p in params:
        real, twin = f"{p.name}_u8_real", f"{p.name}_i8"
        assert not names[real] and not names[twin], "fresh names"
        dq = Call("DequantizeLinear", (p, one, Constant(np.array(128, np.uint8))), _DQ_ATTRS)
        rv = Var(real, infer_expr(dq))
        q = Call("QuantizeLinear", (rv, one, Constant(np.array(0, np.int8))), _Q_ATTRS)
        tv = Var(twin, infer_expr(q))
        new += [Binding(rv, dq, p.name), Binding(tv, q, p.name)]
        twins[p.name] = tv
    first = Block(tuple(new) + f.blocks[0].bindings, f.blocks[0].dataflow)
    f = Function(f.name, f.params, (first, *f.blocks[1:]), f.outputs, f.attrs)
    return f, twins, {b.var.name for b in new}


def shift_function(f: Function, module: Module | None = None) -> Function:
    quants, params = _shiftable(f)
    dqs_on_consts = any(isinstance(b.value, Call) and _u8_zero_point(b.value) is not None
                        and b.value.op == "DequantizeLinear"
                        and isinstance(b.value.args[0], Constant) for b in f.bindings)
    if not quants and not params and not dqs_on_consts:
        return f
    f, twins, boundary = _convert_params(f, params)

    def shifted(b: Binding, e: Call) -> Call | None:
        zp = _u8_zero_point(e)
        if zp is None or b.var.name in boundary:
            return None
        if e.op == "QuantizeLinear":
            return Call(e.op, (*e.args[:2], _minus_128(zp), *e.args[3:]), e.attrs) \
                if b.var.name in quants else None
        x = e.args[0]
        if isinstance(x, Var) and x.name in twins:
            x = twins[x.name]
        elif isinstance(x, Constant) and x.value.dtype == np.uint8:
            x = _minus_128(x)
        # A shifted producer's result is int8 already (retyped below).
        elif not (isinstance(x, Var) and isinstance(x.type, TensorType)
                  and x.type.dtype == "int8"):
            return None
        return Call(e.op, (x, e.args[1], _minus_128(zp), *e.args[3:]), e.attrs)

    # Not core.rewrite: it retypes a binding with its new arguments before a rule sees it,
    # and a DequantizeLinear of a shifted result is ill-typed until its zero point shifts.
    subst: dict[str, Var] = {}
    blocks = []
    for block in f.blocks:
        out = []
        for b in block.bindings:
            e = b.value
            if isinstance(e, Call) and any(isinstance(a, Var) and a.name in subst
                                           for a in e.args):
                e = Call(e.op, tuple(subst.get(a.name, a) if isinstance(a, Var) else a
                                     for a in e.args), e.attrs)
            new = shifted(b, e) if isinstance(e, Call) else None
            if new is not None:
                e = new
            if e is not b.value:
                t = infer_expr(e, module)
                var = b.var if t == b.var.type else Var(b.var.name, t)
                if var is not b.var:
                    subst[b.var.name] = var
                b = Binding(var, e, b.source)
            out.append(b)
        blocks.append(Block(tuple(out), block.dataflow))
    return Function(f.name, f.params, tuple(blocks), f.outputs, f.attrs)


def shift_uint8(m: Module) -> Module:
    """Every graph function with uint8 Q/DQ activations rewritten to int8 (see the docstring)."""
    funcs = tuple(shift_function(f, m) if isinstance(f, Function) else f for f in m.functions)
    return Module(funcs, m.entry)
