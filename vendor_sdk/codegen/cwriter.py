"""The C statement writer of a layer: lines at the depth of the open blocks, loops, and
the call of an intrinsic (its emit snippet, rendered sandboxed and StrictUndefined,
inside the glue's access declaration, flush, dependency and check calls:
vendor_sdk/contract/vsdk_glue.h).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping

from jinja2 import Template as JinjaTemplate
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from core.schedule.common import to_dim
from core.symbolic import Dim
from core.symbolic_ranges import Interval
from core.tir.expr import Const, Expr, Var, binop
from vendor_sdk.codegen.cexpr import CodegenError, Facts, c_expr, c_name, c_text
from vendor_sdk.codegen.invariants import Invariants
from vendor_sdk.codegen.memories import mem_c
from vendor_sdk.codegen.sram import SramPlan
from vendor_sdk.target.templates import OperandView, environment


class CWriter:
    """C lines of a function body at the depth of its open blocks, and what the open
    loops tell about their variables (:class:`Facts`): every index expression is printed
    simplified on them, its floor divisions and modulos of enclosing loops' variables
    declared once per loop (:class:`Invariants`). ``loops`` are the enclosing loops (the
    samples of the copy checks draw from them); ``taken``: names the function already
    uses."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.lines: list[str] = []
        self.loops: list[tuple[Var, Expr]] = []
        self.depth = 0
        self._ranges: dict[str, Interval] = {}
        self._limits: dict[str, Dim] = {}
        self.invariants = Invariants(self.lines, taken)
        self.facts = Facts(self._ranges, self._limits, self.invariants.name)
        self._printed: list[bool] = []  # per open loop: whether it is a C loop

    def c(self, e: Expr) -> str:
        """An index expression, simplified where it is printed, embeddable anywhere."""
        return c_expr(e, self.facts)

    def ct(self, e: Expr) -> str:
        """The same without outer parentheses (an argument, a condition)."""
        return c_text(e, self.facts)

    def out(self, text: str) -> None:
        pad = "    " * (self.depth + 1)
        self.lines.extend(pad + ln if ln else ln for ln in text.split("\n"))

    def open_loop(self, var: Var, extent: Expr, note: str = "") -> None:
        """``for var in range(extent)``; a loop of one iteration prints nothing (its
        variable is 0 in every expression printed inside it)."""
        n = to_dim(extent)
        self.loops.append((var, extent))
        if isinstance(n, int) and n >= 1:
            self._ranges[var.name] = (0, n - 1)
        elif n is not None and not isinstance(n, int):
            self._ranges[var.name], self._limits[var.name] = (0, math.inf), n
        printed = n != 1
        self._printed.append(printed)
        if printed:
            v = c_name(var.name)
            self.open_block(f"for (int64_t {v} = 0; {v} < {self.ct(extent)}; {v}++) {{{note}")
        self.invariants.open(var.name, printed, "    " * (self.depth + 1))

    def close_loop(self) -> None:
        var, _ = self.loops.pop()
        self.invariants.close()
        self._ranges.pop(var.name, None)
        self._limits.pop(var.name, None)
        if self._printed.pop():
            self.close_blocks(1)

    def printed(self, n: int) -> bool:
        """Whether one of the ``n`` innermost open loops is a C loop (a block of its own
        for what is declared in it)."""
        return any(self._printed[-n:]) if n else False

    def open_block(self, header: str) -> None:
        """A C block (a guard, a scope) that indents what follows."""
        self.out(header)
        self.depth += 1

    def else_block(self) -> None:
        """``} else {`` of the innermost open block (an ``if``)."""
        self.depth -= 1
        self.open_block("} else {")

    def close_blocks(self, n: int) -> None:
        for _ in range(n):
            self.depth -= 1
            self.out("}")


class IntrinsicWriter(CWriter):
    """A CWriter that also calls intrinsics, with operand rows from an SRAM plan."""

    def __init__(self, sram: SramPlan, taken: Iterable[str] = ()) -> None:
        super().__init__(taken)
        self.sram = sram
        self.target = sram.target
        self.env = environment()

    def render_call(self, name: str, views: Mapping[str, tuple[str, Expr, int]],
                    fixed: Mapping[str, OperandView | str], iters: Expr | int, variant: str,
                    what: str) -> None:
        """Render one intrinsic call: ``views`` are on-chip operands (scope, first row,
        row stride), ``fixed`` descriptor indices (str) or immediates (OperandView),
        ``iters`` the streamed rows."""
        n_iter = Const(iters) if isinstance(iters, int) else iters
        sem = self.target.semantics[name]
        spec = self.target.spec.intrinsics[name]
        ctx: dict[str, object] = {"ctx": "vsdk_ctx(rt)", "deps": "deps", "variant": variant,
                                  "iter_out": f"(uint32_t)({self.ct(n_iter)})", "iter_in": "1",
                                  "params": dict(self.target.params)}
        access = []
        for n, op in sem.operands.items():
            if n in fixed:
                f = fixed[n]
                ctx[n] = f if isinstance(f, OperandView) else OperandView(f, f, "0", "0", "0")
                continue
            if n not in views:
                raise CodegenError(f"{what}: operand {n} of {name} has no value here")
            scope, row, stride = views[n]
            role = self.sram.role_of(scope)
            if scope != op.scope:  # e.g. an accumulator tile handed to an operand elsewhere
                raise CodegenError(f"{what}: {name} declares operand {n} in memory "
                                   f"'{op.scope}', the code generator placed it in '{scope}' "
                                   f"(its {role or 'unknown'} memory); hint: "
                                   "declare the operand in the memory of that role")
            # a weight operand is a whole tile: its rows are the product of its leading
            # axes (tile index = row / that), e.g. k rows of n lanes, or n rows of k
            weight = role == "weight"
            tile = math.prod(sem.axes[a].max for a in op.shape[:-1]) if weight else 1
            rows = binop("+", binop("*", binop("-", n_iter, Const(1)), Const(stride)),
                         Const(1)) if stride else Const(tile)
            per = tile if weight else self.sram.lanes(scope)
            first = f"(uint32_t)({self.ct(row)})"
            # rows are never negative: floor division is C's
            ctx[n] = OperandView(first, f"(uint32_t)({self.ct(binop('//', row, Const(per)))})",
                                 str(stride), "0", "0")
            rd, wr = int(op.kind in ("input", "inout")), int(op.kind in ("output", "inout"))
            access.append(f"{{{mem_c(self.target, scope)}, {first}, "
                          f"(uint32_t)({self.ct(rows)}), {rd}, {wr}}}")
        try:
            snippet = _compiled(self.env, spec.emit).render(ctx).strip()
        except Exception as e:  # a vendor snippet: name it, with the template's own message
            raise CodegenError(f"{name}: emit snippet does not render: {e}") from None
        self.out(f"{{ /* {what} */")
        self.out(f"    const vsdk_access acc_[{len(access)}] = {{{', '.join(access)}}};")
        self.out("    vsdk_flush(rt);")
        # a snippet that orders itself (an in-order machine's) takes no dependency word
        deps = "uint32_t deps = " if _uses(self.env, spec.emit, "deps") else "(void)"
        self.out(f"    {deps}vsdk_exec(rt, {len(access)}, acc_);")
        self.out("    const uint32_t mark_ = vsdk_mark(rt);")
        self.out(f"    {snippet}")
        self.out("    vsdk_check(rt, mark_);")
        site = name if what == name else f"{name} ({what})"
        self.out(f"    VSDK_SITE_({c_string(site)}, mark_);")
        self.out("}")


def c_string(text: str) -> str:
    """A C string literal of ``text`` (printable ASCII as is, anything else octal-escaped)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~" and ch != "?":  # '?' would start trigraphs in old dialects
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode())
    return '"' + "".join(out) + '"'


@functools.lru_cache(maxsize=512)
def _uses(env: SandboxedEnvironment, text: str, name: str) -> bool:
    """Whether an emit snippet reads the variable ``name``."""
    return name in meta.find_undeclared_variables(env.parse(text))


@functools.lru_cache(maxsize=512)
def _compiled(env: SandboxedEnvironment, text: str) -> JinjaTemplate:
    """An intrinsic's emit snippet compiled once per environment (a layer renders the
    same few snippets hundreds of times)."""
    return env.from_string(text)
