"""Semantic checks of a target description, after the schema has passed.

Cross-references (scopes, intrinsics, templates, pattern nodes), integer
expressions, `compute` semantics, and dry-run rendering of every template.
Each check appends located diagnostics and carries on, so one run reports
every mistake in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from vendor_sdk.intrinsics.check import (
    DTYPES,
    Axis,
    Operand,
    OperandKind,
    did_you_mean,
    eval_const,
)
from vendor_sdk.intrinsics.lang import ExprError
from vendor_sdk.intrinsics.semantics import Semantics, SemanticsError, build_semantics
from vendor_sdk.patterns.constraint import ConstraintError, parse_constraint, parse_op
from vendor_sdk.target.contract_checks import outside
from vendor_sdk.target.errors import Diagnostic
from vendor_sdk.target.model import (
    IntOrExpr,
    IntrinsicSpec,
    OperandSpec,
    PatternSpec,
    TargetSpec,
)
from vendor_sdk.target.source import Loc, Source
from vendor_sdk.target.templates import emit_context, environment, kernel_context


@dataclass(frozen=True, slots=True)
class MemoryInfo:
    name: str
    dtype: str
    rows: int
    row_elems: int
    role: str = ""  # what the code generator uses it for (vendor_sdk.target.roles)
    c_id: str = ""  # C expression naming it in runtime calls
    widen_id: str = ""  # C id loading int8 rows sign-extended into it ("": none)


@dataclass
class Checked:
    memories: dict[str, MemoryInfo] = field(default_factory=dict)
    semantics: dict[str, Semantics] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass
class _Checker:
    spec: TargetSpec
    src: Source
    base: Path
    known: dict[str, set[str]]  # section -> names present in the file, valid or not
    out: Checked = field(default_factory=Checked)

    def err(self, loc: Loc, message: str, hint: str = "", key: bool = False,
            offset: int | None = None) -> None:
        self.out.diagnostics.append(self.src.diag(loc, message, hint, key, offset))

    def const(self, loc: Loc, value: IntOrExpr, minimum: int | None = None) -> int | None:
        try:
            v = eval_const(value, self.spec.params)
        except ExprError as e:
            self.err(loc, e.message, e.hint, offset=e.col)
            return None
        if minimum is not None and v < minimum:
            self.err(loc, f"must be at least {minimum}, is {v}", "sizes and extents are positive")
            return None
        return v

    def run(self) -> Checked:
        for name, mem in self.spec.memories.items():
            rows = self.const(("memories", name, "rows"), mem.rows, 1)
            elems = self.const(("memories", name, "row_elems"), mem.row_elems, 1)
            if rows is not None and elems is not None:
                self.out.memories[name] = MemoryInfo(name, mem.dtype, rows, elems)
        for name, intr in self.spec.intrinsics.items():
            self.intrinsic(name, intr)
        tdir = self.base / self.spec.templates
        uses_templates = any(p.lower.template for p in self.spec.patterns.values())
        if (uses_templates or "templates" in self.known["top"]) and not tdir.is_dir():
            self.err(("templates",), f"templates directory {str(tdir)!r} does not exist",
                     "create it or fix the path (relative to target.yaml)")
        for name, pat in self.spec.patterns.items():
            self.pattern(name, pat, tdir)
        self.sim()
        return self.out

    def intrinsic(self, name: str, intr: IntrinsicSpec) -> None:
        at = ("intrinsics", name)
        axes: dict[str, Axis] = {}
        for ax, spec in intr.axes.items():
            lo = self.const((*at, "axes", ax, "min"), spec.min, 1)
            hi = self.const((*at, "axes", ax, "max"), spec.max, 1)
            if lo is not None and hi is not None:
                if lo > hi:
                    self.err((*at, "axes", ax), f"min {lo} is larger than max {hi}",
                             "swap them")
                else:
                    axes[ax] = Axis(ax, lo, hi)
        operands: dict[str, Operand] = {}
        ok = len(axes) == len(intr.axes)
        groups: tuple[tuple[str, OperandKind], ...] = (
            ("inputs", "input"), ("outputs", "output"), ("inout", "inout"))
        for group, kind in groups:
            for op_name, op in getattr(intr, group).items():
                loc = (*at, group, op_name)
                if op_name in operands:
                    self.err(loc, f"operand {op_name!r} is declared twice",
                             "operand names are unique across inputs, outputs and inout", key=True)
                    continue
                ok &= self.operand(loc, op, intr)
                rng = (op.range[0], op.range[1]) if op.range else None
                operands[op_name] = Operand(op_name, op.dtype, tuple(op.shape), kind, rng,
                                            op.scope or "")
        if not intr.outputs and not intr.inout:
            self.err(at, "the intrinsic writes nothing", "declare `outputs` or `inout`",
                     key=True)
            ok = False
        if ok:
            try:
                self.out.semantics[name] = build_semantics(
                    name, operands, axes, self.spec.params, intr.compute, intr.variants,
                    intr.numerics.overflow)
            except SemanticsError as e:
                for where, ex in e.errors:
                    self.err((*at, *where.split(".")), ex.message, ex.hint, offset=ex.col)
        for variant in ("", *intr.variants):
            ctx = emit_context(list(operands), self.spec.params, variant)
            if not self.render((*at, "emit"), intr.emit, ctx):
                break

    def operand(self, loc: Loc, op: OperandSpec, intr: IntrinsicSpec) -> bool:
        ok = True
        for i, ax in enumerate(op.shape):
            if ax not in intr.axes:
                self.err((*loc, "shape", i), f"unknown axis {ax!r}",
                         did_you_mean(ax, intr.axes) or "declare it under the intrinsic's `axes`")
                ok = False
        if op.scope is None and op.role == "data":
            self.err(loc, "a data operand needs a `scope` (the memory it lives in)",
                     "add `scope: <memory>`, or `role: param` for constants", key=True)
        elif op.scope is not None:
            mem = self.spec.memories.get(op.scope)
            if op.scope not in self.known["memories"]:
                self.err((*loc, "scope"), f"unknown memory {op.scope!r}",
                         did_you_mean(op.scope, self.known["memories"])
                         or "declare it under `memories`")
            elif mem is not None and mem.dtype != op.dtype and op.role == "data":
                self.err((*loc, "dtype"), f"operand is {op.dtype} but memory {op.scope!r} "
                         f"holds {mem.dtype}", "use the memory's dtype")
        if op.range is not None:
            lo, hi = DTYPES[op.dtype]
            if op.range[0] > op.range[1]:
                self.err((*loc, "range"), f"empty range [{op.range[0]}, {op.range[1]}]",
                         "write [low, high]")
                ok = False
            elif op.range[0] < lo or op.range[1] > hi:
                self.err((*loc, "range"), f"range [{op.range[0]}, {op.range[1]}] does not "
                         f"fit {op.dtype} [{lo}, {hi}]", "narrow the range or widen the dtype")
                ok = False
        return ok

    def render(self, loc: Loc, text: str, ctx: dict[str, object]) -> bool:
        try:
            environment().from_string(text).render(ctx)
        except TemplateSyntaxError as e:
            self.err(loc, f"template syntax error: {e.message}", f"line {e.lineno} of the snippet")
            return False
        except TemplateError as e:
            self.err(loc, f"template does not render: {e}",
                     "operands offer row, tile, fo, fi, value; see docs/target_yaml.md")
            return False
        return True

    def pattern(self, name: str, pat: PatternSpec, tdir: Path) -> None:
        before = len(self.out.diagnostics)
        self.pattern_fields(name, pat, tdir)
        if len(self.out.diagnostics) == before:  # lowerable only asks of a well-formed one
            self.lowerable(name, pat)

    def lowerable(self, name: str, pat: PatternSpec) -> None:
        """What the code generator will assume of the pattern (vendor_sdk.codegen.lowerable),
        reported here with a location instead of as a host fallback on every model."""
        from vendor_sdk.codegen.lowerable import unlowerable
        from vendor_sdk.target.lowering import Tensorize, lowering_of

        lowering = lowering_of(pat.lower)
        if isinstance(lowering, Tensorize) and \
                any(i not in self.out.semantics for i in lowering.intrinsics):
            return  # an intrinsic with mistakes of its own, reported where it is declared
        nodes = {n: tuple(a.op for a in parse_op(v.op)) for n, v in pat.nodes.items()}
        mode = "tensorize" if isinstance(lowering, Tensorize) else "template"
        for u in unlowerable(nodes, lowering, self.out.semantics):
            if u.node:
                self.err(("patterns", name, "nodes", u.node, "op"), u.reason, u.hint,
                         offset=_column_of(pat.nodes[u.node].op, u.op))
            else:
                self.err(("patterns", name, "lower", mode), u.reason, u.hint)

    def pattern_fields(self, name: str, pat: PatternSpec, tdir: Path) -> None:
        at = ("patterns", name)
        if pat.root not in pat.nodes:
            self.err((*at, "root"), f"root {pat.root!r} is not one of the pattern's nodes",
                     did_you_mean(pat.root, pat.nodes))
        used: set[str] = set()
        for node_name, node in pat.nodes.items():
            loc = (*at, "nodes", node_name)
            try:
                alts = parse_op(node.op)
            except ConstraintError as e:
                self.err((*loc, "op"), f"cannot parse op {node.op!r}: {e.message}",
                         "write `Op` or alternatives `A | B(attr=0)`")
                alts = ()
            self.pattern_ops(loc, node.op, [a.op for a in alts], list(node.attrs))
            for i, inp in enumerate(node.inputs):
                used.add(inp)
                if inp not in pat.nodes and inp not in pat.tensors:
                    self.err((*loc, "in", i), f"{inp!r} is neither a node nor a tensor",
                             did_you_mean(inp, [*pat.nodes, *pat.tensors])
                             or "declare it under `tensors`")
            for attr, value in node.attrs.items():
                try:
                    parse_constraint(value)
                except ConstraintError as e:
                    self.err((*loc, "attrs", attr), f"cannot parse constraint {value!r}: "
                             f"{e.message}", "write a value, `x <= 7` or `s in {1, 2}`")
        cycle = _cycle({n: [i for i in v.inputs if i in pat.nodes] for n, v in pat.nodes.items()})
        if cycle:
            self.err((*at, "nodes"), "the nodes form a cycle: " + " -> ".join(cycle),
                     "a pattern is a DAG from tensors to the root")
        for t, spec in pat.tensors.items():
            if spec.shape is not None and spec.rank is not None and spec.rank != len(spec.shape):
                self.err((*at, "tensors", t, "shape"), f"shape has {len(spec.shape)} "
                         f"dimension(s) but rank is {spec.rank}", "drop one of the two")
            if t not in used:
                self.err((*at, "tensors", t), f"tensor {t!r} is not an input of any node",
                         "remove it or list it in a node's `in`", key=True)
        if pat.lower.tensorize is not None:
            for i, intr in enumerate(pat.lower.tensorize):
                if intr not in self.known["intrinsics"]:
                    self.err((*at, "lower", "tensorize", i), f"unknown intrinsic {intr!r}",
                             did_you_mean(intr, self.known["intrinsics"]))
        elif pat.lower.template is not None and tdir.is_dir():
            loc = (*at, "lower", "template")
            if not (tdir / pat.lower.template).is_file():
                names = [p.name for p in tdir.iterdir()]
                self.err(loc, f"template {pat.lower.template!r} not found in {tdir}",
                         did_you_mean(pat.lower.template, names) or "create the file")
            else:
                # the context the code generator renders it with, placeholder values
                ctx = kernel_context(f"{name}_0", name, self.spec.params, "K", "N",
                                     {t: f"{t}_addr" for t in ("x", "w", "b", "out")})
                try:
                    environment(tdir).get_template(pat.lower.template).render(ctx)
                except TemplateSyntaxError as e:
                    self.err(loc, f"{pat.lower.template}:{e.lineno}: template syntax error: "
                             f"{e.message}")
                except TemplateError as e:
                    self.err(loc, f"{pat.lower.template} does not render: {e}",
                             "see the pattern template context in docs/target_yaml.md")

    def pattern_ops(self, loc: Loc, text: str, ops: list[str], attrs: list[str]) -> None:
        """Op names are ONNX names the graph IR knows; attrs belong to one of them. Caught
        here, with a location, rather than as a PartitionError when a model is partitioned."""
        from core.ops import OPS

        known = [op for op in ops if op in OPS]
        for op in ops:
            if op not in OPS:
                self.err((*loc, "op"), f"unknown op {op!r} (ops use ONNX names)",
                         did_you_mean(op, OPS) or "see `core.ops` for the supported ops",
                         offset=_column_of(text, op))
        if len(known) < len(ops):
            return
        names = sorted({a for op in known for a in OPS[op].attrs})
        for attr in attrs:
            if attr not in names:
                self.err((*loc, "attrs", attr), f"no alternative of {text!r} has an attribute "
                         f"{attr!r}", did_you_mean(attr, names) or
                         f"its attributes: {', '.join(names) or 'none'}", key=True)

    def sim(self) -> None:
        if self.spec.sim is None:
            return
        rtl = self.spec.sim.rtl
        for i, pattern in enumerate(rtl.sources):
            if outside(pattern):
                self.err(("sim", "rtl", "sources", i), f"{pattern!r} lies outside the target",
                         f"paths are relative to {self.base} and stay inside it (the package "
                         "ships that directory): copy the sources into the package")
            elif not any(self.base.glob(pattern)):
                self.err(("sim", "rtl", "sources", i), f"{pattern!r} matches no file",
                         f"globs are relative to {self.base}")
        for name, value in rtl.params.items():
            self.const(("sim", "rtl", "params", name), value)


def _cycle(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in graph.get(n, []):
            if state.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return []

    for n in graph:
        if n not in state and (found := visit(n)):
            return found
    return []


def check_target(spec: TargetSpec, src: Source, base: Path,
                 known: dict[str, set[str]]) -> Checked:
    return _Checker(spec, src, base, known).run()


def _column_of(text: str, word: str) -> int:
    """1-based column of ``word`` as a whole word in ``text`` (1 if absent)."""
    m = re.search(rf"(?<![\w.]){re.escape(word)}(?![\w.])", text)
    return m.start() + 1 if m else 1
