"""A text form of the graph IR that a person can read: one binding a line, types shown."""

from __future__ import annotations

from core.graph import (
    Arg,
    Attrs,
    Call,
    CallExtern,
    CallFunc,
    CallTIR,
    Expr,
    Function,
    Module,
    TupleGetItem,
)
from core.ops import OPS


def _arg(a: Arg) -> str:
    return "_" if a is None else str(a)


def _attr_value(v: object) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_attr_value(x) for x in v) + "]"
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _attrs(op: str | None, attrs: Attrs) -> str:
    """Attributes that differ from the op's defaults (the rest is noise to a reader)."""
    spec = OPS[op].attrs if op is not None and op in OPS else {}
    shown = [
        f"{k}={_attr_value(v)}"
        for k, v in attrs.items()
        if k not in spec or spec[k].default != v
    ]
    return f" {{{', '.join(shown)}}}" if shown else ""


def format_expr(expr: Expr) -> str:
    if isinstance(expr, TupleGetItem):
        return f"{expr.value}.{expr.index}"
    args = ", ".join(_arg(a) for a in expr.args)
    if isinstance(expr, Call):
        return f"{expr.op}({args}){_attrs(expr.op, expr.attrs)}"
    if isinstance(expr, CallTIR):
        return f"call_tir(@{expr.func}, [{args}])"
    if isinstance(expr, CallExtern):
        return f"call_extern(\"{expr.symbol}\", [{args}]){_attrs(None, expr.attrs)}"
    if isinstance(expr, CallFunc):
        return f"@{expr.func}({args})"
    raise TypeError(f"not an expression: {expr!r}")


def format_function(f: Function) -> str:
    params = ", ".join(f"{p}: {p.type}" for p in f.params)
    attrs = _attrs(None, f.attrs)
    lines = [f"def @{f.name}({params}) -> {f.ret_type}{attrs}:"]
    for block in f.blocks:
        indent = "    "
        if block.dataflow:
            lines.append("  with dataflow:")
        for b in block.bindings:
            comment = f"  # {b.source}" if b.source else ""
            lines.append(f"{indent}{b.var}: {b.var.type} = {format_expr(b.value)}{comment}")
    outs = ", ".join(str(o) for o in f.outputs)
    lines.append(f"  return {outs}")
    return "\n".join(lines)


def format_module(m: Module) -> str:
    return "\n\n".join(
        format_function(f) if isinstance(f, Function) else str(f) for f in m.functions
    ) + "\n"
