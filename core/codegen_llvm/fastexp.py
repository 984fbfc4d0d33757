"""``exp`` on float32 as inline, vectorisable LLVM IR instead of a libm call.

libmvec's ``expf`` costs about as much per element as onnxruntime's whole
softmax (measured: 55 us for 128k values, AVX-512). Straight-line arithmetic
that LLVM's vectoriser widens itself is cheaper (36 us, see
docs/host_codegen.md), so the float32 ``exp`` is computed here:

    n = round(x * log2(e))                      x = n ln2 + r, |r| <= ln2 / 2
    r = x - n * LN2_HI - n * LN2_LO             Cody-Waite: n * LN2_HI is exact
    p = 1 + r + r^2 P(r)                        P: degree 5, float32 minimax
    exp(x) = p * 2^n                            one rounding, subnormals included

``x`` is clamped to [-104, 89] first (exp(-104) rounds to 0 and exp(89) to
+inf in float32, so clamping changes nothing); a NaN passes the clamp and
makes ``p`` NaN. ``n`` comes from the magic-number rounding (add 1.5 * 2^23,
read the mantissa bits), which is defined for every input, where ``fptosi``
of NaN would be poison. ``p * 2^n`` is ``llvm.ldexp`` where that is one
instruction (AVX-512 ``vscalefps``), else two exact multiplications by
powers of two built from exponent bits. The polynomial uses fused
multiply-adds (``llvm.fma``: exact, whatever the host), so results do not
depend on the optimiser's contraction choices. Accuracy is measured, not
assumed: ``tests/codegen_llvm/test_fastexp.py`` checks both scalings
against float64 exp (at most 1.3 ulp; measured maximum in docs/host_codegen.md).
"""

from __future__ import annotations

from llvmlite import ir

from core.codegen_llvm.dtypes import declare_intrinsic

F32 = ir.FloatType()
I32 = ir.IntType(32)

LOG2E = 1.44269504088896341
LN2_HI = 0.693359375          # 11 significant bits: n * LN2_HI is exact for |n| < 2^13
LN2_LO = -2.12194440e-4       # ln 2 - LN2_HI
LO, HI = -104.0, 89.0
MAGIC = 12582912.0            # 1.5 * 2^23
MAGIC_BITS = 0x4B400000
# exp(r) = 1 + r + r^2 * P(r), P the float32 minimax fit of Cephes' expf (|r| <= ln2/2).
POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
        1.6666665459e-1, 5.0000001201e-1)


def _like(ty: ir.Type, elem: ir.Type) -> ir.Type:
    """``elem``, or a vector of it as wide as ``ty`` (the same code serves both)."""
    return ir.VectorType(elem, ty.count) if isinstance(ty, ir.VectorType) else elem


def _intrinsic(b: ir.IRBuilder, name: str, *args: ir.Value) -> ir.Value:
    ty = args[0].type
    fnty = ir.FunctionType(ty, [ty] * len(args))
    return b.call(declare_intrinsic(b.module, name, [ty], fnty), list(args))


def _pow2(b: ir.IRBuilder, n: ir.Value) -> ir.Value:
    """2^n as a float for -126 <= n <= 127 (exponent bits, no rounding)."""
    bits = b.shl(b.add(n, ir.Constant(n.type, 127)), ir.Constant(n.type, 23))
    return b.bitcast(bits, _like(n.type, F32))


def expf(b: ir.IRBuilder, x: ir.Value, scalef: bool) -> ir.Value:
    """float32 exp of ``x`` (a float or a vector of floats; see module); ``scalef``: the
    host scales by 2^n in one instruction (AVX-512 ``vscalefps``, ``llvm.ldexp`` there)."""
    fty, ity = x.type, _like(x.type, I32)

    def _c(v: float) -> ir.Constant:
        return ir.Constant(fty, v)

    # Clamp with compare/select (not minnum, which would replace a NaN by the bound).
    xc = b.select(b.fcmp_ordered(">", x, _c(HI)), _c(HI), x)
    xc = b.select(b.fcmp_ordered("<", xc, _c(LO)), _c(LO), xc)
    # Round x*log2(e) to an integer by adding 1.5 * 2^23: the sum's low mantissa bits are
    # the integer (defined for NaN too, unlike fptosi, which would give poison).
    t = _intrinsic(b, "llvm.fma", xc, _c(LOG2E), _c(MAGIC))
    z = b.fsub(t, _c(MAGIC))
    r = _intrinsic(b, "llvm.fma", z, _c(-LN2_HI), xc)
    r = _intrinsic(b, "llvm.fma", z, _c(-LN2_LO), r)
    p = _c(POLY[0])
    for coef in POLY[1:]:
        p = _intrinsic(b, "llvm.fma", p, r, _c(coef))
    r2 = b.fmul(r, r)
    p = _intrinsic(b, "llvm.fma", p, r2, b.fadd(r, _c(1.0)))
    n = b.sub(b.bitcast(t, ity), ir.Constant(ity, MAGIC_BITS))   # in [-150, 129]
    if scalef:
        fnty = ir.FunctionType(fty, [fty, ity])
        return b.call(declare_intrinsic(b.module, "llvm.ldexp", [fty, ity], fnty), [p, n])
    # Elsewhere ldexp is a libm call per element: scale in two exact steps instead, so
    # subnormal results round once. A NaN x makes p NaN, whatever n's bits are.
    half = b.ashr(n, ir.Constant(ity, 1))
    return b.fmul(b.fmul(p, _pow2(b, b.sub(n, half))), _pow2(b, half))
