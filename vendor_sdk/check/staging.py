"""Where each operand of an intrinsic call lives: SRAM rows, DRAM images, emit fields.

check-intrinsics drives the target only through the C contract (vsdk_glue.h):
every memory is what target.yaml declares (`rows` rows of `row_elems` elements
of `dtype`, named in C by its `id`), data moves one row at a time in the
directions `movement:` declares, and a parameter held in the memory of role
`param` is part of a requantization *descriptor* of three rows (the layout the
code generator uses, docs/compile.md). This module turns one stimulus case into
that layout; it knows nothing about C or simulators.

Layout rules (docs/check_intrinsics.md):
- a data operand's last axis is the lane axis, its leading axes (row-major)
  are rows; a scalar is one row, lane 0;
- operands start at non-zero rows that differ between cases and memories, so
  an emit snippet that mixes up `row`, `tile` or a stride gives wrong results;
- the streamed axis of m rows runs as iter_out x iter_in (odd cases split m
  into two factors), so `fo` and `fi` are both exercised;
- descriptor params fill slots in declaration order: the first two take
  rows 0 and 1 (a vector one lane each; a scalar lane 0, with different junk
  in the other lanes so a per-channel/per-tensor mix-up shows), the rest are
  scalars in lanes 0.. of row 2, whose undeclared lanes 0-2 hold the neutral
  zp = 0, lo = -128, hi = 127.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from core.errors import VendorSdkError
from vendor_sdk.intrinsics.lang import Access
from vendor_sdk.intrinsics.semantics import Case, Semantics
from vendor_sdk.target import Target

DESCRIPTOR_MEMORY = "param"  # the role of the memory holding requantization descriptors
DESCRIPTOR_ROWS = 3
DESCRIPTOR_DEFAULTS = (0, -128, 127)  # zp, lo, hi: a descriptor that changes nothing

Kind = Literal["data", "descriptor", "immediate"]


class CheckError(VendorSdkError):
    """An intrinsic that check-intrinsics cannot exercise, or a failed check step."""


@dataclass(frozen=True, slots=True)
class Placement:
    """One operand of one case: what the emit snippet sees and how it is staged."""

    name: str
    kind: Kind
    memory: str        # "" for an immediate
    mem_c: str         # the memory's C id (target.yaml `id`), "" for an immediate
    dtype: str         # element type of the memory (of the value for immediates)
    sram: int          # first SRAM row loaded / stored
    rows: int          # rows loaded / stored
    row: int           # emit `row`: first row, or the descriptor index
    tile: int
    fo: int
    fi: int
    value: int         # emit `value` (immediates)
    lanes: int         # lanes used per row
    load: bool
    store: bool
    image: np.ndarray | None  # (rows, row_elems) DRAM contents to load
    row_bytes: int = 0  # bytes of one row of the memory (its DRAM image)
    dram: int = 0      # DRAM address, set when the case runs


@dataclass(frozen=True, slots=True)
class Layout:
    """A case's complete staging: placements in operand order and the loop counts."""

    placements: tuple[Placement, ...]
    iter_out: int
    iter_in: int
    result: str        # the operand the statement assigns; stored and compared
    shape: tuple[int, ...]  # its shape in this case

    def placement(self, name: str) -> Placement:
        return next(p for p in self.placements if p.name == name)

    def with_dram(self, addresses: Mapping[str, int]) -> Layout:
        return replace(self, placements=tuple(replace(p, dram=addresses.get(p.name, 0))
                                              for p in self.placements))


def streamed_axes(sem: Semantics) -> list[str]:
    return [a.name for a in sem.axes.values() if a.min != a.max]


def _loops(sem: Semantics, extents: Mapping[str, int], split: bool) -> tuple[str, str, int, int]:
    """(outer axis, inner axis, iter_out, iter_in); "" where an axis is absent."""
    streamed = streamed_axes(sem)
    if len(streamed) > 2:
        raise CheckError(f"{sem.name}: {len(streamed)} streamed axes ({', '.join(streamed)}); "
                         "an instruction streams at most two loops (iter_out, iter_in)")
    if len(streamed) == 2:
        return streamed[0], streamed[1], extents[streamed[0]], extents[streamed[1]]
    if not streamed:
        return "", "", 1, 1
    n = extents[streamed[0]]
    inner = next((d for d in range(2, n) if n % d == 0), 1) if split else 1
    return streamed[0], streamed[0], n // inner, inner


def _row_strides(shape: tuple[str, ...], extents: Mapping[str, int]) -> dict[str, int]:
    strides, step = {}, 1
    for axis in reversed(shape[:-1]):
        strides[axis] = step
        step *= extents[axis]
    return strides


def _descriptor_image(sem: Semantics, names: list[str], case: Case, row_elems: int,
                      rng: np.random.Generator) -> np.ndarray:
    if len(names) > 2 + row_elems:
        raise CheckError(f"{sem.name}: {len(names)} descriptor params do not fit a "
                         f"{DESCRIPTOR_ROWS}-row descriptor")
    image = np.zeros((DESCRIPTOR_ROWS, row_elems), np.int64)
    image[2, :len(DESCRIPTOR_DEFAULTS)] = DESCRIPTOR_DEFAULTS[:row_elems]
    for slot, name in enumerate(names):
        op = sem.operands[name]
        value = np.asarray(case.inputs[name], np.int64)
        lo, hi = op.values
        if slot < 2:
            if op.shape:
                if value.shape[0] > row_elems:
                    raise CheckError(f"{sem.name}: {name} has {value.shape[0]} lanes, a "
                                     f"descriptor row {row_elems}")
                image[slot, :value.shape[0]] = value
            else:
                image[slot] = rng.integers(lo, hi, row_elems, endpoint=True)
                image[slot, 0] = value
        elif op.shape:
            raise CheckError(f"{sem.name}: descriptor param {name} is a vector, but only "
                             "the first two descriptor params may be (rows 0 and 1)")
        else:
            image[2, slot - 2] = value
    return image


def _memory(target: Target, sem: Semantics, name: str, scope: str, load: bool,
            store: bool) -> tuple[int, str]:
    """(row bytes, C id) of the memory `scope` holding operand `name`; CheckError when the
    contract cannot stage it: no `id`, or a direction `movement:` does not declare."""
    mem = target.memories[scope]
    if not mem.c_id:
        raise CheckError(f"{sem.name}: operand {name} is in memory {scope!r}, which has no "
                         f"`id` (hint: give memories.{scope} the C id the glue's "
                         "vsdk_load_row/vsdk_store_row take)")
    movement = target.spec.movement
    for wanted, direction in ((load, "load"), (store, "store")):
        if wanted and (movement is None or scope not in getattr(movement, direction)):
            what = "an input" if direction == "load" else "the result"
            raise CheckError(f"{sem.name}: {name} is {what} in memory {scope!r}, but "
                             f"target.yaml `movement: {direction}:` does not list {scope!r} "
                             f"(hint: declare the rows the glue can {direction}, e.g. "
                             f"movement: {{{direction}: [{scope}]}})")
    return mem.row_elems * np.dtype(mem.dtype).itemsize, mem.c_id


def layout(target: Target, sem: Semantics, variant: str, case: Case, index: int) -> Layout:
    """The staging of one case; `index` varies base rows and the loop split."""
    rng = np.random.default_rng(index)
    spec = target.spec.intrinsics[sem.name]
    roles = {n: o.role for group in (spec.inputs, spec.outputs, spec.inout)
             for n, o in group.items()}
    ext = dict(case.extents)
    outer, inner, iter_out, iter_in = _loops(sem, ext, split=index % 2 == 1)
    stmt = sem.statements[variant]
    result = stmt.target.operand if isinstance(stmt.target, Access) else stmt.target.name
    cursor = {m: 3 + (index + i) % 5 for i, m in enumerate(target.memories)}
    role = {m: info.role for m, info in target.memories.items()}  # memory name -> its role
    descriptor = [n for n, o in sem.operands.items()
                  if roles[n] == "param" and role.get(o.scope) == DESCRIPTOR_MEMORY]
    out: list[Placement] = []
    for name, op in sem.operands.items():
        if not op.scope:
            if op.shape:
                raise CheckError(f"{sem.name}: {name} has no memory but a shape; only scalar "
                                 "immediates live outside memories")
            out.append(Placement(name, "immediate", "", "", op.dtype, 0, 0, 0, 0, 0, 0,
                                 int(case.inputs[name]), 1, False, False, None))
            continue
        mem = target.memories[op.scope]
        if name in descriptor:
            if name != descriptor[0]:
                continue  # the first descriptor param carries the whole descriptor
            row_bytes, mem_c = _memory(target, sem, name, op.scope, True, False)
            q = 1 + index % 4
            if DESCRIPTOR_ROWS * (q + 1) > mem.rows:
                q = 0
            table = _descriptor_image(sem, descriptor, case, mem.row_elems, rng)
            for n in descriptor:
                # Its rows are loaded and accessed once, for the first param.
                out.append(Placement(n, "descriptor", op.scope, mem_c, mem.dtype,
                                     DESCRIPTOR_ROWS * q, DESCRIPTOR_ROWS if n == name else 0,
                                     q, q, 0, 0, 0,
                                     mem.row_elems, n == name, False,
                                     table if n == name else None, row_bytes))
            continue
        lanes = ext[op.shape[-1]] if op.shape else 1
        if lanes > mem.row_elems:
            raise CheckError(f"{sem.name}: {name}'s lane axis {op.shape[-1]} = {lanes} exceeds "
                             f"the {mem.row_elems} lanes of memory {op.scope}")
        rows = math.prod(ext[a] for a in op.shape[:-1])
        strides = _row_strides(op.shape, ext)
        streamed = outer in strides or inner in strides
        align = 1 if streamed else rows  # whole tiles start at a multiple of their size
        row = -(-cursor[op.scope] // align) * align
        cursor[op.scope] = row + rows + 1
        if row + rows > mem.rows:
            raise CheckError(f"{sem.name}: {name} needs rows {row}..{row + rows - 1} of "
                             f"{op.scope}, which has {mem.rows}")
        fo = strides.get(outer, 0) * (iter_in if outer == inner else 1)
        fi = strides.get(inner, 0)
        image = None
        if op.kind != "output":
            values = np.asarray(case.inputs[name], np.int64).reshape(rows, lanes)
            image = np.zeros((rows, mem.row_elems), np.int64)
            image[:, :lanes] = values
        store = name == result
        row_bytes, mem_c = _memory(target, sem, name, op.scope, image is not None, store)
        out.append(Placement(name, "data", op.scope, mem_c, mem.dtype, row, rows,
                             row, row // align, fo, fi, 0, lanes, image is not None, store,
                             image, row_bytes))
    shape = tuple(ext[a] for a in sem.operands[result].shape)
    return Layout(tuple(out), iter_out, iter_in, result, shape)


def decode(p: Placement, raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """The operand's values from the DRAM bytes its rows were stored to."""
    rows = np.frombuffer(raw, dtype=np.dtype(p.dtype).newbyteorder("<")).reshape(p.rows, -1)
    return rows[:, :p.lanes].reshape(shape).copy()


def dram_bytes(p: Placement) -> int:
    """Bytes of the operand's DRAM image: its rows, little-endian and contiguous."""
    return p.rows * p.row_bytes
