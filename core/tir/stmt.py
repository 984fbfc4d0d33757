"""Statements, buffers and functions of the tensor IR.

A :class:`PrimFunc` is a loop-nest program in destination-passing style: its
parameters are buffers, the last ``num_outputs`` of which it writes. Symbolic
extents are ordinary :class:`~core.tir.expr.Var` s in buffer shapes; they are
bound from the shapes of the arrays a caller passes (and become ``i64``
arguments in compiled code).

A :class:`Block` is the unit schedule primitives and the tensorizer reason
about: it names its iteration variables (spatial or reduce) and binds each to
an expression of the surrounding loop variables, so a block's body is written
over its own iteration space however the loops around it are split, fused or
reordered. ``init`` runs when every reduce iteration variable is at 0 (the
first visit of an output element), which is how a reduction states its
identity without a separate loop nest — and what an intrinsic's ``init``
variant matches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from core.tir.expr import Expr, Var

LoopKind = Literal["serial", "unrolled", "pipelined", "vectorized", "parallel"]
LOOP_KINDS = ("serial", "unrolled", "pipelined", "vectorized", "parallel")
IterKind = Literal["spatial", "reduce"]


@dataclass(frozen=True, slots=True)
class Buffer:
    """A dense row-major array: dtype, (symbolic) shape, memory scope."""

    name: str
    dtype: str
    shape: tuple[Expr, ...]
    scope: str = "global"

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True, slots=True)
class Region:
    """A box of a buffer: ``buffer[start_0 : start_0 + extent_0, ...]``."""

    buffer: Buffer
    starts: tuple[Expr, ...]
    extents: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Store:
    buffer: Buffer
    indices: tuple[Expr, ...]
    value: Expr


@dataclass(frozen=True, slots=True)
class For:
    """``for var in range(extent)``; ``kind`` is a code-generation annotation only:
    every kind means the same sequential loop to the interpreter."""

    var: Var
    extent: Expr
    body: Stmt
    kind: LoopKind = "serial"
    # Free-form hints for later stages, e.g. (("double_buffer", "A_local"),).
    annotations: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Seq:
    stmts: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class IterVar:
    var: Var
    extent: Expr
    kind: IterKind = "spatial"


@dataclass(frozen=True, slots=True)
class Block:
    """A named computation over its own iteration space (see the module docstring).

    ``bindings[i]`` gives ``iters[i].var`` in terms of the enclosing loop
    variables; the body runs only where ``predicate`` holds (None: always),
    which is how non-divisible splits stay exact.
    """

    name: str
    iters: tuple[IterVar, ...]
    bindings: tuple[Expr, ...]
    body: Stmt
    init: Stmt | None = None
    predicate: Expr | None = None

    @property
    def spatial(self) -> tuple[IterVar, ...]:
        return tuple(iv for iv in self.iters if iv.kind == "spatial")

    @property
    def reduce(self) -> tuple[IterVar, ...]:
        return tuple(iv for iv in self.iters if iv.kind == "reduce")


@dataclass(frozen=True, slots=True)
class Allocate:
    """A scratch buffer (any scope) live for the duration of ``body``."""

    buffer: Buffer
    body: Stmt


@dataclass(frozen=True, slots=True)
class TensorIntrin:
    """An instruction as the IR sees it: a description program plus an optional impl.

    ``desc`` is a PrimFunc whose parameters are the instruction's operands (in
    call order, scopes set) and whose body is the loop nest the instruction
    computes; its size variables are the instruction's variable extents. It is
    the instruction's meaning: the interpreter runs ``desc`` unless ``impl``
    (arrays in, outputs written in place) is given, e.g. a vendor's bit-exact
    reference. Core knows nothing else about where intrinsics come from.
    """

    name: str
    desc: PrimFunc
    impl: Callable[..., None] | None = field(default=None, compare=False)
    # Opaque data for code generators (a C template, an opcode); never read by core.
    payload: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class IntrinCall:
    """Run ``intrin`` on buffer regions, one per ``intrin.desc`` parameter, in order.

    ``dims[i]`` lists the region axes that form operand ``i``'s axes, in order;
    the other axes of the region have extent 1 (a 2-D tile of a 4-D tensor).
    Empty means all axes.
    """

    intrin: TensorIntrin
    args: tuple[Region, ...]
    dims: tuple[tuple[int, ...], ...] = ()

    def operand_axes(self, i: int) -> tuple[int, ...]:
        if self.dims and self.dims[i]:
            return self.dims[i]
        return tuple(range(self.args[i].buffer.rank))


Stmt = Union[Store, For, Seq, Block, Allocate, IntrinCall]


@dataclass(frozen=True, slots=True)
class PrimFunc:
    name: str
    params: tuple[Buffer, ...]
    body: Stmt
    num_outputs: int = 1
    attrs: tuple[tuple[str, Any], ...] = ()

    @property
    def inputs(self) -> tuple[Buffer, ...]:
        return self.params[: len(self.params) - self.num_outputs]

    @property
    def outputs(self) -> tuple[Buffer, ...]:
        return self.params[len(self.params) - self.num_outputs:]

    def with_body(self, body: Stmt) -> PrimFunc:
        return PrimFunc(self.name, self.params, body, self.num_outputs, self.attrs)

    def attr(self, key: str, default: Any = None) -> Any:
        return dict(self.attrs).get(key, default)


def seq(*stmts: Stmt) -> Stmt:
    """A sequence with nested sequences flattened; one statement stays itself."""
    flat: list[Stmt] = []
    for s in stmts:
        flat.extend(s.stmts if isinstance(s, Seq) else (s,))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def attrs_of(mapping: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(mapping.items()))
