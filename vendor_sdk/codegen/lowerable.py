"""Can the code generator lower a pattern? Asked by `validate`, before any model is seen.

The answer comes from the code generator's own dispatch, not from a second list: a
composite holding a GEMM op (layers.GEMM_OPS) is a GEMM layer whose epilogue takes a bias
Add and Relu / Clip (codegen.epilogue); otherwise one element-wise core (elementwise.ELT_OPS)
or a lone activation (elementwise.ACTIVATIONS) is an ALU layer. The intrinsics each kind
picks are found with the same role finders the code generator calls
(intrinsic_roles.find_requant / find_alu), on the pattern's `tensorize` list alone, so a
list that names too little fails here with the finder's own reason.

What still depends on the model (shapes, a Clip bound computed at run time, whether the
listed GEMM intrinsic tiles a given layer) is found at compile time; such a layer goes to
the host with that reason (vendor_sdk.compile).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.elementwise import ACTIVATIONS, ELT_OPS
from vendor_sdk.codegen.intrinsic_roles import find_alu, find_requant
from vendor_sdk.codegen.layers import GEMM_OPS
from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.target.lowering import Lowering, Template, Tensorize

QDQ = ("QuantizeLinear", "DequantizeLinear")  # a composite's plumbing, folded by analysis
BIAS = "Add"  # between a GEMM and its activation: the GEMM's bias (codegen.epilogue)
TEMPLATE_OPS = ("MatMul", "Gemm")  # lower_gemm.layer_code renders kernels for MatMul layers
# The ALU steps of element-wise layers (elementwise._add): (op, immediate, why).
ALU_STEPS = {"+imm": ("+", True, "subtract an input's zero point"),
             "*": ("*", False, "scale an input by its multiplier (scales that differ)"),
             "+": ("+", False, "add the two scaled inputs")}


@dataclass(frozen=True, slots=True)
class Unlowerable:
    """Why a pattern cannot be lowered; ``node``/``op`` locate it ("" : the `lower` entry)."""

    reason: str
    hint: str
    node: str = ""
    op: str = ""


@dataclass(frozen=True, slots=True)
class _View:
    """The intrinsics a role finder may choose from (the target's ``semantics`` subset)."""

    semantics: Mapping[str, Semantics]


def kind_of(ops: set[str]) -> str:
    """The code generator's dispatch on a composite's ops: gemm | eltwise | activation |
    "" (nothing it lowers). region.region_code dispatches with it (lowerers.LOWERERS);
    analyze_elementwise then takes ELT_OPS before a lone activation."""
    if ops & set(GEMM_OPS):
        return "gemm"
    if ops & set(ELT_OPS):
        return "eltwise"
    if ops & set(ACTIVATIONS):
        return "activation"
    return ""


def unlowerable(nodes: Mapping[str, tuple[str, ...]], lowering: Lowering,
                semantics: Mapping[str, Semantics]) -> list[Unlowerable]:
    """Every reason the code generator cannot lower a pattern whose nodes have these op
    alternatives with ``lowering`` on a target with these intrinsic ``semantics``."""
    ops = {op for alts in nodes.values() for op in alts}
    kind = kind_of(ops)
    out = [u for n, alts in nodes.items() for op in alts if (u := _no_lowering(n, op, kind))]
    cores = [n for n, alts in nodes.items()
             if set(alts) & set(GEMM_OPS if kind == "gemm" else ELT_OPS)]
    if len(cores) > 1:
        what = "Conv, MatMul or Gemm" if kind == "gemm" else "Add, Sum or MaxPool"
        out.append(Unlowerable(f"nodes {' and '.join(cores)} are each a {what}: one NPU "
                               "layer computes one", "split it into one pattern per layer",
                               cores[1], nodes[cores[1]][0]))
    return out + _roles(kind, ops, nodes, lowering, semantics) if kind else out


def _no_lowering(node: str, op: str, kind: str) -> Unlowerable | None:
    if op in QDQ or op in ACTIVATIONS or op in GEMM_OPS:
        return None
    if op in ELT_OPS and (kind != "gemm" or op == BIAS):
        return None
    after = {"gemm": "after a Conv / MatMul / Gemm (its epilogue takes a bias Add and "
             "Relu / Clip)", "eltwise": "", "activation": ""}.get(kind, "")
    return Unlowerable(
        f"the code generator has no lowering for {op}{' ' + after if after else ''}",
        f"it lowers {', '.join(GEMM_OPS)} (tensorized GEMMs, or a MatMul template), "
        f"{', '.join(ELT_OPS)} and {', '.join(ACTIVATIONS)} (ALU intrinsics); leave {op} "
        "to the host: remove it from the pattern", node, op)


def _roles(kind: str, ops: set[str], nodes: Mapping[str, tuple[str, ...]],
           lowering: Lowering, semantics: Mapping[str, Semantics]) -> list[Unlowerable]:
    if isinstance(lowering, Template):
        if kind != "gemm" or ops & set(GEMM_OPS) - set(TEMPLATE_OPS):
            bad = sorted(ops & (set(GEMM_OPS) - set(TEMPLATE_OPS))) or \
                sorted(ops & {*ELT_OPS, *ACTIVATIONS})
            node = next((n for n, alts in nodes.items() if bad[0] in alts), "")
            return [Unlowerable(
                f"template kernels lower {' / '.join(TEMPLATE_OPS)} layers, not {bad[0]}",
                f"lower {bad[0]} with `tensorize: [...]` (intrinsics), or drop it from the "
                "pattern", node, bad[0])]
        # the epilogue after the kernel requantizes with any of the target's intrinsics
        return _find(lambda: find_requant(_View(semantics), None, per_channel=True),
                     "the kernel's int32 result is requantized per channel after it")
    assert isinstance(lowering, Tensorize)
    listed = _View({n: s for n, s in semantics.items() if n in lowering.intrinsics})
    cands = list(lowering.intrinsics)
    if kind == "gemm":
        return _reduction(listed.semantics) + \
            _find(lambda: find_requant(listed, cands, per_channel=True),
                  "a GEMM layer ends in a per-channel requantization")
    out = _find(lambda: find_requant(listed, cands, per_channel=False),
                "an element-wise layer ends in a per-tensor requantization")
    if kind == "eltwise" and "MaxPool" in ops:
        out += _find(lambda: find_alu(listed, "max", False, cands),
                     "MaxPool keeps a running maximum over the window taps")
    steps: tuple[str, ...] = ("+imm",) if kind == "activation" else ("+imm", "*", "+")
    if kind == "eltwise" and not ops & {"Add", "Sum"}:
        steps = ()
    for step in steps:
        op, imm, why = ALU_STEPS[step]
        out += _find(partial(find_alu, listed, op, imm, cands), f"to {why}")
    return out


def _reduction(semantics: Mapping[str, Semantics]) -> list[Unlowerable]:
    """The tensorizer maps a GEMM's reduction onto an intrinsic that reduces (a `sum` over
    an axis): without one in the list, no layer of the pattern tensorizes. Whether one
    tiles a given layer is the tensorizer's answer at compile time."""
    if any(s.loop_nest("").reduce for s in semantics.values()):
        return []
    return [Unlowerable(f"no intrinsic among {sorted(semantics)} reduces (a statement "
                        "C = C + sum(k, A * B)): the GEMM of a Conv / MatMul / Gemm "
                        "layer has nothing to tensorize onto",
                        "list the target's GEMM intrinsic, see docs/target_yaml.md, `lower`")]


def _find(role: Callable[[], object], why: str) -> list[Unlowerable]:
    """The role finder's refusal, if it refuses (its message names what it looked for)."""
    try:
        role()
    except CodegenError as e:
        return [Unlowerable(f"{e} ({why})", "add an intrinsic with that `compute` to the "
                            "list (or to the target), see docs/target_yaml.md, `lower`")]
    return []
