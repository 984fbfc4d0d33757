"""Loops marked ``vectorized``: one copy of the body on LLVM vectors, one lane per iteration.

LLVM's own vectorisers do not reliably find the lanes a schedule built: a
``vectorized`` loop of ``rfactor``'s partial sums, left to them, became 16
two-float vectors (SLP after full unrolling) instead of two 16-float ones,
and ran 1.5x slower. Here the loop of constant extent ``W`` is emitted once,
every value that depends on the loop variable being a ``<W x T>`` vector:

* a load or store whose last index is ``lane + (something not depending on
  lane)`` and whose other indices do not depend on the lane is one vector
  load/store at the lane-0 address (contiguous lanes);
* anything not depending on the lane is computed once, as scalar code, and
  splatted where it meets a vector;
* arithmetic, comparisons, ``select`` and the inline ``exp`` work on vectors
  unchanged (the same LLVM operations: results are bit-identical to the
  scalar copies).

What this does not cover — gathers, casts, libm calls, predicated blocks,
``init`` — is found by :func:`vectorizable` before anything is emitted, and
the loop then runs as unrolled scalar copies (same results, LLVM's
vectorisers may still pack them).
"""

from __future__ import annotations

from llvmlite import ir

from core import symbolic as sym
from core.codegen_llvm.dtypes import I64, byte_size, memory_type
from core.codegen_llvm.error import CodegenError
from core.codegen_llvm.expr import ExprEmitter
from core.schedule.common import step, to_dim
from core.tir.expr import Bin, Expr, Load, Select, Unary, Var, from_dim, is_float
from core.tir.stmt import Block, Buffer, Seq, Stmt, Store
from core.tir.visit import free_vars, map_stmt, substitute, walk_expr

# Widest loop emitted as one vector (wider ones stay unrolled copies).
MAX_WIDTH = 64


class NotVectorizable(Exception):
    """The body uses something :class:`VectorEmitter` does not emit as vectors."""


def inline_blocks(s: Stmt) -> Stmt:
    """``s`` with each block replaced by its body, iteration variables substituted by
    their bindings, so index expressions show the loop variables."""

    def fn(x: Stmt) -> Stmt | None:
        if not isinstance(x, Block):
            return None
        if x.init is not None or x.predicate is not None:
            raise NotVectorizable(f"block {x.name} has an init or a predicate")
        env = {iv.var.name: b for iv, b in zip(x.iters, x.bindings, strict=True)}
        return inline_blocks(map_stmt(x.body, expr_fn=lambda e: substitute(e, env)
                                      if isinstance(e, Var) and e.name in env else None))

    return map_stmt(s, fn)


def _contiguous(idx: tuple[Expr, ...], lane: str) -> Expr:
    """The last index at lane 0, if the access is ``base + lane`` along the last axis."""
    if not idx or any(lane in free_vars(i) for i in idx[:-1]):
        raise NotVectorizable("the lane indexes an axis other than the last")
    d = to_dim(idx[-1])
    if d is None:
        raise NotVectorizable("the last index is not integer arithmetic")
    if not sym.equal(step(d, lane), 1):
        raise NotVectorizable("lanes are not consecutive elements")
    return from_dim(sym.substitute(d, {lane: 0}))


def vectorizable(s: Stmt, lane: str) -> tuple[Store, ...]:
    """The stores of ``s`` with blocks inlined, checked against what :class:`VectorEmitter`
    emits."""
    body = inline_blocks(s)
    stores: list[Store] = []
    for st in body.stmts if isinstance(body, Seq) else (body,):
        if not isinstance(st, Store) or st.buffer.dtype == "bool":
            raise NotVectorizable(f"{type(st).__name__} in a vectorized loop")
        _contiguous(st.indices, lane)
        _check_value(st.value, lane)
        stores.append(st)
    return tuple(stores)


_VECTOR_UNARY = ("neg", "abs", "not", "sqrt", "floor", "round_even")


def _check_value(e: Expr, lane: str) -> None:
    if lane not in free_vars(e):
        return  # scalar code, computed once
    match e:
        case Load(buf, idx):
            if buf.dtype == "bool":
                raise NotVectorizable("bool loads")
            _contiguous(idx, lane)
        case Bin(op, a, b):
            if not is_float(a.dtype) and op in ("//", "%", "<<", ">>"):
                raise NotVectorizable(f"integer {op} on vectors")
            _check_value(a, lane)
            _check_value(b, lane)
        case Select(c, a, b):
            if any(isinstance(x, Load) and lane in free_vars(x)
                   for arm in (a, b) for x in walk_expr(arm)):
                raise NotVectorizable("a select arm loads per lane (clamped loads)")
            for x in (c, a, b):
                _check_value(x, lane)
        case Unary(op, a) if op in _VECTOR_UNARY or (op == "exp" and e.dtype == "float32"):
            _check_value(a, lane)
        case _:
            raise NotVectorizable(f"{type(e).__name__} of the lane on vectors")


class VectorEmitter(ExprEmitter):
    """Expressions of a ``vectorized`` loop body: varying values are ``<width x T>``."""

    def __init__(self, scalar: ExprEmitter, lane: str, width: int) -> None:
        super().__init__(scalar.b, scalar.env, scalar.buffers)
        self.lane, self.width = lane, width

    def varying(self, e: Expr) -> bool:
        return self.lane in free_vars(e)

    def __call__(self, e: Expr, safe: bool = False) -> ir.Value:
        if not self.varying(e):
            return super().__call__(e, safe)
        match e:
            case Load(buf, idx):
                return self.b.load(self._vector_address(buf, idx), typ=self._vty(buf.dtype),
                                   align=byte_size(buf.dtype))
            case Bin(_, a, b):
                x, y = self._unify(self(a), self(b))
                return self.binary(e, x, y)
            case Select(c, a, b):
                cv, x, y = self(c), self(a), self(b)
                x, y = self._unify(x, y)
                if isinstance(cv.type, ir.VectorType):
                    x, _ = self._unify(x, cv)
                    y, _ = self._unify(y, cv)
                return self.b.select(cv, x, y)
            case Unary(op, a):  # exp included: fastexp works on vectors as on scalars
                return self.unary(op, self(a), a.dtype)
        raise CodegenError(f"cannot vectorize {e!r}")  # vectorizable() should have refused

    def store(self, st: Store) -> None:
        v = self(st.value)
        if not isinstance(v.type, ir.VectorType):
            v = self._splat(v)
        # llvmlite's builder.store insists the pointer's element type (an alloca's
        # float*) be the value's; LLVM's pointers are opaque, so store the vector directly.
        instr = ir.instructions.StoreInstr(self.b.block, v,
                                           self._vector_address(st.buffer, st.indices))
        instr.align = byte_size(st.buffer.dtype)
        self.b._insert(instr)

    def _vty(self, dtype: str) -> ir.VectorType:
        return ir.VectorType(memory_type(dtype), self.width)

    def _vector_address(self, buf: Buffer, idx: tuple[Expr, ...]) -> ir.Value:
        base = _contiguous(idx, self.lane)
        return self.address(buf, (*idx[:-1], base))

    def _splat(self, v: ir.Value) -> ir.Value:
        vty = ir.VectorType(v.type, self.width)
        if isinstance(v, ir.Constant):
            return ir.Constant(vty, v.constant)
        one = self.b.insert_element(ir.Constant(vty, ir.Undefined), v, ir.Constant(I64, 0))
        return self.b.shuffle_vector(one, ir.Constant(vty, ir.Undefined),
                                     ir.Constant(ir.VectorType(ir.IntType(32), self.width), 0))

    def _unify(self, a: ir.Value, b: ir.Value) -> tuple[ir.Value, ir.Value]:
        av, bv = isinstance(a.type, ir.VectorType), isinstance(b.type, ir.VectorType)
        if av and not bv:
            return a, self._splat(b)
        if bv and not av:
            return self._splat(a), b
        return a, b
