"""The SRAM plan of one layer: which rows of which on-chip memory each buffer occupies.

Built from the target's memories and their roles alone (never their names): an
on-chip buffer goes to the memory its scope names, at a row aligned to a row of
lanes (and, in a weight memory, to a whole weight tile); an accumulator tile that
is requantized gets a shadow of rows in the output memory; constants of the whole
layer are reserved at the top of a memory, above every tile (vendor_sdk.codegen.hoist).

Layout (docs/compile.md): a buffer of shape ``(d0, ..., dn)`` occupies rows of its
memory's ``row_elems`` lanes (L), lane blocks outermost: element ``(i0..in)`` is in row
``base + (in // L) * R + flat(i0..i(n-1))`` (``R = d0*...*d(n-1)``), lane ``in % L``.
"""

from __future__ import annotations

import math

from core.tir.expr import Const, Expr, Load, Var, binop
from core.tir.stmt import Allocate, Buffer, For, Seq, Stmt
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.copies import is_var_plus, names_of
from vendor_sdk.target import Target


def const_int(d: Expr) -> int:
    """A constant extent (on-chip buffers have constant shapes: the tensorizer's tiles)."""
    if not isinstance(d, Const):
        raise CodegenError(f"extent {d} of an on-chip buffer is not a constant")
    return int(d.value)


class SramPlan:
    """Row placement of a layer's on-chip buffers. ``shadow_of``: the memory whose tiles
    the layer's program requantizes into ``shadow_in`` ("" : none)."""

    def __init__(self, target: Target, shadow_of: str = "", shadow_in: str = "") -> None:
        self.target = target
        self.shadow_of, self.shadow_in = shadow_of, shadow_in
        self.cursor: dict[str, int] = {}
        self.base: dict[str, tuple[str, int]] = {}
        self.shadow: dict[str, int] = {}  # acc buffer -> first out row of its requant copy
        self.reserved: dict[str, int] = {}  # rows at the top of a memory, for the layer
        self.peak: dict[str, int] = {}
        self.hoisted: dict[str, int] = {}  # DRAM buffer -> its first reserved row

    def lanes(self, scope: str) -> int:
        """Lanes of a row of memory ``scope`` (its declared ``row_elems``)."""
        mem = self.target.memories.get(scope)
        if mem is None:
            raise CodegenError(f"scope '{scope}' is not a memory of target "
                               f"{self.target.name}")
        return int(mem.row_elems)

    def role_of(self, scope: str) -> str:
        mem = self.target.memories.get(scope)
        return mem.role if mem is not None else ""

    def alignment(self, scope: str) -> int:
        """Rows a tile of ``scope`` starts at a multiple of: a row of lanes, and in a weight
        memory a whole weight tile too (intrinsics address it by tile index = row / rows
        of a tile, e.g. k rows of n lanes or n rows of k)."""
        align = self.lanes(scope)
        if self.role_of(scope) == "weight":
            for sem in self.target.semantics.values():
                for op in sem.operands.values():
                    if op.scope == scope and op.shape:
                        align = math.lcm(align, math.prod(sem.axes[a].max
                                                          for a in op.shape[:-1]))
        return align

    def rows_of(self, buf: Buffer, scope: str = "") -> int:
        """Rows ``buf`` occupies in its memory (or in ``scope``: a DRAM buffer staged)."""
        lead = math.prod(const_int(d) for d in buf.shape[:-1])
        return lead * -(-const_int(buf.shape[-1]) // self.lanes(scope or buf.scope))

    def shadowed(self, buf: Buffer) -> bool:
        """Whether a tile of the program gets rows for its requantized copy."""
        return bool(self.shadow_of) and buf.scope == self.shadow_of

    def allocate(self, buf: Buffer, shadow: bool = False) -> int:
        """Rows for an on-chip buffer (and, with ``shadow``, the rows in ``shadow_in`` its
        requantized copy goes to); returns its first row."""
        rows = self.rows_of(buf)
        self.base[buf.name] = (buf.scope, self._alloc(buf.scope, rows, buf.name))
        if shadow:
            self.shadow[buf.name] = self._alloc(self.shadow_in,
                                                self.rows_of(buf, self.shadow_in),
                                                f"{buf.name} (requantized)")
        return self.base[buf.name][1]

    def _alloc(self, scope: str, rows: int, what: str) -> int:
        align = self.alignment(scope)
        start = -(-self.cursor.get(scope, 0) // align) * align
        free = self.target.memories[scope].rows - self.reserved.get(scope, 0)
        if start + rows > free:
            raise CodegenError(f"{what}: {rows} rows of '{scope}' from row {start} exceed its "
                               f"{free} free rows")
        self.cursor[scope] = start + rows
        self.peak[scope] = max(self.peak.get(scope, 0), start + rows)
        return start

    def plan(self, s: Stmt) -> None:
        """Peak rows per memory of the program's buffers, before emitting it (so rows
        reserved for hoisted constants never meet a tile allocated later)."""
        saved = (dict(self.cursor), dict(self.base), dict(self.shadow))
        self._walk_allocs(s)
        self.cursor, self.base, self.shadow = saved

    def _walk_allocs(self, s: Stmt) -> None:
        match s:
            case Seq(stmts):
                for x in stmts:
                    self._walk_allocs(x)
            case Allocate(buf, body):
                saved = dict(self.cursor)
                self.allocate(buf, self.shadowed(buf))
                self._walk_allocs(body)
                self.cursor = saved
            case For(_, _, body, _, _):
                self._walk_allocs(body)

    def reserve(self, scope: str, rows: int) -> int | None:
        """``rows`` at the top of ``scope`` for the rest of the layer, or None when they
        would overlap the layer's tiles."""
        top = self.target.memories[scope].rows - self.reserved.get(scope, 0)
        if top - rows < self.peak.get(scope, 0):
            return None
        self.reserved[scope] = self.reserved.get(scope, 0) + rows
        return top - rows

    def row(self, buf: Buffer, idx: tuple[Expr, ...], base: int | None = None,
            scope: str = "") -> Expr:
        """The row of element ``idx`` of ``buf`` (placed at ``base`` in memory ``scope``
        when given: a DRAM buffer hoisted, or a requantized copy)."""
        if base is None:
            base = self.base[buf.name][1]
        lead: Expr = Const(0)
        for d, i in zip(buf.shape[:-1], idx[:-1], strict=True):
            lead = binop("+", binop("*", lead, d), i)
        total = math.prod(const_int(d) for d in buf.shape[:-1])
        blk = binop("//", idx[-1], Const(self.lanes(scope or buf.scope)))
        return binop("+", Const(base), binop("+", binop("*", blk, Const(total)), lead))

    def row_stride(self, buf: Buffer, dim: int) -> int:
        return math.prod(const_int(d) for d in buf.shape[dim + 1:-1])

    def stride_of(self, ld: Load, var: Var) -> int:
        """Rows between consecutive values of ``var`` in the rows ``ld`` reads."""
        dims = [d for d, i in enumerate(ld.indices[:-1]) if var.name in names_of(i)]
        if len(dims) != 1 or (ld.indices[dims[0]] != var and not is_var_plus(
                ld.indices[dims[0]], var)):
            raise CodegenError(f"{ld.buffer.name}: rows are not a unit-stride run of one axis")
        return self.row_stride(ld.buffer, dims[0])
