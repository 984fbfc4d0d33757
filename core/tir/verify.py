"""Well-formedness of tensor programs; every problem is reported at once.

What is checked, and why each matters downstream:

* scoping — loop and iteration variables are unique in the function (schedule
  primitives find loops by name), used only where bound; a block's body and
  init use its iteration variables, never the loops around it (so a block
  means the same thing however its loops are rescheduled, and the tensorizer
  can compare it with an intrinsic's block);
* buffers — every buffer is a parameter or allocated around its uses, ranks
  agree, stored values have the buffer's dtype;
* types — operands of a binary op share a dtype, conditions are bool;
* intrinsic calls — one region per operand, dtype, rank and memory scope as
  the intrinsic declares;
* reductions with ``init`` — reduce bindings are sums of non-negative
  multiples of loop variables (or fused // and % of them), so "all reduce
  iterations at 0" is the first
  visit of an output element and ``init`` runs before any update.
"""

from __future__ import annotations

from core.errors import VendorSdkError
from core.tir.expr import (
    COMPARE,
    LOGIC,
    Bin,
    Cast,
    Const,
    Expr,
    Load,
    RShiftRound,
    Select,
    Unary,
    Var,
    is_int,
)
from core.tir.printer import expr_str
from core.tir.stmt import Allocate, Block, Buffer, For, IntrinCall, PrimFunc, Seq, Stmt, Store
from core.tir.visit import walk_expr


class VerifyError(VendorSdkError):
    """A malformed tensor program; ``problems`` lists every finding."""

    def __init__(self, func: str, problems: list[str]) -> None:
        super().__init__(f"{func}: " + "; ".join(problems))
        self.problems = problems


def size_vars(f: PrimFunc) -> list[str]:
    """Symbolic extents, in order of first appearance in the parameter shapes."""
    seen: dict[str, None] = {}
    for p in f.params:
        for d in p.shape:
            for x in walk_expr(d):
                if isinstance(x, Var):
                    seen.setdefault(x.name)
    return list(seen)


def _extent(e: Expr, sizes: frozenset[str]) -> bool:
    """A provably positive extent: positive constants and size variables (each >= 1)."""
    match e:
        case Const():
            return e.value > 0
        case Var(name):
            return name in sizes
        case Bin("+" | "*", a, b):
            return _extent(a, sizes) and _extent(b, sizes)
    return False


def _monotone(e: Expr, sizes: frozenset[str] = frozenset()) -> bool:
    match e:
        case Var() | Const():
            return not isinstance(e, Const) or e.value >= 0
        case Bin("+", a, b):
            return _monotone(a, sizes) and _monotone(b, sizes)
        case Bin("*", a, Const(c)) | Bin("*", Const(c), a):
            return c >= 0 and _monotone(a, sizes)
        # What fuse produces (f // n, f % n): the first visit of an element still has
        # the remainder at 0 because the fused loop enumerates (f // n, f % n) in order.
        # n is the inner loop's extent: a positive constant or a symbolic extent.
        case Bin("//" | "%", a, d):
            return _extent(d, sizes) and _monotone(a, sizes)
    return False


class _Checker:
    def __init__(self, f: PrimFunc) -> None:
        self.f = f
        self.problems: list[str] = []
        self.bound_names: set[str] = set(size_vars(f))
        self.sizes = frozenset(self.bound_names)
        self.buffers: dict[str, Buffer] = {p.name: p for p in f.params}

    def err(self, where: str, msg: str) -> None:
        self.problems.append(f"{where}: {msg}")

    def expr(self, e: Expr, scope: set[str], where: str) -> None:
        for x in walk_expr(e):
            match x:
                case Var(name) if name not in scope:
                    self.err(where, f"variable '{name}' is not bound here")
                case Bin(op, a, b):
                    if a.dtype != b.dtype:
                        self.err(where, f"'{expr_str(x)}' mixes {a.dtype} and {b.dtype}; "
                                        "insert a cast")
                    if op in LOGIC and a.dtype != "bool":
                        self.err(where, f"'{op}' needs bool operands in '{expr_str(x)}'")
                    if op in ("<<", ">>", "&", "|", "^", "//", "%") and not (
                            is_int(a.dtype) or (op in ("&", "|", "^") and a.dtype == "bool")):
                        self.err(where, f"'{op}' needs integer operands in '{expr_str(x)}'")
                    if op not in COMPARE and op not in LOGIC and a.dtype == "bool" \
                            and op not in ("&", "|", "^"):
                        self.err(where, f"arithmetic on bool in '{expr_str(x)}'")
                case Select(c, a, b):
                    if c.dtype != "bool":
                        self.err(where, f"select condition '{expr_str(c)}' is {c.dtype}, not bool")
                    if a.dtype != b.dtype:
                        self.err(where, f"select branches differ: {a.dtype} and {b.dtype}")
                case RShiftRound(v, s, _):
                    if not is_int(v.dtype) or v.dtype != s.dtype:
                        self.err(where, f"rshift_round needs integer operands of one dtype, "
                                        f"got {v.dtype} and {s.dtype}")
                case Unary(op, a) if op == "not" and a.dtype != "bool":
                    self.err(where, f"'not' needs a bool operand, got {a.dtype}")
                case Load(buf, idx):
                    self.access(buf, idx, where)
                case Cast() | Const() | Var() | Unary():
                    pass

    def access(self, buf: Buffer, idx: tuple[Expr, ...], where: str) -> None:
        known = self.buffers.get(buf.name)
        if known is None:
            self.err(where, f"buffer '{buf.name}' is neither a parameter nor allocated here")
        elif known != buf:
            self.err(where, f"buffer '{buf.name}' is used with a different declaration")
        if len(idx) != buf.rank:
            self.err(where, f"{buf.name} has rank {buf.rank}, indexed with {len(idx)} indices")
        for i in idx:
            if not is_int(i.dtype):
                self.err(where, f"index '{expr_str(i)}' of {buf.name} is {i.dtype}")

    def bind(self, name: str, where: str) -> None:
        if name in self.bound_names:
            self.err(where, f"variable '{name}' is bound twice; names must be unique "
                            "(schedule primitives find loops by name)")
        self.bound_names.add(name)

    def stmt(self, s: Stmt, scope: set[str], where: str, in_block: bool) -> None:
        match s:
            case Store(buf, idx, value):
                here = f"{where}: store to {buf.name}"
                self.access(buf, idx, here)
                for i in idx:
                    self.expr(i, scope, here)
                self.expr(value, scope, here)
                if value.dtype != buf.dtype:
                    self.err(here, f"value is {value.dtype}, buffer is {buf.dtype}; "
                                   "insert a cast")
            case For(var, extent, body):
                here = f"{where}: loop {var.name}"
                self.expr(extent, scope, here)
                if not is_int(extent.dtype) or not is_int(var.dtype):
                    self.err(here, "loop variable and extent must be integers")
                self.bind(var.name, here)
                self.stmt(body, scope | {var.name}, where, in_block)
            case Seq(stmts):
                for x in stmts:
                    self.stmt(x, scope, where, in_block)
            case Block(name, iters, bindings, body, init, pred):
                here = f"{where}: block {name}"
                if len(iters) != len(bindings):
                    self.err(here, f"{len(iters)} iteration variables, {len(bindings)} bindings")
                for iv, b in zip(iters, bindings, strict=False):
                    self.expr(iv.extent, scope, here)
                    self.expr(b, scope, here)
                    if init is not None and iv.kind == "reduce" and not _monotone(b, self.sizes):
                        self.err(here, f"reduce variable {iv.var.name} is bound to "
                                       f"'{expr_str(b)}', which is not a non-negative "
                                       "combination of loops; init needs its first visit at 0")
                    self.bind(iv.var.name, here)
                if pred is not None:
                    self.expr(pred, scope, here)
                    if pred.dtype != "bool":
                        self.err(here, f"predicate is {pred.dtype}, not bool")
                inner = {iv.var.name for iv in iters} | set(size_vars(self.f))
                if init is not None:
                    self.stmt(init, inner, here + " init", True)
                self.stmt(body, inner, here, True)
            case Allocate(buf, body):
                if buf.name in self.buffers:
                    self.err(where, f"buffer '{buf.name}' is declared twice")
                for d in buf.shape:
                    self.expr(d, scope, f"{where}: alloc {buf.name}")
                self.buffers[buf.name] = buf
                self.stmt(body, scope, where, in_block)
            case IntrinCall():
                self.intrin_call(s, scope, where)
            case _:
                self.err(where, f"unknown statement {type(s).__name__}")

    def intrin_call(self, call: IntrinCall, scope: set[str], where: str) -> None:
        desc, args = call.intrin.desc, call.args
        here = f"{where}: call {call.intrin.name}"
        if len(args) != len(desc.params) or (call.dims and len(call.dims) != len(args)):
            self.err(here, f"{len(args)} regions for {len(desc.params)} operands")
            return
        for k, (r, p) in enumerate(zip(args, desc.params, strict=True)):
            axes = call.operand_axes(k)
            if len(axes) != p.rank or any(not 0 <= a < r.buffer.rank for a in axes):
                self.err(here, f"operand {p.name} has rank {p.rank}, mapped to region axes "
                               f"{list(axes)} of {r.buffer.name}")
            self.access(r.buffer, r.starts, here)
            for e in (*r.starts, *r.extents):
                self.expr(e, scope, here)
            if r.buffer.dtype != p.dtype:
                self.err(here, f"operand {p.name} is {p.dtype}, region of {r.buffer.name} is "
                               f"{r.buffer.dtype}")
            if p.scope != "global" and r.buffer.scope != p.scope:
                self.err(here, f"operand {p.name} must live in '{p.scope}', {r.buffer.name} is "
                               f"in '{r.buffer.scope}'; cache_read/cache_write it into "
                               f"'{p.scope}' first")
            if len(r.extents) != r.buffer.rank:
                self.err(here, f"region of {r.buffer.name} has {len(r.extents)} extents")


def verify(f: PrimFunc) -> list[str]:
    """Every problem found in ``f`` (empty when well-formed)."""
    c = _Checker(f)
    names = [p.name for p in f.params]
    if len(set(names)) != len(names):
        c.err(f.name, f"parameter names repeat: {names}")
    if not 0 < f.num_outputs <= len(f.params):
        c.err(f.name, f"num_outputs {f.num_outputs} for {len(f.params)} parameters")
    c.stmt(f.body, set(size_vars(f)), f.name, False)
    return c.problems


def check(f: PrimFunc) -> PrimFunc:
    """``f`` itself if well-formed, else VerifyError listing every problem."""
    problems = verify(f)
    if problems:
        raise VerifyError(f.name, problems)
    return f
