"""Memory roles: what the code generator uses each on-chip memory for.

The code generator never names a memory: it asks the target for the memory of
a role (the accumulator a result is staged in, the output memory it is
requantized into, the param memory holding descriptors). Memory names, sizes
and C ids are the vendor's: every memory declares its `role:` and `id:` (the C
name its own driver gives it). There are no defaults by name: a default id would
be some other chip's driver constant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.target.checks import MemoryInfo
from vendor_sdk.target.model import PatternSpec, TargetSpec
from vendor_sdk.target.source import Loc

ROLES = ("input", "weight", "accumulator", "output", "param", "table")

# Why a `lower: {tensorize: ...}` pattern needs each role (in the validate message).
WHY = {
    "accumulator": "int32 results, bias fills and elementwise tiles are staged in it",
    "output": "int32 results are requantized into it and stored from it",
    "param": "its intrinsics read requantization descriptors from it",
}

Report = Callable[[Loc, str, str], None]


def resolve(spec: TargetSpec, memories: Mapping[str, MemoryInfo]) -> dict[str, MemoryInfo]:
    """The checked memories with their declared role and C ids."""
    out = {}
    for name, info in memories.items():
        mem = spec.memories[name]
        out[name] = replace(info, role=mem.role or "", c_id=mem.id or "",
                            widen_id=mem.widen_id or "")
    return out


def _needs(spec: TargetSpec, pat: PatternSpec) -> set[str]:
    """Roles the code generator looks up for a pattern that lowers by tensorizing."""
    if pat.lower.tensorize is None:
        return set()
    need = {"accumulator", "output"}
    for name in pat.lower.tensorize:
        intr = spec.intrinsics.get(name)
        ops = [] if intr is None else [*intr.inputs.values(), *intr.outputs.values(),
                                       *intr.inout.values()]
        if any(op.role == "param" and op.scope for op in ops):
            need.add("param")
    return need


def check_roles(spec: TargetSpec, semantics: Mapping[str, Semantics], err: Report) -> None:
    """Every memory has one role and an id; roles are unique; each
    role a tensorize pattern needs is some memory's; requantizations read and write the
    memories the code generator places their operands in."""
    holder: dict[str, str] = {}
    for name, mem in spec.memories.items():
        role: str = mem.role or ""  # the loop below reuses the name for any role string
        if not role:
            err(("memories", name), f"memory {name!r} has no `role`",
                f"add `role: <{'|'.join(ROLES)}>`: the code generator finds memories by role, "
                "not by name (docs/target_yaml.md)")
            continue
        if role in holder:
            err(("memories", name, "role") if mem.role else ("memories", name),
                f"memories {holder[role]!r} and {name!r} both have role {role!r}",
                "the code generator uses one memory per role: give one of them another role")
            continue
        holder[role] = name
        if mem.id is None:
            err(("memories", name), f"memory {name!r} has no `id`",
                "add `id: <C expression>`: how your driver names it in the glue's load, "
                "store and access calls (an enum constant of its header)")
    needed: dict[str, list[str]] = {}
    for pname, pat in spec.patterns.items():
        for role in sorted(_needs(spec, pat)):
            needed.setdefault(role, []).append(pname)
    for role, pats in needed.items():
        if role not in holder:
            err(("memories",), f"no memory has role {role!r}, which "
                f"pattern{'s' if len(pats) > 1 else ''} {', '.join(pats)} "
                f"(lower: tensorize) need{'' if len(pats) > 1 else 's'}: {WHY[role]}",
                f"add `role: {role}` to the memory used that way")
    _check_requant_scopes(spec, semantics, err)


def _check_requant_scopes(spec: TargetSpec, semantics: Mapping[str, Semantics],
                          err: Report) -> None:
    """A requantization (found by its compute, as the code generator finds it) reads the
    accumulator, writes the output memory and takes descriptors from the param memory:
    the code generator places its operands there, so a scope elsewhere is a mistake here
    rather than a host fallback on every model."""
    from vendor_sdk.codegen.intrinsic_roles import requant_form  # codegen reads targets

    role = {n: m.role or "" for n, m in spec.memories.items()}
    for name, sem in semantics.items():
        form = requant_form(name, sem)
        intr = spec.intrinsics.get(name)
        if form is None or intr is None:
            continue
        want = {form.x: "accumulator", form.y: "output",
                **{p: "param" for p in form.descriptor}}
        for group in ("inputs", "outputs", "inout"):
            for op, spec_op in getattr(intr, group).items():
                if op in want and spec_op.scope and role.get(spec_op.scope) != want[op]:
                    err(("intrinsics", name, group, op, "scope"),
                        f"{op} of requantization {name} is in memory {spec_op.scope!r} "
                        f"(role {role.get(spec_op.scope) or 'none'}); the code generator "
                        f"places it in the {want[op]} memory",
                        f"use the memory with `role: {want[op]}` as the scope")
