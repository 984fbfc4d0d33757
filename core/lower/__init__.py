"""Lowering of graph ops to tensor programs, and the module pass that calls them.

``lower(call, arg_types, out_type, name)`` gives one PrimFunc per op
application, destination-passing, with the graph's symbolic dims kept as size
variables. ``lower_module`` replaces every lowerable ``Call`` by a
``CallTIR`` of its PrimFunc (kept in the module next to the graph functions);
ops without a lowering stay graph calls and run in the reference executor.
"""

from __future__ import annotations

from collections.abc import Sequence

from core import symbolic as sym
from core.graph import Attrs, Binding, Block, Call, CallTIR, Constant, Function, Module, Var
from core.lower.build import LowerError, buffer
from core.lower.elementwise import (
    BINARY,
    UNARY,
    concat,
    convert,
    dequantize,
    elementwise,
    quantize,
    reshape,
    transpose,
)
from core.lower.fuse import fuse_elementwise
from core.lower.nn import conv2d, gemm, global_pool, layer_norm, matmul, pool, softmax
from core.lower.resize import resize
from core.ops.window import window_of
from core.tir.expr import Const
from core.tir.stmt import Buffer, PrimFunc, Stmt
from core.tir.verify import check
from core.types import TensorType, Type

__all__ = ["LowerError", "fuse_elementwise", "lower", "lower_module"]


def _stmt(op: str, attrs: Attrs, ins: list[Buffer | None], consts: list[float | None],
          out: Buffer) -> Stmt:
    x = ins[0]
    if op in UNARY or op in BINARY or op in ("Div", "LeakyRelu", "HardSigmoid", "HardSwish"):
        return elementwise(op, attrs, ins, out)
    if op == "Clip":
        return elementwise(op, attrs, [x, *consts[1:]], out)
    if op == "Expand":  # a broadcasting copy
        return elementwise("Identity", attrs, [x], out)
    assert x is not None
    if op in ("Conv", "ConvInteger"):
        w = ins[1]
        assert w is not None
        kernel = tuple(int(d.value) for d in w.shape[2:] if isinstance(d, Const))
        if len(kernel) != len(w.shape[2:]):
            raise LowerError(f"{op}: symbolic kernel extents have no lowering")
        win = window_of(attrs, kernel, x.rank - 2, op)
        group = attrs.get_int("group")
        if op == "Conv":
            return conv2d(x, w, ins[2] if len(ins) > 2 else None, win, group, out)
        zps = (ins[2] if len(ins) > 2 else None, ins[3] if len(ins) > 3 else None)
        return conv2d(x, w, None, win, group, out, zps)
    if op == "MatMul":
        y = ins[1]
        assert y is not None
        return matmul(x, y, out)
    if op == "MatMulInteger":
        y = ins[1]
        assert y is not None
        zps = (ins[2] if len(ins) > 2 else None, ins[3] if len(ins) > 3 else None)
        return matmul(x, y, out, "int32", zps)
    if op == "Gemm":
        y = ins[1]
        assert y is not None
        return gemm(x, y, ins[2] if len(ins) > 2 else None, attrs, out)
    if op in ("MaxPool", "AveragePool"):
        win = window_of(attrs, None, x.rank - 2, op)
        if attrs.get_int("ceil_mode", 0):
            raise LowerError(f"{op} with ceil_mode has no lowering")
        return pool(op, x, win, attrs, out)
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        return global_pool(op, x, out)
    if op in ("Softmax", "LogSoftmax"):
        return softmax(x, attrs.get_int("axis") % x.rank, out,
                       op == "LogSoftmax")
    if op == "LayerNormalization":
        scale = ins[1]
        assert scale is not None
        return layer_norm(x, scale, ins[2] if len(ins) > 2 else None,
                          attrs.get_int("axis") % x.rank,
                          attrs.get_float("epsilon"), out)
    if op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
        return reshape(x, out)
    if op == "Transpose":
        perm = attrs.get_ints("perm") or tuple(
            reversed(range(x.rank)))
        return transpose(x, perm, out)
    if op == "Concat":
        return concat([b for b in ins if b is not None], attrs.get_int("axis") % out.rank,
                      out)
    if op == "Cast":
        return convert(x, out)
    if op == "QuantizeLinear":
        return quantize(ins, attrs, out)
    if op == "DequantizeLinear":
        return dequantize(ins, attrs, out)
    raise LowerError(f"no lowering for {op}")


# Inputs that only carry shapes or attributes: not passed to the tensor program.
_SHAPE_ONLY = {"Reshape": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "Clip": (1, 2),
               "Expand": (1,), "Resize": (1, 2, 3)}


def lower(call: Call, arg_types: Sequence[TensorType | None], out_type: Type,
          name: str) -> PrimFunc:
    """One PrimFunc computing ``call``; raises LowerError when the op has no lowering."""
    if not isinstance(out_type, TensorType):
        raise LowerError(f"{call.op}: multi-output calls have no lowering")
    skip = _SHAPE_ONLY.get(call.op, ())
    ins: list[Buffer | None] = []
    consts: list[float | None] = []
    for k, (a, t) in enumerate(zip(call.args, arg_types, strict=True)):
        consts.append(float(a.value.reshape(-1)[0]) if isinstance(a, Constant)
                      and a.value.size == 1 else None)
        ins.append(None if t is None or k in skip else buffer(f"in{k}", t))
    if call.op == "Clip" and any(a is not None and consts[k] is None
                                 for k, a in enumerate(call.args) if k in skip):
        raise LowerError("Clip: only scalar constant bounds have a lowering")
    if call.op == "Expand" and _new_vars(out_type, arg_types[0]):
        # The program's output extents must follow from its inputs' (torch's cls-token
        # expand to the batch has a [1, 1, D] input): numpy broadcasts those instead.
        raise LowerError("Expand to extents its input does not determine has no lowering")
    out = buffer("out", out_type)
    if call.op == "Resize":  # its scales/sizes are arrays, not one of the scalar consts
        scales, sizes = (a.value if isinstance(a, Constant) and a.value.size else None
                         for a in (*call.args[2:4], None, None)[:2])
        assert ins[0] is not None
        body = resize(ins[0], call.attrs, scales,
                      None if sizes is None else [int(v) for v in sizes.reshape(-1)], out)
    else:
        body = _stmt(call.op, call.attrs, ins, consts, out)
    params = (*(b for b in ins if b is not None), out)
    return check(PrimFunc(name, params, body))


def _new_vars(out: TensorType, x: TensorType | None) -> frozenset[str]:
    def names(t: TensorType) -> frozenset[str]:
        return frozenset().union(*(sym.free_vars(d) for d in t.shape))

    return names(out) - (names(x) if x is not None else frozenset())


def tir_args(call: Call) -> tuple[int, ...]:
    """Positions of the call's arguments that the lowered PrimFunc takes."""
    skip = _SHAPE_ONLY.get(call.op, ())
    return tuple(k for k, a in enumerate(call.args) if a is not None and k not in skip)


def lower_module(module: Module, func: str | None = None, fuse: bool = True) -> Module:
    """Replace lowerable Calls of ``func`` (default: entry) by CallTIRs to new PrimFuncs,
    then (``fuse``) merge elementwise chains into one PrimFunc each (``fuse_elementwise``)."""
    f: Function = module[func or module.entry]
    funcs: list[PrimFunc] = []
    blocks = []
    for blk in f.blocks:
        out = []
        for b in blk.bindings:
            v = b.value
            if isinstance(v, Call):
                types = [a.tensor_type if isinstance(a, Var | Constant) else None
                         for a in v.args]
                name = f"{f.name}_{b.var.name}_{v.op.lower()}"
                try:
                    pf = lower(v, types, b.var.type, name)
                except LowerError:
                    out.append(b)
                    continue
                funcs.append(pf)
                args = tuple(v.args[k] for k in tir_args(v))
                out.append(Binding(b.var, CallTIR(name, args, b.var.type), b.source))
            else:
                out.append(b)
        blocks.append(Block(tuple(out), blk.dataflow))
    new = Function(f.name, f.params, tuple(blocks), f.outputs, f.attrs)
    result = module.with_function(new)
    for pf in funcs:
        result = result.with_function(pf)
    return fuse_elementwise(result, f.name) if fuse else result
