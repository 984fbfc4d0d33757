"""auto_tensorize: map a lowered operator onto a target's tensor intrinsics.

    result = auto_tensorize(prim_func, target)
    result.func        # the tensorized PrimFunc, or None: the op stays on the host
    result.trace       # what was done: roles, fusion, padding, tiles, staging
    result.reasons     # per candidate intrinsic: the failed condition and the fix

Every intrinsic of the target is tried (in name order): structural match of
the reduction (tensorize_match), a tile/order search against the cycle
model within the target's memories (search, cost), then the build
(tensorize_build), which is verified before it is returned. The cheapest
successful candidate wins. Nothing fails silently: a candidate that does
not apply leaves its reason, and ``explain()`` prints them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.schedule.common import divides
from core.tir.expr import Const, Expr, Load
from core.tir.printer import expr_str
from core.tir.stmt import PrimFunc
from core.tir.verify import verify
from core.tir.visit import walk_expr
from vendor_sdk.intrinsics.cost import CostModel, Estimate, model_for
from vendor_sdk.intrinsics.search import search
from vendor_sdk.intrinsics.tensor_intrin import tensor_intrins
from vendor_sdk.intrinsics.tensorize_build import Plan, build, fused_extent, operand_axes
from vendor_sdk.intrinsics.tensorize_match import (
    Match,
    Mismatch,
    desc_parts,
    match,
    zero_when_padded,
)

if TYPE_CHECKING:  # vendor_sdk.target imports this package: no cycle at run time
    from vendor_sdk.target import Target


@dataclass(frozen=True)
class TensorizeResult:
    name: str  # the operator's PrimFunc
    func: PrimFunc | None
    intrinsic: str | None
    plan: Plan | None
    estimate: Estimate | None
    trace: tuple[str, ...] = ()
    reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.func is not None

    def explain(self) -> str:
        head = (f"{self.name}: tensorized onto {self.intrinsic}" if self.ok
                else f"{self.name}: stays on the host, no intrinsic fits")
        lines = [head, *(f"  {t}" for t in self.trace)]
        lines += [f"  {n}: {r}" for n, r in sorted(self.reasons.items())]
        return "\n".join(lines)


def _trace(m: Match, plan: Plan, est: Estimate, considered: int) -> list[str]:
    out = [f"match {m.intrin.name} on block {m.block.name}"]
    for a, ivs in m.roles.items():
        names = ", ".join(iv.var.name for iv in ivs) or "nothing"
        length = fused_extent(m, a)
        fused = f" fused = {expr_str(length)}" if len(ivs) > 1 else ""
        out.append(f"role {a} <- ({names}){fused}")
        if not divides(plan.tile(a), length):
            out.append(f"pad {a}: {expr_str(length)} to a multiple of {plan.tile(a)} "
                       "(last tile guarded)")
    if m.batch:
        out.append(f"outer loops (index every operand): {[iv.var.name for iv in m.batch]}")
    if m.init is not None:
        out.append(f"decompose_reduction: accumulator tile filled with '{expr_str(m.init)}'")
    tiles = ", ".join(f"{a}={t}" for a, t in plan.tiles)
    out.append(f"tile {tiles}; order {list(plan.order)}; double_buffer={list(plan.double_buffer)} "
               f"(best of {considered} candidates)")
    for op, axes in operand_axes(m).items():
        scope = next(p.scope for p in m.intrin.desc.params if p.name == op)
        out.append(f"stage {op} [{' x '.join(str(plan.tile(a)) for a in axes)}] in '{scope}'")
    out.append(f"model: {est.cycles:.0f} cycles, {est.calls} calls, ideal {est.ideal:.0f} "
               f"(x{est.ratio:.2f})")
    return out


def _capacity(target: Target, m: Match) -> dict[str, int]:
    """Elements per scope the tiles may use. The code generator keeps a broadcast init's
    source (a bias) resident above the tiles of the output's scope for the whole layer
    (vendor_sdk.codegen.hoist), so its rows are not the tiles'."""
    mems = target.memories
    cap = {name: mi.rows * mi.row_elems for name, mi in mems.items()}
    if m.init is not None:
        scope = next(p.scope for p in m.intrin.desc.params
                     if p.name == desc_parts(m.intrin)[1].buffer.name)
        row = mems[scope].row_elems
        for ld in {x.buffer for x in walk_expr(m.init) if isinstance(x, Load)}:
            dims = [int(d.value) for d in ld.shape if isinstance(d, Const)]
            if ld.scope == "global" and len(dims) == len(ld.shape):
                lead = math.prod(dims[:-1])
                cap[scope] -= lead * -(-dims[-1] // row) * row
    return cap


# (id(target), program, model, hints, seed) -> (target, result). The search is
# deterministic, and compile() re-emits every region after a host fallback, so the
# same layer is searched again; the target is kept alive so its id stays its own.
_MEMO: dict[tuple[object, ...], tuple[Target, TensorizeResult]] = {}
_MEMO_LIMIT = 1024


def auto_tensorize(f: PrimFunc, target: Target, model: CostModel | None = None,
                   sizes: Mapping[str, int] | None = None, seed: int = 0) -> TensorizeResult:
    """Tensorize ``f`` onto the cheapest fitting intrinsic of ``target``, or say why not.

    ``sizes`` are hints for symbolic extents (the cost model needs numbers; the
    program stays symbolic, remainders are handled at run time). Unhinted sizes
    count as 1. Results are memoized per (target, program, model, hints, seed). The
    default model is the target's (``cost.model_for``: its array size).
    """
    model = model or model_for(target)
    key = (id(target), f, model, tuple(sorted((sizes or {}).items())), seed)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is target:
        return hit[1]
    result = _auto_tensorize(f, target, model, sizes, seed)
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[key] = (target, result)
    return result


def _auto_tensorize(f: PrimFunc, target: Target, model: CostModel,
                    sizes: Mapping[str, int] | None, seed: int) -> TensorizeResult:
    from core.tir.verify import size_vars

    hints = {v: 1 for v in size_vars(f)} | dict(sizes or {})
    reasons: dict[str, str] = {}
    best: tuple[float, str, PrimFunc, Plan, Estimate, list[str]] | None = None
    sems = target.semantics
    for name, intrin in sorted(tensor_intrins(target).items()):
        try:
            m = match(f, intrin)
        except Mismatch as e:
            reasons[name] = str(e)
            continue
        reduce_ops = {op for op, axes in operand_axes(m).items()
                      if any(a in axes for a in m.roles if m.intrin.desc.body and any(
                          iv.kind == "reduce" for iv in m.roles[a]))}
        if not zero_when_padded(_term(m), reduce_ops):
            reasons[name] = ("the accumulated term is not 0 on padded operands, so the "
                             "reduction cannot be padded to the intrinsic's extent; fix: "
                             "make the reduction a multiple of it")
            continue
        sem = sems[name.partition(".")[0]]
        ranges = {a: (ax.min, ax.max) for a, ax in sem.axes.items()}
        found = search(m, _capacity(target, m), model, hints, seed, ranges)
        if found.plan is None or found.estimate is None:
            reasons[name] = f"{found.reason}; fix: give the target larger memories"
            continue
        g = build(f, m, found.plan)
        problems = verify(g)
        if problems:  # a builder bug must not pass silently as a result
            reasons[name] = f"the tensorized program does not verify: {problems[0]}"
            continue
        key = (found.estimate.cycles, name)
        if best is None or key < best[:2]:
            best = (*key, g, found.plan, found.estimate,
                    _trace(m, found.plan, found.estimate, found.considered))
    if best is None:
        return TensorizeResult(f.name, None, None, None, None, (), reasons)
    _, name, g, plan, est, trace = best
    return TensorizeResult(f.name, g, name, plan, est, tuple(trace),
                           {k: v for k, v in reasons.items() if k != name})


def _term(m: Match) -> Expr:
    return desc_parts(m.intrin)[2]
