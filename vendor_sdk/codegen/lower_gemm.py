"""GEMM layers (Conv / MatMul / Gemm): a pattern's `tensorize` list auto-tensorizes the
layer's integer program (vendor_sdk.codegen.layers) onto the target's intrinsics, with
the requantization intrinsic as the epilogue of its output tiles; a `template` kernel
renders (sandboxed, StrictUndefined) with the layer's tensors and its int32 result is
requantized by the same epilogue, as a program of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from jinja2 import TemplateError

from core.tir.expr import Bin, Const, Expr, Load, const, select
from core.tir.expr import Var as TVar
from core.tir.stmt import Allocate, Block, Buffer, For, IterVar, PrimFunc, Store, seq
from vendor_sdk.codegen.cexpr import CodegenError, c_expr, c_name
from vendor_sdk.codegen.code import LayerCode, Slot
from vendor_sdk.codegen.consts import descriptor_shape, qp_table
from vendor_sdk.codegen.im2col import InputMapping, choose_input
from vendor_sdk.codegen.intrinsic_roles import RequantForm, find_requant
from vendor_sdk.codegen.layer_job import LayerJob
from vendor_sdk.codegen.layers import Layer, analyze, program, weight_in_dram
from vendor_sdk.codegen.memories import memory_of
from vendor_sdk.codegen.nest import Requant, emit_prim_func
from vendor_sdk.codegen.perf import templates_dir
from vendor_sdk.codegen.sram import const_int
from vendor_sdk.codegen.tiling import Tiling
from vendor_sdk.intrinsics.tensorize import auto_tensorize
from vendor_sdk.target import Target
from vendor_sdk.target.lowering import Template, Tensorize
from vendor_sdk.target.templates import environment, kernel_context


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


def _ld(b: Buffer, idx: tuple[Expr, ...]) -> Expr:
    return Load(b, idx)


def _sel(cond: Expr, b: Buffer, idx: tuple[Expr, ...]) -> Expr:
    return select(cond, _ld(b, idx), const(0, b.dtype))


def layer_code(layer: Layer, target: Target, dram: Mapping[str, str], batch: Expr,
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
        if not res.ok or res.func is None:
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
    ctx = kernel_context(kernel, layer.pattern, dict(target.params), str(kpad), str(npad),
                         {t: f"{g}[{i}]" for i, t in enumerate(("x", "w", "b", "out"))})
    try:
        kt = env.get_template(file).render(ctx)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        raise CodegenError(f"template {file}{f', line {line}' if line else ''}: "
                           f"{e}") from None
    hint = hints.get(batch.name, 1) if isinstance(batch, TVar) else const_int(batch)
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


def lower_gemm(job: LayerJob) -> tuple[LayerCode, str]:
    """A Conv / MatMul / Gemm layer (tensorized, or a template kernel plus the
    requantization epilogue): its LayerCode and the C call of it."""
    comp, lowering, target, tiling, consts = (job.comp, job.lowering, job.target, job.tiling,
                                              job.consts)
    xs, slots, at = job.xs, job.slots, job.at
    layer = analyze(comp, tiling.channels, lowering)
    form = find_requant(target, job.intrinsics)
    lanes, width = descriptor_shape(target, comp.name)
    mapping = choose_input(layer, target, tiling, job.batch, job.names) \
        if job.host_input and layer.op == "Conv" and isinstance(lowering, Tensorize) \
        else None
    if mapping and mapping.layout:
        slots[xs[0].name] = replace(xs[0], npu_shape=(job.batch_dim, *mapping.layout.out_hw,
                                                      mapping.layout.k),
                                    layout=mapping.layout)
    gemm = mapping.gemm if mapping else layer
    # a template kernel reads [K, N] (docs/target_yaml.md); tensorized layers read the
    # order the GEMM intrinsic declares its weight operand in
    w = weight_in_dram(gemm, tiling) if isinstance(lowering, Tensorize) else gemm.weight
    w_off, b_off = consts.add(w), consts.add(layer.bias)
    q_off = consts.add(qp_table(layer, form, lanes, width))
    dram = {"X": "X", "Y": "Y", "W": f"(c + {w_off}u)", "B": f"(c + {b_off}u)"}
    code = layer_code(layer, target, dram, job.batch, job.names, form, f"(c + {q_off}u)",
                      job.fn, tiling, mapping)
    scratch = "0"
    if isinstance(lowering, Template):  # the kernel's int32 result
        acc32 = f"{job.var}__acc32"
        slots[acc32] = Slot(acc32, (job.batch_dim, layer.weight.shape[1]),
                            (job.batch_dim, 4 * layer.weight.shape[1]))
        scratch = at(acc32)
    return code, (f"{job.fn}(rt{job.size_args}, {at(xs[0].name)}, {at(job.yi.name)}, "
                  f"addr[0], {scratch});")
