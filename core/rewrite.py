"""One generic rewrite helper for graph functions.

A *rule* looks at one binding at a time (with its arguments already
substituted) and returns ``None`` to keep it, a new expression to replace the
bound value, or an existing atom (a Var or Constant) that all later uses
should see instead. Types are re-inferred for every rebuilt binding, so a
rule never has to compute one. Passes are small rules handed to
:func:`rewrite_function`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.graph import (
    Arg,
    Binding,
    Block,
    Constant,
    Expr,
    Function,
    Module,
    Var,
    args_of,
    used_vars,
    with_args,
)
from core.infer import infer_expr


@dataclass(frozen=True)
class RewriteContext:
    """What a rule may ask about the function being rewritten (its *new* bindings so far)."""

    producers: dict[str, Binding]
    uses: Counter[str]
    module: Module | None

    def producer(self, arg: Arg) -> Binding | None:
        return self.producers.get(arg.name) if isinstance(arg, Var) else None

    def use_count(self, arg: Arg) -> int:
        return self.uses[arg.name] if isinstance(arg, Var) else 0


Rule = Callable[[Binding, RewriteContext], "Expr | Var | Constant | None"]


def count_uses(f: Function) -> Counter[str]:
    uses: Counter[str] = Counter()
    for b in f.bindings:
        uses.update(v.name for v in used_vars(b.value))
    uses.update(o.name for o in f.outputs if isinstance(o, Var))
    return uses


def rewrite_function(f: Function, rule: Rule, module: Module | None = None) -> Function:
    subst: dict[str, Arg] = {}
    producers: dict[str, Binding] = {}
    ctx = RewriteContext(producers, count_uses(f), module)

    def sub(a: Arg) -> Arg:
        return subst.get(a.name, a) if isinstance(a, Var) else a

    blocks = []
    for block in f.blocks:
        out: list[Binding] = []
        for b in block.bindings:
            expr = with_args(b.value, tuple(sub(a) for a in args_of(b.value)))
            current = _retype(b, expr, module)
            result = rule(current, ctx)
            if isinstance(result, Var | Constant):
                subst[b.var.name] = result
                continue
            if result is not None:
                current = _retype(current, result, module)
            if current.var != b.var:
                subst[b.var.name] = current.var
            producers[current.var.name] = current
            out.append(current)
        blocks.append(Block(tuple(out), block.dataflow))
    outputs = tuple(sub(o) for o in f.outputs)
    kept = tuple(o for o in outputs if o is not None)
    assert len(kept) == len(outputs)
    return Function(f.name, f.params, tuple(blocks), kept, f.attrs)


def _retype(b: Binding, expr: Expr, module: Module | None) -> Binding:
    if expr is b.value:
        return b
    t = infer_expr(expr, module)
    var = b.var if t == b.var.type else Var(b.var.name, t)
    return Binding(var, expr, b.source)


def rewrite_module(m: Module, rule: Rule) -> Module:
    funcs = tuple(
        rewrite_function(f, rule, m) if isinstance(f, Function) else f for f in m.functions
    )
    return Module(funcs, m.entry)
