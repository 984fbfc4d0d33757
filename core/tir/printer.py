"""Readable text for tensor programs (Python-like, deterministic: golden-file safe).

    func dense(A: int8[M, 64], B: int8[64, 32], C: int32[M, 32]) -> C:
      for i in range(M):
        for j in range(32):
          for k in range(64):
            block C(vi = i, vj = j, vk: reduce = k):
              init: C[vi, vj] = 0i32
              C[vi, vj] = C[vi, vj] + i32(A[vi, vk]) * i32(B[vk, vj])

Index-dtype constants print bare; other constants carry a dtype suffix
(``0i32``, ``1.5f32``); casts print as the short dtype name applied.
"""

from __future__ import annotations

from core.tir.expr import Bin, Cast, Const, Expr, Load, RShiftRound, Select, Unary, Var
from core.tir.stmt import (
    Allocate,
    Block,
    Buffer,
    For,
    IntrinCall,
    PrimFunc,
    Region,
    Seq,
    Stmt,
    Store,
)

SHORT = {"int8": "i8", "uint8": "u8", "int16": "i16", "uint16": "u16", "int32": "i32",
         "uint32": "u32", "int64": "i64", "uint64": "u64", "float16": "f16",
         "float32": "f32", "float64": "f64", "bool": "bool"}
# Binding strength; higher binds tighter. min/max print as calls.
_PREC = {"or": 1, "and": 2, "<": 3, "<=": 3, ">": 3, ">=": 3, "==": 3, "!=": 3,
         "|": 4, "^": 5, "&": 6, "<<": 7, ">>": 7, "+": 8, "-": 8, "*": 9, "/": 9,
         "//": 9, "%": 9}


def expr_str(e: Expr, prec: int = 0) -> str:
    match e:
        case Var(name):
            return name
        case Const(v, dt):
            if dt == "int64":
                return str(v)
            if dt == "bool":
                return "True" if v else "False"
            return f"{v!r}{SHORT[dt]}"
        case Bin(op, a, b) if op in ("min", "max"):
            return f"{op}({expr_str(a)}, {expr_str(b)})"
        case Bin(op, a, b):
            p = _PREC[op]
            # Left-associative: the right operand needs parentheses at equal precedence.
            s = f"{expr_str(a, p)} {op} {expr_str(b, p + 1)}"
            return f"({s})" if p < prec else s
        case Unary("neg", a):
            return f"-{expr_str(a, 10)}"
        case Unary("not", a):
            return f"not {expr_str(a, 10)}"
        case Unary(op, a):
            return f"{op}({expr_str(a)})"
        case Cast(dt, a):
            return f"{SHORT[dt]}({expr_str(a)})"
        case Select(c, a, b):
            return f"select({expr_str(c)}, {expr_str(a)}, {expr_str(b)})"
        case RShiftRound(x, s, mode):
            return f"rshift_round({expr_str(x)}, {expr_str(s)}, {mode})"
        case Load(buf, idx):
            return f"{buf.name}[{', '.join(expr_str(i) for i in idx)}]"
    raise TypeError(f"not an expression: {e!r}")


def buffer_str(b: Buffer) -> str:
    dims = ", ".join(expr_str(d) for d in b.shape)
    scope = "" if b.scope == "global" else f" @{b.scope}"
    return f"{b.dtype}[{dims}]{scope}"


def region_str(r: Region) -> str:
    parts = []
    for s, x in zip(r.starts, r.extents, strict=True):
        parts.append(expr_str(s) if x == Const(1) else
                     f"{expr_str(s)}:{expr_str(s + x)}")
    return f"{r.buffer.name}[{', '.join(parts)}]"


def _lines(s: Stmt, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    match s:
        case Store(buf, idx, value):
            out.append(f"{pad}{buf.name}[{', '.join(expr_str(i) for i in idx)}] = "
                       f"{expr_str(value)}")
        case For(var, extent, body, kind, ann):
            tags = "" if kind == "serial" else f"  # {kind}"
            if ann:
                tags += ("  #" if not tags else ",") + " " + ", ".join(
                    f"{k}={v}" for k, v in ann)
            out.append(f"{pad}for {var.name} in range({expr_str(extent)}):{tags}")
            _lines(body, depth + 1, out)
        case Seq(stmts):
            for x in stmts:
                _lines(x, depth, out)
        case Block(name, iters, bindings, body, init, pred):
            its = ", ".join(
                f"{iv.var.name}{': reduce' if iv.kind == 'reduce' else ''} = {expr_str(b)}"
                for iv, b in zip(iters, bindings, strict=True))
            where = f" if {expr_str(pred)}" if pred is not None else ""
            out.append(f"{pad}block {name}({its}){where}:")
            if init is not None:
                sub: list[str] = []
                _lines(init, depth + 2, sub)
                if len(sub) == 1:
                    out.append(f"{pad}  init: {sub[0].strip()}")
                else:
                    out.append(f"{pad}  init:")
                    out.extend(sub)
            _lines(body, depth + 1, out)
        case Allocate(buf, body):
            out.append(f"{pad}alloc {buf.name}: {buffer_str(buf)}")
            _lines(body, depth, out)
        case IntrinCall(intrin, args, _):
            out.append(f"{pad}{intrin.name}({', '.join(region_str(r) for r in args)})")
        case _:
            raise TypeError(f"not a statement: {s!r}")


def stmt_str(s: Stmt, depth: int = 0) -> str:
    out: list[str] = []
    _lines(s, depth, out)
    return "\n".join(out)


def func_str(f: PrimFunc) -> str:
    params = ", ".join(f"{p.name}: {buffer_str(p)}" for p in f.params)
    outs = ", ".join(p.name for p in f.outputs)
    return f"func {f.name}({params}) -> {outs}:\n{stmt_str(f.body, 1)}"
