"""Element-wise composites (QDQ Add [+Relu], MaxPool, Relu) -> ALU intrinsic sequences.

auto_tensorize maps reductions; element-wise patterns are lowered here, by
choosing the target's ALU intrinsics by what their `compute` says
(vendor_sdk.codegen.intrinsic_roles) and staging data with the same copy
nests and emitter as tensorized layers. Decisions (Python, not templates):

- Add: ``y = q(sa (a - za) + sb (b - zb))`` is computed on the integers
  ``(a - za) * Ma + (b - zb) * Mb`` with ``Ma/Mb = sa/sb`` to 15 bits
  (``Ma, Mb <= 2**14``, so the sum stays below 2**24) and requantized per
  tensor by ``s / sy``. A constant ``b`` (a bias) is folded to int32 in Python.
- Relu / Clip alone: ``y = clamp(zy + (x - zx) sx / sy, lo, hi)``, one requantization
  whose clamp is the activation (vendor_sdk.codegen.epilogue); after an Add or MaxPool
  the activation is that layer's clamp.
- MaxPool: the running maximum over the window taps, padding reads -128
  (int8's lowest), and an identity requantization (mult 2**30, shift 30) to int8.
Tensors are viewed as flat rows of the accumulator's lanes (channel-last layout, channels
padded to the target's channel multiple: codegen.tiling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from core.graph import Constant, Function, Var
from core.tir.expr import Bin, Const, Expr, Load, binop, const, logical_and, select
from core.tir.expr import Var as TVar
from core.tir.stmt import Block, Buffer, For, IterVar, Stmt, Store
from core.tir.visit import substitute
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.epilogue import epilogue
from vendor_sdk.codegen.intrinsic_roles import RequantForm, find_alu
from vendor_sdk.codegen.layers import QParams, _bindings, _dq, nhwc_shape, pad_to
from vendor_sdk.codegen.memories import memory_of
from vendor_sdk.codegen.nest import NestEmitter, Requant
from vendor_sdk.codegen.requant import FixedPoint, fixed_point, ort_add_multipliers
from vendor_sdk.codegen.windows import window_dict
from vendor_sdk.target import Target
from vendor_sdk.target.lowering import Lowering, Tensorize
from vendor_sdk.target.templates import OperandView

SCALE_BITS = 14
ACTIVATIONS = ("Relu", "Clip")  # a lone one is a layer: requantize with the clamp
ELT_OPS = ("Add", "Sum", "MaxPool")  # the core of an element-wise layer (ALU intrinsics)


@dataclass(frozen=True)
class EltLayer:
    name: str
    pattern: str
    lower: Tensorize     # the pattern's: every intrinsic the layer may use
    source: str
    op: str                       # Add | MaxPool
    in_shape: tuple
    out_shape: tuple
    inputs: tuple[str, ...]       # variable inputs, composite param names in order
    a: QParams | None = None
    b_const: np.ndarray | None = None   # folded (b - zb) * Mb per padded channel, int32
    mults: tuple[int, int] = (1, 1)     # Ma, Mb
    zps: tuple[int, int] = (0, 0)
    requant: tuple[FixedPoint, ...] = ()
    out_zp: int = 0
    lo: int = -128
    hi: int = 127
    pool: dict = field(default_factory=dict)

    def macs(self, batch: int) -> int:
        return 0


def analyze_elementwise(f: Function, ch: int, lowering: Lowering) -> EltLayer:
    if not isinstance(lowering, Tensorize):  # validate refuses these (codegen.lowerable)
        raise CodegenError(f"{f.name}: template kernels lower MatMul / Gemm layers; an "
                           "element-wise layer needs `lower: {tensorize: [...]}`")
    calls = _bindings(f)
    main = [(n, c) for n, c in calls.items() if c.op in ELT_OPS]
    if not main:  # a lone activation: the identity on its dequantized input, then the clamp
        main = [(n, c) for n, c in calls.items() if c.op in ACTIVATIONS
                and isinstance(c.args[0], Var) and c.args[0].name in calls
                and calls[c.args[0].name].op == "DequantizeLinear"][:1]
    if len(main) != 1:
        raise CodegenError(f"{f.name}: expected one Add, MaxPool, Relu or Clip")
    name, c = main[0]
    arg = c.args[0]  # a lone activation's: a variable (the filter above)
    start = arg.name if c.op in ACTIVATIONS and isinstance(arg, Var) else name
    ep = epilogue(f, calls, start, c.op, bias=False)
    sy, zy = ep.scale, ep.zp
    out = f.outputs[0]
    if not isinstance(out, Var):
        raise CodegenError(f"{f.name}: its output is a constant, not a computed tensor")
    layer = partial(EltLayer, name=f.name, pattern=str(f.attrs.get("pattern", "")),
                    lower=lowering, source=name, op=c.op,
                    out_shape=tuple(out.tensor_type.shape), out_zp=zy, lo=ep.lo, hi=ep.hi)
    if c.op == "MaxPool":
        x, xq = _dq(calls, c.args[0], f"{f.name}: input")
        if abs(float(xq.scale[0]) - sy) > 1e-12 * sy or int(xq.zero_point[0]) != zy:
            raise CodegenError(f"{f.name}: MaxPool that changes the quantization")
        assert isinstance(x, Var)
        pool = window_dict(c.attrs, None, "MaxPool", f.name)
        if c.attrs.get_int("ceil_mode", 0) or any(d != 1 for d in pool["dilations"]):
            raise CodegenError(f"{f.name}: MaxPool with ceil_mode or dilation")
        # values stay in the input's quantization: the identity requantization adds no
        # zero point (a fused Relu still clamps at the zero point)
        return layer(out_zp=0, in_shape=tuple(x.tensor_type.shape), inputs=(x.name,),
                     requant=(FixedPoint(1 << 30, 30),), pool=pool)
    if c.op in ACTIVATIONS:
        x, xq = _dq(calls, c.args[0], f"{f.name}: input")
        if not isinstance(x, Var) or len(xq.scale) != 1:
            raise CodegenError(f"{f.name}: {c.op} needs a per-tensor quantized variable input")
        # y = clamp(zy + (x - zx) * sx / sy): no multiplier rows, one requantization
        return layer(in_shape=tuple(x.tensor_type.shape), inputs=(x.name,), a=xq,
                     zps=(int(xq.zero_point[0]), 0),
                     requant=(fixed_point(float(xq.scale[0]) / sy),))
    (a, aq), (b, bq) = (_dq(calls, arg, f"{f.name}: input") for arg in c.args)
    if isinstance(a, Constant):
        (a, aq), (b, bq) = (b, bq), (a, aq)
    if not isinstance(a, Var) or len(aq.scale) != 1 or len(bq.scale) != 1:
        raise CodegenError(f"{f.name}: Add needs per-tensor scales and a variable input")
    sa, sb = float(aq.scale[0]), float(bq.scale[0])
    # onnxruntime's own QLinearAdd integers when they apply (exact, codegen.requant)
    ort = ort_add_multipliers(sa, sb, sy)
    sc = max(sa, sb) / (1 << SCALE_BITS)
    ma, mb = (ort.ma, ort.mb) if ort else (round(sa / sc), round(sb / sc))
    add_requant = ort.requant if ort else fixed_point(sc / sy)
    za, zb = int(aq.zero_point[0]), int(bq.zero_point[0])
    shape = tuple(a.tensor_type.shape)
    folded = None
    inputs: tuple[str, ...] = (a.name,)
    if isinstance(b, Constant):
        bv = np.asarray(b.value, np.int64)
        chans = shape[1] if len(shape) == 4 else shape[-1]
        if not isinstance(chans, int):
            raise CodegenError(f"{f.name}: {chans} channels (symbolic); the NPU layout pads "
                               "a known channel count")
        flat = bv.reshape(-1)
        if bv.size not in (1, chans) or (bv.size == chans and bv.ndim and
                                          bv.shape[(len(shape) == 4 and -3) or -1] != chans):
            raise CodegenError(f"{f.name}: a constant operand must be per channel")
        vals = np.broadcast_to(flat, (chans,))
        folded = np.zeros(pad_to(chans, ch), np.int64)
        folded[:chans] = (vals - zb) * mb
        folded = folded.astype(np.int32)
    elif isinstance(b, Var):
        if tuple(b.tensor_type.shape) != shape:
            raise CodegenError(f"{f.name}: Add with broadcasting between two variables")
        inputs = (a.name, b.name)
    return layer(in_shape=shape, inputs=inputs, a=aq, b_const=folded,
                 mults=(ma, mb), zps=(za, zb), requant=(add_requant,))


def _flat(shape: tuple, ch: int, lanes: int) -> tuple[Expr, int]:
    """(pixels as an expression, blocks of ``lanes`` channels) of a tensor in the NPU
    layout (channels padded to ``ch``)."""
    npu = nhwc_shape(shape, ch)
    rows: Expr = Const(1)
    for d in npu[:-1]:
        rows = binop("*", rows, Const(d) if isinstance(d, int) else TVar(str(d)))
    return rows, int(npu[-1]) // lanes


def _copy(name: str, loops: Sequence[tuple[TVar, Expr]], dst: Buffer, idx: tuple[Expr, ...],
          value: Expr, pred: Expr | None = None) -> Stmt:
    """A copy nest over ``loops`` (the last is the lane loop) with its own block iters."""
    ivs = [TVar(f"{name}_{v.name}") for v, _ in loops]
    env = {v.name: iv for (v, _), iv in zip(loops, ivs, strict=True)}
    blk = Block(name, tuple(IterVar(iv, e) for iv, (_, e) in zip(ivs, loops, strict=True)),
                tuple(v for v, _ in loops),
                Store(dst, tuple(substitute(i, env) for i in idx), substitute(value, env)),
                predicate=substitute(pred, env) if pred is not None else None)
    out: Stmt = blk
    for v, e in reversed(loops):
        out = For(v, e, out)
    return out


class _Layer:
    """Imperative emission of one element-wise layer into a NestEmitter."""

    def __init__(self, em: NestEmitter, ch: int, lanes: int) -> None:
        self.em, self.ch, self.lanes = em, ch, lanes

    def alloc(self, buf: Buffer, shadow: bool = False) -> None:
        self.em.sram.allocate(buf, shadow)

    def row(self, buf: Buffer) -> Expr:
        return self.em.sram.row(buf, (Const(0), Const(0)))

    def alu(self, name: str, views: Mapping[str, Buffer], rows: int,
            imm: Mapping[str, int] | None = None) -> None:
        fixed = {k: OperandView("0", "0", "0", "0", str(v)) for k, v in (imm or {}).items()}
        vs = {k: (b.scope, self.row(b), 1) for k, b in views.items()}
        self.em.render_call(name, vs, fixed, rows, "", name)

    def loop(self, var: TVar, extent: Expr) -> None:
        self.em.open_loop(var, extent)

    def end(self) -> None:
        self.em.close_loop()


def elementwise_code(layer: EltLayer, target: Target, dram: Mapping[str, str],
                     sizes: Mapping[str, int], form: RequantForm, qp: str,
                     fn: str, ch: int) -> tuple[str, str]:
    """(C definition of the layer function, explanation); ``ch`` is the target's channel
    multiple (codegen.tiling), the rows are the accumulator's."""
    accm = memory_of(target, "accumulator")
    lanes = accm.row_elems
    em = NestEmitter(target, dram, {k: max(v, 2) for k, v in sizes.items()},
                     Requant("Y", "Y", qp, form.intrinsic, form.descriptor, form.x, form.y,
                             int(nhwc_shape(layer.out_shape, ch)[-1]) // lanes),
                     activations=("A", "B", "X"))
    cap = min(accm.rows // 4, 1023)
    pref = list(layer.lower.intrinsics)
    lay = _Layer(em, ch, lanes)
    if layer.op == "MaxPool":
        explain = _maxpool(layer, target, lay, cap, pref)
    else:
        explain = _add(layer, target, lay, cap, pref)
    em.out("vsdk_flush(rt);")
    args = "".join(f", int64_t {s}" for s in sizes)
    head = (f"/* {layer.name}: {layer.op} from ONNX node '{layer.source}', pattern "
            f"{layer.pattern}: {explain} */\n")
    text = (head + f"static void {fn}(vsdk_rt *rt{args}, uint32_t X0, uint32_t X1, "
            "uint32_t Y, uint32_t c) {\n    (void)X1;\n    (void)c;\n"
            + "\n".join([*(f"    {ln}" for ln in em.prologue), *em.lines]) + "\n}\n")
    return text, explain


def _add(layer: EltLayer, target: Target, lay: _Layer, cap: int, pref: list[str]) -> str:
    lanes = lay.lanes
    rows, cb = _flat(layer.in_shape, lay.ch, lanes)
    total = binop("*", rows, Const(cb))
    tile = max(cb, cap // cb * cb)  # whole pixels per tile: the bias rows repeat
    roles = {"+imm": ("+", True), "*": ("*", False), "+": ("+", False)}
    used: dict[str, str] = {}  # looked up when needed: a list may hold only what is used

    def alu(role: str, views: Mapping[str, Buffer], imm: Mapping[str, int] | None = None
            ) -> None:
        if role not in used:
            used[role] = find_alu(target, *roles[role], pref)
        lay.alu(used[role], views, tile, imm)

    a = Buffer("A", "int8", (total, Const(lanes)))
    y = Buffer("Y", "int32", (total, Const(lanes)))
    mr = Buffer("Mr", "int32", (Const(2), Const(lanes)))
    ra, rb, rm = (Buffer(n, "int32", (Const(tile), Const(lanes)), lay.em.acc)
                  for n in ("RA", "RB", "RM"))
    lay.alloc(ra, shadow=True)
    if layer.op not in ACTIVATIONS:  # a lone activation has one operand and no multiplier
        lay.alloc(rb)
        lay.alloc(rm)
    t, e, ln = TVar("t_r"), TVar("e_r"), TVar("e_l")
    r = t * tile + e
    inb = Bin("<", r, total)
    loops = [(e, Const(tile)), (ln, Const(lanes))]
    za, zb = layer.zps
    ma, mb = layer.mults
    lay.loop(t, binop("//", binop("+", total, Const(tile - 1)), Const(tile)))
    em = lay.em

    def scaled(buf: Buffer, src: Buffer, zp: int, m_row: int, m: int, nm: str) -> None:
        em.emit(_copy(f"{nm}_load", loops, buf, (e, ln),
                      select(inb, Load(src, (r, ln)), const(0, "int8"))))
        if zp:
            alu("+imm", {"D": buf}, {"imm": -zp})
        if m != 1:
            em.emit(_copy(f"{nm}_scale", loops, rm, (e, ln), Load(mr, (Const(m_row), ln))))
            alu("*", {"D": buf, "S": rm})

    def names() -> str:
        return ", ".join(used[k] for k in roles if k in used) or "no ALU op"

    scaled(ra, a, za, 0, ma, "A")
    if layer.op in ACTIVATIONS:
        em.emit(_copy("Y_store", loops, y, (r, ln), Load(ra, (e, ln)), inb))
        lay.end()
        return f"{names()}; requantized per tensor, clamped to [{layer.lo}, {layer.hi}]"
    if layer.b_const is not None:
        bc = Buffer("Bc", "int32", (Const(cb), Const(lanes)))
        em.emit(_copy("B_load", loops, rb, (e, ln), Load(bc, (binop("%", r, Const(cb)), ln))))
    else:
        scaled(rb, Buffer("B", "int8", (total, Const(lanes))), zb, 1, mb, "B")
    alu("+", {"D": ra, "S": rb})
    em.emit(_copy("Y_store", loops, y, (r, ln), Load(ra, (e, ln)), inb))
    lay.end()
    return f"{names()}; Ma={ma}, Mb={mb}; requantized per tensor"


def _maxpool(layer: EltLayer, target: Target, lay: _Layer, cap: int, pref: list[str]) -> str:
    """Running maximum over the window taps. Tiles are pixel-major: row (pixel, block) of a
    tile is ``pixel * blocks + block``, so a tap's rows follow the input's channel-last DRAM
    rows (consecutive pixels of a window row are one run of rows: a few transfers, not one
    per row when the channels span several rows)."""
    n_, c_, h, w = layer.in_shape
    _, _, oh, ow = layer.out_shape
    lanes = lay.lanes
    cp = pad_to(int(c_), lay.ch)
    cb = cp // lanes
    kh, kw = layer.pool["kernel"]
    sh, sw = layer.pool["strides"]
    ph, pw = layer.pool["pads"][:2]
    mx = find_alu(target, "max", False, pref)
    batch = Const(n_) if isinstance(n_, int) else TVar(str(n_))
    pix = binop("*", batch, Const(int(oh) * int(ow)))
    tile = max(1, min(cap // cb, 1023 // cb))
    rows = tile * cb
    x = Buffer("X", "int8", (batch, Const(int(h)), Const(int(w)), Const(cp)))
    y = Buffer("Y", "int32", (binop("*", pix, Const(cb)), Const(lanes)))
    d, s = (Buffer(nm, "int32", (Const(rows), Const(lanes)), lay.em.acc) for nm in ("D", "S"))
    lay.alloc(d, shadow=True)
    lay.alloc(s)
    lay.em.dram["X"] = "X0"
    t, e, b, ln, r = TVar("t_p"), TVar("e_p"), TVar("e_b"), TVar("e_c"), TVar("e_r")
    q = t * tile + e
    n, o_h, o_w = q // (int(oh) * int(ow)), q // int(ow) % int(oh), q % int(ow)
    loops = [(e, Const(tile)), (b, Const(cb)), (ln, Const(lanes))]
    row = binop("+", binop("*", e, Const(cb)), b)
    chan = binop("+", binop("*", b, Const(lanes)), ln)
    lay.loop(t, binop("//", binop("+", pix, Const(tile - 1)), Const(tile)))
    for i in range(kh):
        for j in range(kw):
            ih, iw = o_h * sh + (i - ph), o_w * sw + (j - pw)
            cond = logical_and(Bin("<", q, pix), Bin(">=", ih, Const(0)),
                               Bin("<", ih, Const(int(h))), Bin(">=", iw, Const(0)),
                               Bin("<", iw, Const(int(w))))
            dst = d if (i, j) == (0, 0) else s
            tap = Load(x, (n, ih, iw, chan))  # None: no condition left (always in bounds)
            value = select(cond, tap, const(-128, "int8")) if cond is not None else tap
            lay.em.emit(_copy(f"tap{i}{j}", loops, dst, (row, ln), value))
            if dst is s:
                lay.alu(mx, {"D": d, "S": s}, rows)
    flat = binop("+", binop("*", t, Const(rows)), r)  # output rows of lanes, pixel-major
    lay.em.emit(_copy("Y_store", [(r, Const(rows)), (ln, Const(lanes))], y, (flat, ln),
                      Load(d, (r, ln)), Bin("<", flat, binop("*", pix, Const(cb)))))
    lay.end()
    return f"{mx} over {kh}x{kw} taps; identity requantization"
