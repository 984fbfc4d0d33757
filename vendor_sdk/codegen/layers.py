"""Composite functions (QDQ patterns) -> integer layers in the NPU's data layout.

A composite's body is ``DequantizeLinear -> Conv/MatMul [-> Add bias] [-> Relu]
-> QuantizeLinear`` (docs/partitioning.md, QDQ). Decided here, in Python:

- activations are channel-last (NHWC, or ``[M, K]``) with channels padded to the
  target's channel multiple (codegen.tiling), so a row of lanes is channels of one pixel;
- weights are packed once as the GEMM's ``[K, N]`` matrix, K in the order
  (kh, kw, ci) so a reduction tile never straddles a kernel tap; in DRAM they are stored
  in the order the GEMM intrinsic declares its weight operand (``[K, N]`` or ``[N, K]``);
- the input zero point is folded into the bias: ``sum (x - zx) w + b =
  sum x w + (b - zx sum w)``; spatial padding then reads ``zx`` (real 0);
- Relu / Clip are the requantization's clamp (vendor_sdk.codegen.epilogue);
- the output requantization is (mult, shift) per channel (vendor_sdk.codegen.requant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.graph import Call, Constant, Function, Var
from core.lower.build import nest
from core.tir.expr import Bin, Const, Expr, Load, binop, cast, const, logical_and
from core.tir.expr import select as sel
from core.tir.stmt import Buffer, PrimFunc, Store
from core.tir.verify import check
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.epilogue import epilogue
from vendor_sdk.codegen.requant import FixedPoint, fixed_point, ort_scale
from vendor_sdk.codegen.tiling import Tiling
from vendor_sdk.codegen.windows import window_1d, window_dict
from vendor_sdk.target.lowering import Lowering

GEMM_OPS = ("Conv", "MatMul", "Gemm")  # composites whose core is one GEMM-shaped layer


def pad_to(n: int, step: int) -> int:
    return -(-n // step) * step


@dataclass(frozen=True)
class QParams:
    scale: np.ndarray  # float, per tensor (1,) or per channel
    zero_point: np.ndarray


@dataclass(frozen=True)
class Layer:
    """One offloaded composite as integer data and a tensor program."""

    name: str            # composite function name
    pattern: str
    lower: Lowering      # the pattern's `lower` (target.lowerings)
    source: str          # ONNX node names it came from (comments)
    op: str              # Conv | MatMul
    in_shape: tuple      # logical (graph) input shape, NCHW / [M, K]
    out_shape: tuple     # logical output shape
    x_zp: int
    weight: np.ndarray   # int8 [K, Np]
    bias: np.ndarray     # int32 [Np], zero point folded
    requant: tuple[FixedPoint, ...]  # per padded output channel
    out_zp: int
    lo: int
    hi: int
    conv: dict = field(default_factory=dict)  # kernel, strides, pads, dilations

    def macs(self, batch: int) -> int:
        """The model's multiply-accumulates per call (logical channels, no padding);
        ``batch`` is the symbolic leading extent's value (a fixed one counts as itself)."""
        lead = self.in_shape[0]
        batch = lead if isinstance(lead, int) else batch
        if self.op == "Conv":
            kh, kw = self.conv["kernel"]
            spatial = math.prod(int(d) for d in self.out_shape[2:])
            return (batch * spatial * int(self.out_shape[1]) * int(self.in_shape[1]) * kh * kw
                    // int(self.conv.get("group", 1)))
        rows = int(np.prod([int(d) for d in self.in_shape[1:-1]], dtype=np.int64))
        return batch * rows * int(self.in_shape[-1]) * int(self.out_shape[-1])


def _bindings(f: Function) -> dict[str, Call]:
    return {b.var.name: b.value for blk in f.blocks for b in blk.bindings
            if isinstance(b.value, Call)}


def _dq(calls: dict[str, Call], arg: object, what: str) -> tuple[object, QParams]:
    """The quantized value behind a DequantizeLinear and its scale / zero point."""
    if not isinstance(arg, Var) or arg.name not in calls or \
            calls[arg.name].op != "DequantizeLinear":
        raise CodegenError(f"{what} is not a DequantizeLinear output")
    c = calls[arg.name]
    scale, zp = c.args[1], c.args[2] if len(c.args) > 2 else None
    if not isinstance(scale, Constant) or (zp is not None and not isinstance(zp, Constant)):
        raise CodegenError(f"{what}: scale and zero point must be constants")
    zpv = zp.value if zp is not None else np.zeros(1, np.int64)
    return c.args[0], QParams(np.asarray(scale.value, np.float64).reshape(-1),
                              np.asarray(zpv, np.int64).reshape(-1))


def analyze(f: Function, ch: int, lowering: Lowering) -> Layer:
    """The integer layer of a Conv / MatMul composite (raises CodegenError otherwise);
    ``lowering`` is its pattern's, ``ch`` the target's channel multiple (codegen.tiling)."""
    calls = _bindings(f)
    comp = [(n, c) for n, c in calls.items() if c.op in GEMM_OPS]
    if len(comp) != 1:
        raise CodegenError(f"{f.name}: expected one Conv, MatMul or Gemm, found "
                           f"{[c.op for c in calls.values()]}")
    cname, cc = comp[0]
    x, xq = _dq(calls, cc.args[0], f"{f.name}: input")
    w, wq = _dq(calls, cc.args[1], f"{f.name}: weight")
    if not isinstance(x, Var) or not isinstance(w, Constant):
        raise CodegenError(f"{f.name}: needs a variable input and constant weights")
    if len(xq.scale) != 1 or np.any(wq.zero_point != 0):
        raise CodegenError(f"{f.name}: needs a per-tensor input scale and symmetric weights")
    w_dq = cc.args[1]  # a DequantizeLinear output (_dq above)
    if len(wq.scale) > 1 and isinstance(w_dq, Var):
        _check_channel_axis(calls[w_dq.name], cc, f.name)
    bias_arg: object = cc.args[2] if cc.op in ("Conv", "Gemm") and len(cc.args) > 2 else None
    ep = epilogue(f, calls, cname, cc.op, bias=True)
    if len(ep.bias) + (bias_arg is not None) > 1:
        raise CodegenError(f"{f.name}: {cc.op} with more than one bias")
    bias_arg = ep.bias[0] if ep.bias else bias_arg
    y_scale, y_zp = ep.scale, ep.zp
    wv = np.asarray(w.value, np.int64)
    if cc.op == "Gemm":
        _check_gemm(cc, f.name)
        if cc.attrs.get_int("transB", 0):
            wv = wv.T  # [N, K] -> the GEMM's [K, N]; the per-channel scales stay per N
    sx, zx = float(xq.scale[0]), int(xq.zero_point[0])
    if cc.op == "Conv":
        if wv.ndim == 3:  # Conv1d: a 2-D conv over a height-1 image (the NPU layout is NLC)
            conv = window_1d(cc.attrs, int(wv.shape[2]), f.name)
            wv = wv[:, :, None, :]
        elif wv.ndim == 4:
            conv = window_dict(cc.attrs, wv.shape[2:], "Conv", f.name)
        else:
            raise CodegenError(f"{f.name}: Conv with {wv.ndim - 2} spatial axes (the NPU "
                               "layers are 1-D or 2-D)")
        group = cc.attrs.get_int("group", 1)
        co, cg = wv.shape[:2]
        packed = grouped_weight(wv, group, ch) if group != 1 else _dense_weight(wv, ch)
        if group != 1:
            conv["group"] = group
            conv["co_s"] = super_groups(group, cg, co // group, ch)[2]
    else:
        k, co = wv.shape
        packed = np.zeros((pad_to(k, ch), pad_to(co, ch)), np.int64)
        packed[:k, :co] = wv
        conv = {}
    sw = np.broadcast_to(wq.scale, (co,)).astype(np.float64)
    acc_scale = sx * sw
    bias = np.zeros(packed.shape[1], np.int64)
    if bias_arg is not None:
        b, bq = _dq(calls, bias_arg, f"{f.name}: bias")
        if not isinstance(b, Constant):
            raise CodegenError(f"{f.name}: the bias must be constant")
        bf = (np.asarray(b.value, np.float64).reshape(-1) - bq.zero_point) * bq.scale
        bias[:co] = np.round(np.broadcast_to(bf, (co,)) / acc_scale).astype(np.int64)
    bias -= zx * packed.sum(axis=0)
    if np.abs(bias).max(initial=0) >= 2**31:
        raise CodegenError(f"{f.name}: folded bias exceeds int32")
    fps = [fixed_point(ort_scale(sx, float(w), y_scale)) for w in sw]  # onnxruntime's float32
    fps += [FixedPoint(0, 0)] * (packed.shape[1] - co)
    out_var = f.outputs[0]
    if not isinstance(out_var, Var):
        raise CodegenError(f"{f.name}: its output is a constant, not a computed tensor")
    # A Gemm (transA = 0, alpha = beta = 1) is X W + b: the same integer layer as MatMul.
    op = "MatMul" if cc.op == "Gemm" else cc.op
    return Layer(f.name, str(f.attrs.get("pattern", "")), lowering,
                 cname, op, tuple(x.tensor_type.shape), tuple(out_var.tensor_type.shape), zx,
                 packed.astype(np.int8), bias.astype(np.int32), tuple(fps), y_zp, ep.lo, ep.hi,
                 conv)


def _dense_weight(wv: np.ndarray, ch: int) -> np.ndarray:
    """[Co, Ci, kh, kw] -> the GEMM's [kh * kw * Cip, Cop], rows (kh, kw, ci)."""
    co, ci, kh, kw = wv.shape
    packed = np.zeros((kh, kw, pad_to(ci, ch), pad_to(co, ch)), np.int64)
    packed[:, :, :ci, :co] = wv.transpose(2, 3, 1, 0)
    return packed.reshape(-1, packed.shape[-1])


def super_groups(group: int, cg: int, mg: int, ch: int) -> tuple[int, int, int]:
    """(S, CI_s, CO_s): ``group`` groups of ``cg`` inputs / ``mg`` outputs merged into S
    super-groups of q consecutive groups, CI_s = q cg input and CO_s = q mg output channels,
    both multiples of the channel multiple ``ch``, so every tile of input or output lanes
    lies in one super-group. Each super-group is a dense GEMM whose weight is
    block-diagonal (zero across groups): a depthwise conv (cg = mg = 1) reduces tiles with
    one non-zero weight per output lane. When no q divides ``group``, one super-group
    holds every padded channel (S = 1)."""
    for q in range(1, group + 1):
        if group % q == 0 and q * cg % ch == 0 and q * mg % ch == 0:
            return group // q, q * cg, q * mg
    return 1, pad_to(group * cg, ch), pad_to(group * mg, ch)


def grouped_weight(wv: np.ndarray, group: int, ch: int) -> np.ndarray:
    """[Co, Ci / group, kh, kw] -> [kh * kw * CI_s, Cop]: column block s (CO_s wide) is
    super-group s's GEMM matrix, rows (kh, kw, c) with c counted from the super-group's
    first input channel (super_groups)."""
    co, cg, kh, kw = wv.shape
    mg = co // group
    s, ci_s, co_s = super_groups(group, cg, mg, ch)
    q = group // s
    packed = np.zeros((kh, kw, ci_s, pad_to(co, ch)), np.int64)
    for g in range(group):
        sg, gl = divmod(g, q)
        cols = slice(sg * co_s + gl * mg, sg * co_s + (gl + 1) * mg)
        packed[:, :, gl * cg:(gl + 1) * cg, cols] = wv[g * mg:(g + 1) * mg].transpose(2, 3, 1, 0)
    return packed.reshape(-1, packed.shape[-1])


def _check_gemm(cc: Call, where: str) -> None:
    """Only the Gemm that is a plain ``X W + b`` maps onto the MatMul layer."""
    a = cc.attrs
    if a.get_int("transA", 0) or a.get_float("alpha", 1.0) != 1.0 or \
            a.get_float("beta", 1.0) != 1.0:
        raise CodegenError(f"{where}: Gemm with transA/alpha/beta other than 0/1/1")


def _check_channel_axis(dq: Call, cc: Call, where: str) -> None:
    """Per-channel weight scales must run along the output channels (a scale per N).

    A square weight with scales along K would broadcast without error and be wrong."""
    w = dq.args[0]
    rank = len(w.value.shape) if isinstance(w, Constant) else 0
    axis = dq.attrs.get_int("axis", 1) % max(rank, 1)
    want = 0 if cc.op == "Conv" or (cc.op == "Gemm" and cc.attrs.get_int("transB", 0)) \
        else rank - 1
    if axis != want:
        raise CodegenError(f"{where}: per-channel weight scales along axis {axis}, "
                           f"expected the output channels (axis {want})")


def conv_shape(shape: tuple) -> tuple:
    """A conv's NCHW shape; a 1-D conv's NCL is NC1L (its NPU layout: N, 1, L, C)."""
    return shape if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])


def nhwc_shape(shape: tuple, ch: int) -> tuple:
    """Logical NCHW / [M, K] shape -> the on-NPU channel-last shape, channels padded to
    the channel multiple ``ch``."""
    if len(shape) == 4:
        n, c, h, w = shape
        return (n, h, w, pad_to(int(c), ch))
    return (*shape[:-1], pad_to(int(shape[-1]), ch))


def weight_in_dram(layer: Layer, tiling: Tiling) -> np.ndarray:
    """The packed weight as the program reads it from DRAM: ``[K, Np]``; or, when the GEMM
    intrinsic's weight operand is ``[n, k]`` (a weight row is one output lane's k inputs),
    ``[K / k, Np, k]``: for each block of k reduction lanes, every output lane's row, so
    the rows of a tile (consecutive output lanes) are consecutive in DRAM and stage as
    one transfer. K is in (kh, kw, c) order with c a multiple of k: a block never
    straddles a kernel tap."""
    if not tiling.weight_nk:
        return layer.weight
    kdim, npad = layer.weight.shape
    kb = tiling.k
    return np.ascontiguousarray(layer.weight.reshape(kdim // kb, kb, npad).transpose(0, 2, 1))


def program(layer: Layer, tiling: Tiling, batch: Expr) -> PrimFunc:
    """``Y = B + sum i32(X) * i32(W)`` in the NPU layout (int32 result, before requant);
    W in the order of ``weight_in_dram``."""
    kdim, npad = layer.weight.shape
    nk, kb = tiling.weight_nk, Const(tiling.k)
    wbuf = Buffer("W", "int8", (Const(kdim // tiling.k), Const(npad), kb) if nk else
                  (Const(kdim), Const(npad)))
    bbuf = Buffer("B", "int32", (Const(npad),))
    if layer.op == "MatMul":
        xs = nhwc_shape(layer.in_shape, tiling.channels)
        xbuf = Buffer("X", "int8", (batch, Const(xs[-1])))
        ybuf = Buffer("Y", "int32", (batch, Const(npad)))

        def body(i: list, k: list) -> Store:
            upd = Bin("*", cast("int32", Load(xbuf, (i[0], k[0]))),
                      cast("int32", Load(wbuf, (binop("//", k[0], kb), i[1], binop("%", k[0], kb))
                                         if nk else (k[0], i[1]))))
            return Store(ybuf, tuple(i), Bin("+", Load(ybuf, tuple(i)), upd))

        stmt = nest("dense", ybuf.shape, (Const(kdim),), body,
                    lambda i: Store(ybuf, tuple(i), Load(bbuf, (i[1],))))
        return check(PrimFunc(c_safe(layer.name), (xbuf, wbuf, bbuf, ybuf), stmt))
    _, h, w, cip = nhwc_shape(conv_shape(layer.in_shape), tiling.channels)
    _, _, oh, ow = conv_shape(layer.out_shape)
    kh, kw = layer.conv["kernel"]
    sh, sw = layer.conv["strides"]
    dh, dw = layer.conv["dilations"]
    ph, pw = layer.conv["pads"][:2]
    xbuf = Buffer("X", "int8", (batch, Const(h), Const(w), Const(cip)))
    ybuf = Buffer("Y", "int32", (batch, Const(int(oh)), Const(int(ow)), Const(npad)))
    # A grouped conv runs per super-group (layers.super_groups): its rows of W are the
    # super-group's input channels, counted from its first one.
    cin = kdim // (kh * kw)
    sgs = npad // _co_s(layer)
    w4 = Buffer("W", "int8", (Const(kh), Const(kw), Const(cin // tiling.k), Const(npad), kb)
                if nk else (Const(kh), Const(kw), Const(cin), Const(npad)))

    def cbody(i: list, k: list) -> Store:
        if sgs > 1:
            n, y, x_, g, j = i
            co = binop("+", binop("*", g, Const(npad // sgs)), j)
            xoff = binop("*", g, Const(cin))
        else:
            (n, y, x_, co), xoff = i, Const(0)
        r, s, c = k
        ci = binop("+", xoff, c)
        iy = binop("-", binop("+", binop("*", y, sh), binop("*", r, dh)), ph)
        ix = binop("-", binop("+", binop("*", x_, sw), binop("*", s, dw)), pw)
        conds = [Bin(">=", iy, Const(0)), Bin("<", iy, Const(h)), Bin(">=", ix, Const(0)),
                 Bin("<", ix, Const(w))] if any(layer.conv["pads"]) else []
        xv: Expr = Load(xbuf, (n, iy, ix, ci))
        inb = logical_and(*conds)
        if inb is not None:
            xv = sel(inb, xv, const(layer.x_zp, "int8"))
        upd = Bin("*", cast("int32", xv),
                  cast("int32", Load(w4, (r, s, binop("//", c, kb), co, binop("%", c, kb))
                                     if nk else (r, s, c, co))))
        yi = (n, y, x_, co)
        return Store(ybuf, yi, Bin("+", Load(ybuf, yi), upd))

    def init(i: list) -> Store:
        co = binop("+", binop("*", i[3], Const(npad // sgs)), i[4]) if sgs > 1 else i[3]
        return Store(ybuf, (*i[:3], co), Load(bbuf, (co,)))

    space = (*ybuf.shape[:3], Const(sgs), Const(npad // sgs)) if sgs > 1 else ybuf.shape
    stmt = nest("conv", space, (Const(kh), Const(kw), Const(cin)), cbody, init)
    return check(PrimFunc(c_safe(layer.name), (xbuf, w4, bbuf, ybuf), stmt))


def _co_s(layer: Layer) -> int:
    """Output channels per super-group (all of them for a dense conv)."""
    return int(layer.conv.get("co_s") or layer.weight.shape[1])  # co_s >= 1 when set


def c_safe(name: str) -> str:
    from vendor_sdk.codegen.cexpr import c_name

    return c_name(name)


def reference(layer: Layer, x: np.ndarray) -> np.ndarray:
    """The layer's exact integer result on a logical int8 input (what the NPU must give)."""
    from vendor_sdk.codegen.requant import requant_reference

    co = layer.out_shape[1] if layer.op == "Conv" else layer.out_shape[-1]
    xi = x.astype(np.int64)
    if layer.op == "MatMul":
        k = xi.shape[-1]
        acc = xi @ layer.weight[:k, :].astype(np.int64) + layer.bias
    else:
        if xi.ndim == 3:  # Conv1d: height 1
            xi = xi[:, :, None, :]
        kh, kw = layer.conv["kernel"]
        rows = layer.weight.shape[0] // (kh * kw)
        w4 = layer.weight.astype(np.int64).reshape(kh, kw, rows, -1)
        co_s = _co_s(layer)
        (sh, sw), (dh, dw) = layer.conv["strides"], layer.conv["dilations"]
        p = layer.conv["pads"]
        sgs = w4.shape[-1] // co_s
        xp = np.pad(xi, ((0, 0), (0, max(0, sgs * rows - xi.shape[1])), (p[0], p[2]),
                         (p[1], p[3])), constant_values=layer.x_zp)
        oh, ow = layer.out_shape[-2:] if x.ndim == 4 else (1, layer.out_shape[-1])
        n = x.shape[0]
        acc = np.broadcast_to(layer.bias, (n, oh, ow, layer.bias.shape[0])).copy()
        for g in range(sgs):  # super-groups: W's rows count from their first input channel
            cols = slice(g * co_s, (g + 1) * co_s)
            for r in range(kh):
                for s in range(kw):
                    patch = xp[:, g * rows:(g + 1) * rows, r * dh:r * dh + sh * (oh - 1) + 1:sh,
                               s * dw:s * dw + sw * (ow - 1) + 1:sw]
                    acc[..., cols] += np.einsum("nchw,cd->nhwd", patch, w4[r, s, :, cols])
        acc = acc.transpose(0, 3, 1, 2).reshape(n, -1, *layer.out_shape[2:])
    y = requant_reference(acc, list(layer.requant), layer.out_zp, layer.lo, layer.hi, axis=1
                          if layer.op == "Conv" else -1)
    return y[:, :co] if layer.op == "Conv" else y[..., :co]
