"""One offloaded region -> the C of its layers, its constants and its DRAM plan.

Each composite is lowered by the lowerer of its layer kind (vendor_sdk.codegen.lowerers:
GEMM layers tensorized or by a template kernel, element-wise and pooling layers), with
the target restricted to its pattern's `tensorize` list; this module places the region's
DRAM slots, collects the constants and writes the region's entry function.
Between layers data flows through DRAM: a layer's loads of an earlier layer's output wait
for its stores (runtime: vsdk_layer_end / vsdk_dram_fence), the rest overlaps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from core import symbolic as sym
from core.graph import Call, CallFunc, Function, Module, Var
from core.tir.expr import Const, Expr
from core.tir.expr import Var as TVar
from vendor_sdk.codegen.cexpr import CodegenError, c_name
from vendor_sdk.codegen.code import CompositeError, LayerCode, RegionCode, Slot
from vendor_sdk.codegen.consts import Consts
from vendor_sdk.codegen.cwriter import c_string
from vendor_sdk.codegen.intrinsic_roles import restrict
from vendor_sdk.codegen.layer_job import LayerJob
from vendor_sdk.codegen.layers import conv_shape, nhwc_shape
from vendor_sdk.codegen.lowerable import kind_of
from vendor_sdk.codegen.lowerers import lowerer
from vendor_sdk.codegen.perf import record_bytes, supports_perf_snap
from vendor_sdk.codegen.tiling import tiling_of
from vendor_sdk.target import Target
from vendor_sdk.target.lowering import Lowering, Tensorize


def _dim_expr(d: sym.Dim) -> Expr:
    return Const(int(d)) if isinstance(d, int) else TVar(str(d))


def _calls(f: Function) -> list[Call]:
    return [b.value for blk in f.blocks for b in blk.bindings if isinstance(b.value, Call)]


def _onnx_nodes(comp: Function) -> tuple[str, ...]:
    """The ONNX nodes a composite came from, for reports; its Quantize/DequantizeLinear
    nodes are the int8 interface, not the layer."""
    return tuple(dict.fromkeys(
        b.source for blk in comp.blocks for b in blk.bindings
        if b.source and getattr(b.value, "op", "") not in ("QuantizeLinear", "DequantizeLinear")))


def _lowering(target: Target, comp: Function) -> Lowering:
    """The typed `lower` of the composite's pattern, as the target declared it."""
    pattern = str(comp.attrs.get("pattern", ""))
    found = target.lowerings.get(pattern)
    if found is None:
        raise CodegenError(f"{comp.name}: pattern {pattern!r} is not a pattern of target "
                           f"{target.name} (partition with its patterns)")
    return found


def _restricted(target: Target, lowering: Lowering) -> Target:
    """`lower: {tensorize: [...]}`: the layer picks among those intrinsics, nothing else."""
    return restrict(target, lowering.intrinsics) if isinstance(lowering, Tensorize) else target


def _is_conv1d(comp: Function) -> bool:
    return any(c.op == "Conv" and isinstance(c.args[0], Var)
               and len(c.args[0].tensor_type.shape) == 3 for c in _calls(comp))


def _conv1d_values(module: Module, region: Function) -> frozenset[str]:
    """Values a 1-D conv of the region reads or writes: [N, C, L] in the graph, stored
    channel-last as [N, 1, L, C] (padded) on the NPU, like a 2-D conv's NHWC."""
    out: set[str] = set()
    for blk in region.blocks:
        for b in blk.bindings:
            if isinstance(b.value, CallFunc) and _is_conv1d(module[b.value.func]):
                out |= {a.name for a in b.value.args if isinstance(a, Var)} | {b.var.name}
    return frozenset(out)


def _check_conv1d_layout(comp: Function, values: list[Var], nlc: frozenset[str]) -> None:
    """Only 1-D convs read and write the [N, L, C] layout; another layer on such a value
    would take its last axis (L) for channels."""
    shared = [v.name for v in values if v.name in nlc]
    if shared and not _is_conv1d(comp):
        raise CodegenError(f"{', '.join(shared)}: a 1-D conv's activation, stored (N, L, C) "
                           "on the NPU; this layer reads rows of the last graph axis")


def _composite_error(comp: Function, reason: str) -> CompositeError:
    found = comp.attrs.get("nodes", ())
    nodes = tuple(str(n).partition("=")[2] or str(n)
                  for n in (found if isinstance(found, tuple) else (found,)))
    return CompositeError(comp.name, nodes, reason)


def _no_scalars(module: Module, region: Function) -> None:
    """A composite reading or writing a rank-0 tensor (a Clip bound computed by the model,
    say) has no NPU layout: rows of channels need a channel axis."""
    for blk in region.blocks:
        for b in blk.bindings:
            if isinstance(b.value, CallFunc):
                for v in (*b.value.args, b.var):
                    if isinstance(v, Var) and not tuple(v.tensor_type.shape):
                        raise _composite_error(module[b.value.func], f"{v.name} is a scalar: "
                                               "the NPU layers read rows of channels")


def region_code(module: Module, region: Function, target: Target,
                hints: Mapping[str, int],
                on_layer: Callable[[str], None] | None = None) -> RegionCode:
    """``on_layer(function)`` is called before each layer is lowered (progress: the code
    generator prints nothing itself)."""
    tiling = tiling_of(target)
    consts = Consts()
    slots: dict[str, Slot] = {}

    nlc = _conv1d_values(module, region)

    def slot(v: Var) -> Slot:
        if v.name not in slots:
            shape = tuple(v.tensor_type.shape)
            npu = nhwc_shape(conv_shape(shape) if v.name in nlc else shape, tiling.channels)
            slots[v.name] = Slot(v.name, shape, npu)
        return slots[v.name]

    _no_scalars(module, region)
    for p in region.params:
        slot(p)
    # Region inputs read by exactly one composite (and not passed through as an output):
    # the host writes them for that layer alone, so their layout may be the layer's choice.
    reads = [a.name for blk in region.blocks for b in blk.bindings
             if isinstance(b.value, CallFunc) for a in b.value.args if isinstance(a, Var)]
    outputs = {o.name for o in region.outputs if isinstance(o, Var)}
    own_inputs = {p.name for p in region.params
                  if reads.count(p.name) == 1 and p.name not in outputs}
    codes: list[LayerCode] = []
    calls: list[str] = []
    sizes: list[str] = []
    for blk in region.blocks:
        for b in blk.bindings:
            if not isinstance(b.value, CallFunc):
                raise CodegenError(f"{region.name}: binding {b.var.name} is not a composite call")
            comp = module[b.value.func]
            fn = c_name(comp.name)
            if on_layer is not None:
                on_layer(fn)
            lowering = _lowering(target, comp)
            args = [a for a in b.value.args if isinstance(a, Var)]
            batch_dim = args[0].tensor_type.shape[0]
            batch = _dim_expr(batch_dim)
            if isinstance(batch, TVar) and batch.name not in sizes:
                sizes.append(batch.name)
            names = {s: hints.get(s, 1) for s in sizes}
            size_args = "".join(f", {s}" for s in names)
            xs = [slot(a) for a in args]
            yi = slot(b.var)

            def at(name: str) -> str:
                return f"addr[{1 + list(slots).index(name)}]"

            const0 = consts.size
            try:
                _check_conv1d_layout(comp, [*args, b.var], nlc)
                job = LayerJob(comp, fn, lowering, _restricted(target, lowering), tiling, batch,
                               batch_dim, names, size_args, xs, yi, b.var.name, consts, slots,
                               at, bool(args) and args[0].name in own_inputs)
                code, call = lowerer(kind_of({c.op for c in _calls(comp)}))(job)
            except CompositeError:
                raise
            except CodegenError as e:
                raise _composite_error(comp, str(e)) from None
            codes.append(replace(code, onnx_nodes=_onnx_nodes(comp), composite=comp.name,
                                 nodes=_composite_error(comp, "").nodes,
                                 const_bytes=consts.size - const0))
            ins = ", ".join(a.name for a in args)
            calls.append(f"    /* {b.var.name} = {comp.attrs.get('pattern')}({ins}) */\n"
                         f"    VSDK_LAYER_({c_string(fn)});\n"
                         f"    {call}\n    vsdk_layer_end(rt);")
    records = len(calls) - 1 if supports_perf_snap(target) else None
    record = record_bytes(target)
    for k in range(records or 0):  # after each layer but the last: its end is the region's
        calls[k] += (f"\n    vsdk_perf_snap(rt, addr[{1 + len(slots)}] + {k * record}u);"
                     f" /* counters at the end of {codes[k].function} */")
    outs = tuple(o.name for o in region.outputs if isinstance(o, Var))
    sig = ", ".join(["void *ctx", "const uint32_t *addr", *(f"int64_t {s}" for s in sizes)])
    body = (f"int {c_name(region.name)}({sig}) {{\n"
            "    vsdk_rt *rt = vsdk_open(ctx);\n    if (!rt) return -1;\n"
            + "\n".join(calls) + "\n    return vsdk_close(rt);\n}\n")
    return RegionCode(region.name, str(region.attrs.get("target", "")),
                      tuple(p.name for p in region.params), outs, tuple(slots.values()),
                      tuple(codes), b"".join(consts.parts), tuple(sizes), body, records)
