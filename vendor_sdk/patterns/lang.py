"""Patterns as data, and a Python API that mirrors the YAML.

A :class:`Pattern` is a small DAG of :class:`NodePat` (op alternatives,
attribute constraints, optional) over :class:`TensorPat` inputs (dtype, rank,
shape, const), with an explicit integer priority (higher wins) and an
optional ``check`` callback for what the YAML cannot say. Vendors who prefer
code write the same thing as

    x, w, b = wildcard("x", dtype="int8", rank=4), is_const("w"), is_const("b")
    conv = is_op("Conv")(x, w, b).where(group=1, kernel_shape="k <= 7")
    act = is_op("Relu", "Clip(min=0)")(conv).optional()
    pattern("conv2d_relu", act, priority=30, check=lambda ctx: ...)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vendor_sdk.patterns.constraint import Constraint, OpAlt, parse_constraint, parse_op
from vendor_sdk.patterns.errors import PartitionError

if TYPE_CHECKING:
    from vendor_sdk.patterns.match import MatchContext
    from vendor_sdk.target.lowering import Lowering

# A check returns True to accept, or False / a reason string to reject.
Check = Callable[["MatchContext"], "bool | str"]

# Ops whose two inputs may be swapped when matching.
COMMUTATIVE = frozenset({"Add", "Mul", "Sum", "Max", "Min", "And", "Or", "Xor", "Equal"})


@dataclass(frozen=True, slots=True)
class TensorPat:
    """A pattern input: any value (a wildcard) that satisfies the given constraints."""

    name: str
    dtype: str | None = None
    rank: int | None = None
    shape: tuple[int | None, ...] | None = None  # None entries match any extent
    const: bool = False
    optional: bool = False  # the input may be omitted (Gemm without C); then it binds None


@dataclass(frozen=True, slots=True)
class NodePat:
    name: str
    alts: tuple[OpAlt, ...]
    inputs: tuple[str, ...]  # node or tensor names, positional
    attrs: tuple[tuple[str, Constraint], ...] = ()
    optional: bool = False

    @property
    def ops(self) -> frozenset[str]:
        return frozenset(a.op for a in self.alts)

    @property
    def op_text(self) -> str:
        return " | ".join(map(str, self.alts))


@dataclass(frozen=True, slots=True)
class Variant:
    """One fixed shape of a pattern: optional nodes either present or skipped.

    ``order`` lists the nodes root first; ``internal`` maps each non-root node
    to its consumer count inside the variant (a match must own every use).
    """

    root: str
    nodes: Mapping[str, NodePat]
    order: tuple[str, ...]
    skipped: frozenset[str]


@dataclass(frozen=True)
class Pattern:
    name: str
    root: str
    nodes: Mapping[str, NodePat]
    tensors: Mapping[str, TensorPat]
    priority: int
    target: str = ""
    check: Check | None = None
    lower: Lowering | None = None  # the target's `lower` (None: a pattern of no target)
    variants: tuple[Variant, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for n in self.nodes.values():
            for i in n.inputs:
                if i not in self.nodes and i not in self.tensors:
                    raise PartitionError(f"pattern {self.name}: node {n.name!r} reads {i!r}, "
                                         "which is neither a node nor a tensor")
        if self.root not in self.nodes:
            raise PartitionError(f"pattern {self.name}: root {self.root!r} is not a node")
        object.__setattr__(self, "variants", tuple(_variants(self)))

    @property
    def ops(self) -> frozenset[str]:
        return frozenset().union(*(n.ops for n in self.nodes.values()))


def _variants(p: Pattern) -> Iterator[Variant]:
    """Expand optional nodes: a skipped node is replaced by its first node input.

    2^k variants for k optional nodes; patterns have a handful of nodes. Bigger
    variants come first, so that at equal priority the larger match is tried first.
    """
    optional = [n for n in p.nodes.values() if n.optional]
    seen: set[tuple[str, ...]] = set()
    for k in range(len(optional) + 1):
        for skip in itertools.combinations(optional, k):
            skipped = {n.name for n in skip}
            forward: dict[str, str] = {}
            for n in skip:
                feeders = [i for i in n.inputs if i in p.nodes]
                if not feeders:
                    raise PartitionError(f"pattern {p.name}: optional node {n.name!r} needs a "
                                         "node input to stand in for it when skipped")
                forward[n.name] = feeders[0]

            def resolve(name: str, forward: dict[str, str] = forward) -> str:
                while name in forward:
                    name = forward[name]
                return name

            nodes = {n.name: NodePat(n.name, n.alts, tuple(resolve(i) for i in n.inputs),
                                     n.attrs, n.optional)
                     for n in p.nodes.values() if n.name not in skipped}
            root = resolve(p.root)
            order = _reachable(root, nodes)
            if order in seen:
                continue
            seen.add(order)
            yield Variant(root, {n: nodes[n] for n in order}, order, frozenset(skipped))


def _reachable(root: str, nodes: Mapping[str, NodePat]) -> tuple[str, ...]:
    order: list[str] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n in order:
            continue
        order.append(n)
        stack.extend(i for i in reversed(nodes[n].inputs) if i in nodes)
    return tuple(order)


# --- the Python API ------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A pattern expression under construction (tensor or node)."""

    name: str


@dataclass(frozen=True)
class TensorExpr(Expr):
    spec: TensorPat


@dataclass(frozen=True)
class NodeExpr(Expr):
    alts: tuple[OpAlt, ...]
    args: tuple[Expr, ...]
    attrs: tuple[tuple[str, Constraint], ...] = ()
    is_optional: bool = False

    def where(self, **constraints: int | str | list[int]) -> NodeExpr:
        """Attribute constraints, written as in the YAML: ``group=1, kernel_shape="k <= 7"``."""
        more = tuple((k, parse_constraint(v)) for k, v in constraints.items())
        return NodeExpr(self.name, self.alts, self.args, self.attrs + more, self.is_optional)

    def optional(self) -> NodeExpr:
        return NodeExpr(self.name, self.alts, self.args, self.attrs, True)


_counter = itertools.count()


def wildcard(name: str = "", dtype: str | None = None, rank: int | None = None,
             shape: tuple[int | None, ...] | None = None, const: bool = False,
             optional: bool = False) -> TensorExpr:
    name = name or f"t{next(_counter)}"
    return TensorExpr(name, TensorPat(name, dtype, rank, shape, const, optional))


def is_const(name: str = "", dtype: str | None = None, rank: int | None = None,
             shape: tuple[int | None, ...] | None = None, optional: bool = False) -> TensorExpr:
    return wildcard(name, dtype, rank, shape, const=True, optional=optional)


def is_op(*alternatives: str, name: str = "") -> Callable[..., NodeExpr]:
    """``is_op("Relu", "Clip(min=0)")(x)``; each alternative is parsed like YAML ``op``."""
    alts = tuple(a for text in alternatives for a in parse_op(text))

    def apply(*args: Expr) -> NodeExpr:
        return NodeExpr(name or f"{alts[0].op.lower()}{next(_counter)}", alts, args)

    return apply


def pattern(name: str, root: NodeExpr, priority: int, check: Check | None = None,
            target: str = "", lower: Lowering | None = None) -> Pattern:
    """Collect the expression DAG under ``root`` into a :class:`Pattern`."""
    nodes: dict[str, NodePat] = {}
    tensors: dict[str, TensorPat] = {}
    seen: dict[str, Expr] = {}
    stack: list[Expr] = [root]
    while stack:
        e = stack.pop()
        if e.name in seen:
            if seen[e.name] != e:
                raise PartitionError(f"pattern {name}: two different sub-patterns are named "
                                     f"{e.name!r}")
            continue
        seen[e.name] = e
        if isinstance(e, TensorExpr):
            tensors[e.name] = e.spec
        elif isinstance(e, NodeExpr):
            nodes[e.name] = NodePat(e.name, e.alts, tuple(a.name for a in e.args), e.attrs,
                                    e.is_optional)
            stack.extend(e.args)
    return Pattern(name, root.name, nodes, tensors, priority, target, check, lower)
