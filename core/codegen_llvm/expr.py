"""Tensor IR expressions as LLVM values, with exactly the interpreter's semantics.

Where C and LLVM leave something undefined that numpy defines, the numpy
answer is computed explicitly, branch-free so loops still vectorise: integer
``//`` and ``%`` by 0 give 0 (and ``MIN // -1`` wraps), shifts by at least
the width give 0 or the sign, ``min``/``max`` are compare-and-select. Float
to int casts use LLVM's saturating conversions (C leaves out-of-range values
undefined; saturating keeps them defined and vectorisable).

The arms of a ``select`` may load out of bounds (padding reads outside the
input). Both arms are computed, so their loads clamp each index into the
buffer: the address is always valid, and the value is discarded exactly when
the interpreter would have discarded its poison.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from core.codegen_llvm import fastexp, mathlib
from core.codegen_llvm.dtypes import (
    I1,
    I64,
    byte_size,
    const_value,
    declare_intrinsic,
    memory_type,
    signed,
    value_type,
)
from core.codegen_llvm.error import CodegenError
from core.tir.expr import (
    COMPARE,
    Bin,
    Cast,
    Const,
    Expr,
    Load,
    RShiftRound,
    Select,
    Unary,
    Var,
    dtype_bits,
    is_float,
    is_int,
)
from core.tir.printer import expr_str
from core.tir.stmt import Buffer

# Exact operations LLVM vectorises itself; exp/log/tanh/erf come from core.codegen_llvm.mathlib.
_INTRINSIC_UNARY = {"sqrt": "llvm.sqrt", "floor": "llvm.floor", "round_even": "llvm.roundeven"}
_FCMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=="}


@dataclass(frozen=True)
class BufferRef:
    """A buffer as compiled code sees it: base pointer and i64 extents."""

    buffer: Buffer
    ptr: ir.Value
    dims: tuple[ir.Value, ...]


class ExprEmitter:
    """Emits expressions at the builder's position; ``env`` maps variables to i64 values."""

    def __init__(self, builder: ir.IRBuilder, env: dict[str, ir.Value],
                 buffers: dict[str, BufferRef]) -> None:
        self.b, self.env, self.buffers = builder, env, buffers

    @property
    def module(self) -> ir.Module:
        return self.b.module

    def __call__(self, e: Expr, safe: bool = False) -> ir.Value:
        match e:
            case Const(v, dt):
                return const_value(v, dt)
            case Var(name, dt):
                if name not in self.env:
                    raise CodegenError(f"variable '{name}' is not bound")
                v = self.env[name]
                return v if dt == "int64" else self.b.trunc(v, value_type(dt))
            case Bin(op, a, b):
                return self.binary(e, self(a, safe), self(b, safe))
            case Unary(op, a):
                return self.unary(op, self(a, safe), a.dtype)
            case Cast(dt, a):
                return self.cast(self(a, safe), a.dtype, dt)
            case Select(c, a, b):
                # Both arms run; their loads clamp (see the module docstring).
                return self.b.select(self(c, safe), self(a, True), self(b, True))
            case RShiftRound(x, s, mode):
                return self.rshift_round(self(x, safe), self(s, safe), x.dtype, mode)
            case Load(buf, idx):
                return self.load(buf, idx, safe)
        raise CodegenError(f"cannot compile expression {e!r}")

    # -- memory ---------------------------------------------------------------------------

    def address(self, buf: Buffer, idx: tuple[Expr, ...], clamp: bool = False) -> ir.Value:
        ref = self.buffers.get(buf.name)
        if ref is None:
            raise CodegenError(f"buffer '{buf.name}' is not declared here")
        flat: ir.Value | None = None
        for i, d in zip(idx, ref.dims, strict=True):
            v = self.index(self(i, clamp))
            if clamp:
                hi = self.b.sub(d, ir.Constant(I64, 1))
                v = self._smax(self._smin(v, hi), ir.Constant(I64, 0))
            flat = v if flat is None else self.b.add(self.b.mul(flat, d), v)
        return self.b.gep(ref.ptr, [flat if flat is not None else ir.Constant(I64, 0)],
                          inbounds=True, source_etype=memory_type(buf.dtype))

    def index(self, v: ir.Value) -> ir.Value:
        width = v.type.width
        return v if width == 64 else self.b.sext(v, I64)

    def load(self, buf: Buffer, idx: tuple[Expr, ...], clamp: bool) -> ir.Value:
        mem = memory_type(buf.dtype)
        v = self.b.load(self.address(buf, idx, clamp), typ=mem, align=byte_size(buf.dtype))
        return self.b.icmp_unsigned("!=", v, ir.Constant(mem, 0)) if buf.dtype == "bool" else v

    def store_value(self, v: ir.Value, dtype: str) -> ir.Value:
        return self.b.zext(v, memory_type(dtype)) if dtype == "bool" else v

    # -- arithmetic -----------------------------------------------------------------------

    def binary(self, e: Bin, a: ir.Value, b: ir.Value) -> ir.Value:
        op, dt = e.op, e.a.dtype
        B = self.b
        if op in ("and", "or"):
            return B.and_(a, b) if op == "and" else B.or_(a, b)
        if is_float(dt):
            if op in COMPARE:
                # numpy's != is true for NaN (unordered); the others are ordered.
                return B.fcmp_unordered("!=", a, b) if op == "!=" else \
                    B.fcmp_ordered(_FCMP[op], a, b)
            simple = {"+": B.fadd, "-": B.fsub, "*": B.fmul, "/": B.fdiv}
            if op in simple:
                return simple[op](a, b)
            if op == "min":
                return B.select(B.fcmp_ordered("<", b, a), b, a)
            if op == "max":
                return B.select(B.fcmp_ordered(">", b, a), b, a)
            raise CodegenError(f"'{op}' on {dt} in '{expr_str(e)}'")
        sgn = signed(dt)
        if op in COMPARE:
            return B.icmp_signed(op, a, b) if sgn else B.icmp_unsigned(op, a, b)
        simple = {"+": B.add, "-": B.sub, "*": B.mul, "&": B.and_, "|": B.or_, "^": B.xor}
        if op in simple:
            return simple[op](a, b)
        if op in ("min", "max"):
            cmp = "<" if op == "min" else ">"
            pick = B.icmp_signed(cmp, b, a) if sgn else B.icmp_unsigned(cmp, b, a)
            return B.select(pick, b, a)
        if op in ("//", "%"):
            return self.floor_divmod(op, a, b, sgn)
        if op in ("<<", ">>"):
            return self.shift(op, a, b, sgn)
        raise CodegenError(f"'{op}' on {dt} in '{expr_str(e)}' has no host semantics")

    def floor_divmod(self, op: str, a: ir.Value, b: ir.Value, sgn: bool) -> ir.Value:
        """numpy's floor_divide / mod: by 0 gives 0, MIN // -1 wraps; never LLVM UB."""
        B, ty = self.b, a.type
        zero, one = ir.Constant(ty, 0), ir.Constant(ty, 1)
        by_zero = B.icmp_unsigned("==", b, zero)
        if not sgn:
            d = B.select(by_zero, one, b)
            return B.select(by_zero, zero, B.udiv(a, d) if op == "//" else B.urem(a, d))
        by_m1 = B.icmp_signed("==", b, ir.Constant(ty, -1))
        d = B.select(B.or_(by_zero, by_m1), one, b)
        q, r = B.sdiv(a, d), B.srem(a, d)
        # C truncates; floor differs when the remainder is non-zero and signs differ.
        fix = B.and_(B.icmp_signed("!=", r, zero),
                     B.icmp_signed("<", B.xor(r, d), zero))
        if op == "//":
            q = B.sub(q, B.zext(fix, ty))
            return B.select(by_zero, zero, B.select(by_m1, B.sub(zero, a), q))
        return B.select(by_zero, zero, B.add(r, B.select(fix, d, zero)))

    def shift(self, op: str, a: ir.Value, b: ir.Value, sgn: bool) -> ir.Value:
        """numpy shifts: an amount outside [0, width) shifts everything out."""
        B, ty = self.b, a.type
        width = ir.Constant(ty, ty.width)
        ok = B.icmp_unsigned("<", b, width)
        amount = B.select(ok, b, ir.Constant(ty, 0))
        if op == "<<":
            return B.select(ok, B.shl(a, amount), ir.Constant(ty, 0))
        if sgn:
            return B.select(ok, B.ashr(a, amount), B.ashr(a, ir.Constant(ty, ty.width - 1)))
        return B.select(ok, B.lshr(a, amount), ir.Constant(ty, 0))

    def _smin(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.select(self.b.icmp_signed("<", b, a), b, a)

    def _smax(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.select(self.b.icmp_signed(">", b, a), b, a)

    def unary(self, op: str, a: ir.Value, dt: str) -> ir.Value:
        B = self.b
        if op == "not":
            return B.not_(a)
        if op == "neg":
            return B.fneg(a) if is_float(dt) else B.sub(ir.Constant(a.type, 0), a)
        if op == "abs":
            if is_float(dt):
                return self.intrinsic("llvm.fabs", a)
            if not signed(dt):
                return a
            # Wraps at MIN like numpy's abs (no poison flag).
            return B.select(B.icmp_signed("<", a, ir.Constant(a.type, 0)),
                            B.sub(ir.Constant(a.type, 0), a), a)
        if not is_float(dt):
            raise CodegenError(f"'{op}' on {dt} has no host semantics (numpy would change the "
                               "dtype); cast to a float first")
        if op in _INTRINSIC_UNARY:
            return self.intrinsic(_INTRINSIC_UNARY[op], a)
        if op not in ("exp", "log", "tanh", "erf"):
            raise CodegenError(f"unknown unary operator {op!r}")
        # numpy computes float16 math in float32; the interpreter computes erf in double
        # and rounds once. Both widen, call, and round back the same way here.
        wide = "float64" if op == "erf" else ("float32" if dt == "float16" else dt)
        wty = value_type(wide)
        x = a if wide == dt else B.fpext(a, wty)
        if op == "exp" and wide == "float32":
            r = fastexp.expf(B, x, mathlib.has_scalef())  # inline, vectorisable
        else:
            r = B.call(mathlib.declare(self.module, op, wide, wty), [x])
        return r if wide == dt else B.fptrunc(r, a.type)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        ty = args[0].type
        fnty = ir.FunctionType(ty, [a.type for a in args])
        return self.b.call(declare_intrinsic(self.module, name, [ty], fnty), list(args))

    def cast(self, a: ir.Value, src: str, dst: str) -> ir.Value:
        B = self.b
        if src == dst:
            return a
        to = value_type(dst)
        if dst == "bool":  # numpy: non-zero (and NaN) is True
            if is_float(src):
                return B.fcmp_unordered("!=", a, ir.Constant(a.type, 0.0))
            return B.icmp_unsigned("!=", a, ir.Constant(a.type, 0))
        if src == "bool":
            return B.uitofp(a, to) if is_float(dst) else B.zext(a, to)
        if is_int(src) and is_int(dst):
            if to.width < a.type.width:
                return B.trunc(a, to)
            if to.width > a.type.width:
                return B.sext(a, to) if signed(src) else B.zext(a, to)
            return a
        if is_int(src):
            return B.sitofp(a, to) if signed(src) else B.uitofp(a, to)
        if is_int(dst):
            name = "llvm.fptosi.sat" if signed(dst) else "llvm.fptoui.sat"
            fnty = ir.FunctionType(to, [a.type])
            return B.call(self.module.declare_intrinsic(name, [to, a.type], fnty), [a])
        return B.fpext(a, to) if dtype_bits(dst) > dtype_bits(src) else B.fptrunc(a, to)

    def rshift_round(self, x: ir.Value, s: ir.Value, dt: str, mode: str) -> ir.Value:
        """As core.tir.interp.rshift_round: computed in int64, then wrapped to ``dt``."""
        B = self.b
        if signed(dt):
            x64, s64 = (B.sext(v, I64) if v.type.width < 64 else v for v in (x, s))
        else:
            x64, s64 = (B.zext(v, I64) if v.type.width < 64 else v for v in (x, s))
        zero, one = ir.Constant(I64, 0), ir.Constant(I64, 1)
        q = self.shift(">>", x64, s64, True)
        rem = B.and_(x64, B.not_(self.shift("<<", ir.Constant(I64, -1), s64, True)))
        positive = B.icmp_signed(">", s64, zero)
        half = B.select(positive, self.shift("<<", one, self._smax(B.sub(s64, one), zero), True),
                        zero)
        above = B.icmp_signed(">", rem, half)
        tie = B.and_(B.icmp_signed("==", rem, half), positive)
        odd = B.icmp_signed("==", B.and_(q, one), one)
        ups: dict[str, ir.Value] = {
            "floor": ir.Constant(I1, 0),
            "trunc": B.and_(B.icmp_signed("!=", rem, zero), B.icmp_signed("<", x64, zero)),
            "half_up": B.or_(above, tie), "half_down": above,
            "half_even": B.or_(above, B.and_(tie, odd)),
            "half_away": B.or_(above, B.and_(tie, B.icmp_signed(">=", x64, zero))),
        }
        if mode not in ups:
            raise CodegenError(f"unknown rounding mode {mode!r}")
        r = B.add(q, B.zext(ups[mode], I64))
        return r if x.type.width == 64 else B.trunc(r, x.type)
