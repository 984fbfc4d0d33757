"""Compile a target's `patterns:` section into :class:`~vendor_sdk.patterns.lang.Pattern`s."""

from __future__ import annotations

from core.ops import OPS
from vendor_sdk.patterns.constraint import ConstraintError, parse_constraint, parse_op
from vendor_sdk.patterns.errors import PartitionError
from vendor_sdk.patterns.lang import NodePat, Pattern, TensorPat
from vendor_sdk.target import Target
from vendor_sdk.target.lowering import lowering_of
from vendor_sdk.target.model import PatternSpec


def compile_pattern(name: str, spec: PatternSpec, target: str = "") -> Pattern:
    nodes: dict[str, NodePat] = {}
    for node_name, node in spec.nodes.items():
        where = f"patterns.{name}.nodes.{node_name}"
        try:
            alts = parse_op(node.op)
            attrs = tuple((k, parse_constraint(v)) for k, v in node.attrs.items())
        except ConstraintError as e:
            raise PartitionError(f"{where}: {e.message}") from None
        for alt in alts:
            if alt.op not in OPS:
                raise PartitionError(f"{where}: unknown op {alt.op!r} (ops use ONNX names)")
        for attr, _ in attrs:
            if not any(attr in OPS[a.op].attrs for a in alts):
                raise PartitionError(f"{where}: no alternative of {node.op!r} has an "
                                     f"attribute {attr!r}")
        nodes[node_name] = NodePat(node_name, alts, tuple(node.inputs), attrs, node.optional)
    tensors = {t: TensorPat(t, v.dtype, v.rank, None if v.shape is None else tuple(v.shape),
                            v.const, v.optional) for t, v in spec.tensors.items()}
    return Pattern(name, spec.root, nodes, tensors, spec.priority, target, None,
                   lowering_of(spec.lower))


def patterns_of(target: Target) -> list[Pattern]:
    """Every pattern of a checked target, highest priority first."""
    pats = [compile_pattern(n, p, target.name) for n, p in target.spec.patterns.items()]
    return sorted(pats, key=lambda p: (-p.priority, p.name))
