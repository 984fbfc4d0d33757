"""One offloaded region -> the C of its layers, its constants and its DRAM plan.

Per composite, by its pattern's ``lower``:
- ``tensorize: [...]``: the layer's integer program (vendor_sdk.codegen.layers)
  is auto-tensorized onto the target's intrinsics; the loop-nest emitter turns
  the result into C, with the requantization intrinsic as the epilogue;
- ``template: file``: the vendor's kernel template renders (sandboxed,
  StrictUndefined) with the layer's tensors; its int32 result is requantized
  by the same epilogue.
Between layers data flows through DRAM: a layer's loads of an earlier layer's output wait
for its stores (runtime: vsdk_layer_end / vsdk_dram_fence), the rest overlaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from jinja2 import TemplateError

from core import symbolic as sym
from core.graph import CallFunc, Function, Module, Var
from core.tir.expr import Bin, Const, Expr
from core.tir.expr import Var as TVar
from core.tir.stmt import Allocate, Block, Buffer, For, IterVar, PrimFunc, Store, seq
from vendor_sdk.codegen.cexpr import CodegenError, c_expr, c_name
from vendor_sdk.codegen.elementwise import EltLayer, analyze_elementwise, elementwise_code
from vendor_sdk.codegen.im2col import InputMapping, Patches, choose_input
from vendor_sdk.codegen.intrinsic_roles import RequantForm, find_requant, restrict
from vendor_sdk.codegen.layers import (
    Layer,
    analyze,
    conv_shape,
    nhwc_shape,
    program,
    weight_in_dram,
)
from vendor_sdk.codegen.lowerable import kind_of
from vendor_sdk.codegen.memories import memory_of
from vendor_sdk.codegen.nest import Requant, emit_prim_func
from vendor_sdk.codegen.perf import record_bytes, supports_perf_snap, templates_dir
from vendor_sdk.codegen.tiling import Tiling, tiling_of
from vendor_sdk.intrinsics.tensorize import auto_tensorize
from vendor_sdk.target.lowering import Lowering, Template, Tensorize
from vendor_sdk.target.templates import environment, kernel_context

CONST_ALIGN = 64


@dataclass(frozen=True)
class Slot:
    """A DRAM tensor of a region call: the NPU layout of a graph value."""

    name: str              # graph variable
    shape: tuple           # logical shape (dims may be symbolic)
    npu_shape: tuple       # channel-last, channels padded (codegen.tiling); im2col: [N, OH, OW, K']
    # None: channel-last; Patches: the host writes im2col rows (a conv's region input)
    layout: Patches | None = None

    def describe(self) -> str:
        """The layout in words (header comment, manifest)."""
        return self.layout.describe() if self.layout else "channel-last, channels padded"


@dataclass(frozen=True)
class LayerCode:
    layer: Layer
    function: str          # C function name
    text: str              # C definition
    explain: str           # tensorize trace or "template ..."
    ideal_macs_note: str = ""
    estimate: float | None = None  # the tensorizer's cost-model cycles (None: template)
    onnx_nodes: tuple[str, ...] = ()  # the ONNX nodes of the composite (QDQ nodes left out)
    input_layout: str = ""  # which input layout a conv on a region input got, and why
    # The composite it lowers (its name and ONNX nodes, to send it to the host) and the
    # bytes of constants (weights, bias, descriptors) it adds to its region's blob.
    composite: str = ""
    nodes: tuple[str, ...] = ()
    const_bytes: int = 0


@dataclass(frozen=True)
class RegionCode:
    name: str
    target: str
    params: tuple[str, ...]   # region inputs (graph vars)
    outputs: tuple[str, ...]
    slots: tuple[Slot, ...]   # addr[1 + i]; addr[0] is the constants blob
    layers: tuple[LayerCode, ...]
    consts: bytes
    sizes: tuple[str, ...]    # symbolic extents, C arguments in this order
    body: str                 # C of the region entry function
    # Counter records the region writes, one after each layer but the last (whose end is
    # the region's), at addr[1 + len(slots)]; None: the target takes no snapshots.
    perf_records: int | None = None

    def slot_index(self, name: str) -> int:
        return 1 + next(i for i, s in enumerate(self.slots) if s.name == name)


class CompositeError(CodegenError):
    """A composite the code generator cannot lower; the compiler sends it to the host."""

    def __init__(self, composite: str, nodes: tuple[str, ...], reason: str) -> None:
        super().__init__(f"{composite}: {reason}")
        self.composite, self.nodes, self.reason = composite, nodes, reason


class _Consts:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, arr: np.ndarray) -> int:
        off = self.size
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        pad = -len(data) % CONST_ALIGN
        self.parts.append(data + b"\0" * pad)
        self.size += len(data) + pad
        return off


def _descriptor_shape(target: object, where: str) -> tuple[int, int]:
    """(channels per descriptor: an accumulator row, lanes of a param-memory row)."""
    lanes = memory_of(target, "accumulator").row_elems
    qp = memory_of(target, "param")
    if qp.row_elems < max(lanes, 3):
        raise CodegenError(f"{where}: a row of the param memory {qp.name} holds "
                           f"{qp.row_elems} lanes, a descriptor row needs one per accumulator "
                           f"lane ({lanes}) and 3 (zp, lo, hi); hint: widen {qp.name}")
    return lanes, qp.row_elems


def qp_table(layer: Layer, form: RequantForm, lanes: int, width: int) -> np.ndarray:
    """Descriptors, one per ``lanes`` channels (a row of the accumulator), rows of
    ``width``: [mult], [shift], [zp, lo, hi] (declaration order of the descriptor
    params: the first two are rows, the rest lanes of the third)."""
    if form.mode != "half_up":
        raise CodegenError(f"{form.intrinsic}: rounding {form.mode}; the SDK derives "
                           "(mult, shift) for half_up")
    blocks = layer.weight.shape[1] // lanes
    t = np.zeros((blocks, 3, width), np.int32)
    mult = np.array([fp.mult for fp in layer.requant], np.int64)
    shift = np.array([fp.shift for fp in layer.requant], np.int64)
    values = {form.mult: mult, form.shift: shift, form.zp: layer.out_zp, form.lo: layer.lo,
              form.hi: layer.hi}
    for slot, p in enumerate(form.descriptor):
        v = values[p]
        if slot < 2:
            t[:, slot, :lanes] = np.asarray(v).reshape(blocks, lanes)
        else:
            t[:, 2, slot - 2] = v
    return t


def _dim_expr(d: sym.Dim) -> Expr:
    return Const(int(d)) if isinstance(d, int) else TVar(str(d))


def _epilogue_program(layer: Layer, rows: Expr, lanes: int, acc_rows: int,
                      hint: int, acc_scope: str) -> PrimFunc:
    """Requantize an int32 [rows, Np] DRAM result: stage tiles into acc, store (requantized).
    Tiles cover the hinted row count (a power of two), within the accumulator."""
    npad = layer.weight.shape[1]
    fit = max(1, min(1023, acc_rows // 2 // max(1, npad // lanes)))
    tile = min(fit, 1 << max(0, hint - 1).bit_length())
    s = Buffer("S", "int32", (rows, Const(npad)))
    y = Buffer("Y", "int32", (rows, Const(npad)))
    acc = Buffer("S_acc", "int32", (Const(tile), Const(npad)), acc_scope)
    t, m, n = TVar("t_m"), TVar("e_m"), TVar("e_n")
    vm, vn, vt = TVar("v_m"), TVar("v_n"), TVar("v_t")
    load = Block("S_load", (IterVar(vt, Const(1 << 30)), IterVar(vm, Const(tile)),
                            IterVar(vn, Const(npad))), (t, m, n),
                 Store(acc, (vm, vn), _sel(Bin("<", vt * tile + vm, rows), s,
                                           (vt * tile + vm, vn))))
    store = Block("S_store", (IterVar(vt, Const(1 << 30)), IterVar(vm, Const(tile)),
                              IterVar(vn, Const(npad))), (t, m, n),
                  Store(y, (vt * tile + vm, vn), _ld(acc, (vm, vn))),
                  predicate=Bin("<", vt * tile + vm, rows))
    body = For(t, (rows + (tile - 1)) // tile, Allocate(acc, seq(
        For(m, Const(tile), For(n, Const(npad), load)),
        For(m, Const(tile), For(n, Const(npad), store)))))
    return PrimFunc(f"{c_name(layer.name)}_requant", (s, y), body)


def _ld(b: Buffer, idx: tuple) -> Expr:
    from core.tir.expr import Load

    return Load(b, idx)


def _sel(cond: Expr, b: Buffer, idx: tuple) -> Expr:
    from core.tir.expr import const, select

    return select(cond, _ld(b, idx), const(0, b.dtype))


def _calls(f: Function) -> list:
    from core.graph import Call

    return [b.value for blk in f.blocks for b in blk.bindings if isinstance(b.value, Call)]


def _onnx_nodes(comp: Function) -> tuple[str, ...]:
    """The ONNX nodes a composite came from, for reports; its Quantize/DequantizeLinear
    nodes are the int8 interface, not the layer."""
    return tuple(dict.fromkeys(
        b.source for blk in comp.blocks for b in blk.bindings
        if b.source and getattr(b.value, "op", "") not in ("QuantizeLinear", "DequantizeLinear")))


def _mult_rows(elt: EltLayer, lanes: int) -> np.ndarray:
    return np.repeat(np.array(elt.mults, np.int32)[:, None], lanes, axis=1)


def elt_qp_table(elt: EltLayer, form: RequantForm, lanes: int, width: int,
                 blocks: int) -> np.ndarray:
    """Per-tensor descriptors, repeated for each block of ``lanes`` channels."""
    fp = elt.requant[0]
    values = {form.mult: fp.mult, form.shift: fp.shift, form.zp: elt.out_zp, form.lo: elt.lo,
              form.hi: elt.hi}
    t = np.zeros((blocks, 3, width), np.int32)
    for slot, p in enumerate(form.descriptor):
        if slot < 2:
            t[:, slot, :lanes] = values[p]
        else:
            t[:, 2, slot - 2] = values[p]
    return t


def layer_code(layer: Layer, target: object, dram: Mapping[str, str], batch: Expr,
               hints: Mapping[str, int], form: RequantForm, qp: str, fn: str,
               tiling: Tiling, mapping: InputMapping | None = None) -> LayerCode:
    """The C of one GEMM layer; ``mapping`` (a conv on a region input) says which program
    runs — the conv's, or the GEMM over host-made patches — and may hold its tensorization."""
    lanes = memory_of(target, "accumulator").row_elems
    blocks = layer.weight.shape[1] // lanes
    rq = Requant("Y", dram["Y"], qp, form.intrinsic, form.descriptor, form.x, form.y, blocks)
    head = (f"/* {layer.name}: {layer.op} from ONNX node '{layer.source}', pattern "
            f"{layer.pattern} ({layer.lower}) */\n")
    sig = f"static void {fn}(vsdk_rt *rt{''.join(f', int64_t {s}' for s in hints)}, " \
          f"uint32_t X, uint32_t Y, uint32_t c, uint32_t S)"
    if isinstance(layer.lower, Tensorize):
        res = mapping.result if mapping and mapping.result else \
            auto_tensorize(program(mapping.gemm if mapping else layer, tiling, batch), target,
                           sizes=dict(hints))
        if not res.ok:
            raise CodegenError(f"{layer.name}: no intrinsic tensorizes it:\n{res.explain()}")
        lines = emit_prim_func(res.func, target, dram, {k: max(v, 2) for k, v in hints.items()},
                               rq, ("X",))
        why = mapping.why if mapping else ""
        if why:
            head += f"/* {why} */\n"
        text = head + sig + " {\n    (void)S;\n" + "\n".join(lines) + "\n}\n"
        trace = res.explain().split("\n", 1)  # the decision goes right under the head line
        explain = "\n".join([trace[0], f"  {why}", *trace[1:]]) if why else res.explain()
        return LayerCode(layer, fn, text, explain,
                         estimate=res.estimate.cycles if res.estimate else None,
                         input_layout=why)
    file = layer.lower.file
    if layer.op != "MatMul":
        raise CodegenError(f"{layer.name}: template kernels are supported for MatMul layers")
    kpad, npad = layer.weight.shape
    # The kernel's signature is the template's (ctx, M); its tensors' addresses are
    # file-scope variables the wrapper sets just before the call.
    g = f"{fn}_dram"
    kernel = f"{fn}_kernel"
    env = environment(templates_dir(target))
    ctx = kernel_context(kernel, layer.pattern, dict(target.params), str(kpad), str(npad),  # type: ignore[attr-defined]
                         {t: f"{g}[{i}]" for i, t in enumerate(("x", "w", "b", "out"))})
    try:
        kt = env.get_template(file).render(ctx)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        raise CodegenError(f"template {file}{f', line {line}' if line else ''}: "
                           f"{e}") from None
    hint = hints.get(batch.name, 1) if isinstance(batch, TVar) else int(batch.value)  # type: ignore[union-attr]
    accm = memory_of(target, "accumulator")
    ep = _epilogue_program(layer, batch, lanes, accm.rows, hint, accm.name)
    lines = emit_prim_func(ep, target, {"S": "S", "Y": "Y"},
                           {k: max(v, 2) for k, v in hints.items()},
                           Requant("Y", "Y", qp, form.intrinsic, form.descriptor, form.x,
                                   form.y, blocks))
    m = c_expr(batch)
    text = (head + f"static uint32_t {g}[4];\n" + kt + "\n" + sig + " {\n"
            f"    {g}[0] = X;\n    {g}[1] = {dram['W']};\n    {g}[2] = {dram['B']};\n"
            f"    {g}[3] = S;\n"
            "    vsdk_barrier(rt); /* the kernel orders its own work */\n"
            f"    if ({kernel}(vsdk_ctx(rt), (uint32_t){m})) vsdk_fail(rt, -1);\n"
            "    vsdk_barrier(rt);\n" + "\n".join(lines) + "\n}\n")
    return LayerCode(layer, fn, text, f"template {file} + requantization epilogue")


def _composite(comp: Function, fn: str, lowering: Lowering, tiling: Tiling, batch: Expr,
               batch_dim: object, names: Mapping[str, int], size_args: str, xs: list[Slot],
               yi: Slot, var: str, target: object, consts: _Consts, slots: dict[str, Slot],
               codes: list[LayerCode], at: object, host_input: bool) -> str:
    """Lower one composite: append its LayerCode, return the C call of it. ``host_input``:
    its first input is a region input nothing else in the region reads, whose layout the
    host is free to choose."""
    cands = list(lowering.intrinsics) if isinstance(lowering, Tensorize) else None
    if cands is not None:  # `lower: {tensorize: [...]}`: only those intrinsics, nothing else
        target = restrict(target, cands)
    if kind_of({c.op for c in _calls(comp)}) == "gemm":  # the dispatch validate checks
        layer = analyze(comp, tiling.channels, lowering)
        form = find_requant(target, cands)
        lanes, width = _descriptor_shape(target, comp.name)
        mapping = choose_input(layer, target, tiling, batch, names) \
            if host_input and layer.op == "Conv" and isinstance(lowering, Tensorize) \
            else None
        if mapping and mapping.layout:
            slots[xs[0].name] = replace(xs[0], npu_shape=(batch_dim, *mapping.layout.out_hw,
                                                          mapping.layout.k),
                                        layout=mapping.layout)
        gemm = mapping.gemm if mapping else layer
        # a template kernel reads [K, N] (docs/target_yaml.md); tensorized layers read the
        # order the GEMM intrinsic declares its weight operand in
        w = weight_in_dram(gemm, tiling) if isinstance(lowering, Tensorize) else gemm.weight
        w_off, b_off = consts.add(w), consts.add(layer.bias)
        q_off = consts.add(qp_table(layer, form, lanes, width))
        dram = {"X": "X", "Y": "Y", "W": f"(c + {w_off}u)", "B": f"(c + {b_off}u)"}
        codes.append(layer_code(layer, target, dram, batch, names, form,
                                f"(c + {q_off}u)", fn, tiling, mapping))
        scratch = "0"
        if isinstance(lowering, Template):  # the kernel's int32 result
            acc32 = f"{var}__acc32"
            slots[acc32] = Slot(acc32, (batch_dim, layer.weight.shape[1]),
                                (batch_dim, 4 * layer.weight.shape[1]))
            scratch = at(acc32)
        call = f"{fn}(rt{size_args}, {at(xs[0].name)}, {at(yi.name)}, addr[0], {scratch});"
    else:
        elt = analyze_elementwise(comp, tiling.channels, lowering)
        form = find_requant(target, cands, per_channel=False)
        lanes, width = _descriptor_shape(target, comp.name)
        cb = int(nhwc_shape(elt.out_shape, tiling.channels)[-1]) // lanes
        q_off = consts.add(elt_qp_table(elt, form, lanes, width, cb))
        dram = {"A": "X0", "B": "X1", "X": "X0", "Y": "Y"}
        if elt.op != "MaxPool":
            dram["Mr"] = f"(c + {consts.add(_mult_rows(elt, lanes))}u)"
        if elt.b_const is not None:
            dram["Bc"] = f"(c + {consts.add(elt.b_const.reshape(-1, lanes))}u)"
        text, explain = elementwise_code(elt, target, dram, names, form,
                                         f"(c + {q_off}u)", fn, tiling.channels)
        codes.append(LayerCode(elt, fn, text, explain))  # type: ignore[arg-type]
        # X0 / X1 are the analysis's operands (its zero points and multipliers), by name:
        # the composite's parameters are in graph order, a commutative Add's need not be.
        x0 = at(elt.inputs[0])
        x1 = at(elt.inputs[1]) if len(elt.inputs) > 1 else "0"
        call = f"{fn}(rt{size_args}, {x0}, {x1}, {at(yi.name)}, addr[0]);"
    return call


def _lowering(target: object, comp: Function) -> Lowering:
    """The typed `lower` of the composite's pattern, as the target declared it."""
    pattern = str(comp.attrs.get("pattern", ""))
    found = getattr(target, "lowerings", {}).get(pattern)
    if found is None:
        raise CodegenError(f"{comp.name}: pattern {pattern!r} is not a pattern of target "
                           f"{getattr(target, 'name', '?')} (partition with its patterns)")
    return found


def _is_conv1d(comp: Function) -> bool:
    return any(c.op == "Conv" and isinstance(c.args[0], Var)
               and len(c.args[0].type.shape) == 3 for c in _calls(comp))  # type: ignore[union-attr]


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
    nodes = tuple(str(n).partition("=")[2] or str(n)
                  for n in comp.attrs.get("nodes", ()))  # type: ignore[union-attr]
    return CompositeError(comp.name, nodes, reason)


def _no_scalars(module: Module, region: Function) -> None:
    """A composite reading or writing a rank-0 tensor (a Clip bound computed by the model,
    say) has no NPU layout: rows of channels need a channel axis."""
    for blk in region.blocks:
        for b in blk.bindings:
            if isinstance(b.value, CallFunc):
                for v in (*b.value.args, b.var):
                    if isinstance(v, Var) and not tuple(v.type.shape):  # type: ignore[union-attr]
                        raise _composite_error(module[b.value.func], f"{v.name} is a scalar: "
                                               "the NPU layers read rows of channels")


def region_code(module: Module, region: Function, target: object,
                hints: Mapping[str, int]) -> RegionCode:
    tiling = tiling_of(target)
    consts = _Consts()
    slots: dict[str, Slot] = {}

    nlc = _conv1d_values(module, region)

    def slot(v: Var) -> Slot:
        if v.name not in slots:
            shape = tuple(v.type.shape)  # type: ignore[union-attr]
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
            lowering = _lowering(target, comp)
            args = [a for a in b.value.args if isinstance(a, Var)]
            batch_dim = args[0].type.shape[0]  # type: ignore[union-attr]
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
                call = _composite(comp, fn, lowering, tiling, batch, batch_dim, names, size_args,
                                  xs, yi, b.var.name, target, consts, slots, codes, at,
                                  bool(args) and args[0].name in own_inputs)
            except CompositeError:
                raise
            except CodegenError as e:
                raise _composite_error(comp, str(e)) from None
            codes[-1] = replace(codes[-1], onnx_nodes=_onnx_nodes(comp), composite=comp.name,
                                nodes=_composite_error(comp, "").nodes,
                                const_bytes=consts.size - const0)
            ins = ", ".join(a.name for a in args)
            calls.append(f"    /* {b.var.name} = {comp.attrs.get('pattern')}({ins}) */\n"
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
