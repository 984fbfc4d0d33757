"""One parse of an intrinsic's `compute` (and variants), three products.

`build_semantics` parses and checks every statement once; the resulting
`Semantics` gives the bit-exact numpy reference, the canonical loop nest the
tensorizer matches, and test stimulus drawn from dtypes, ranges and corners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.errors import VendorSdkError
from vendor_sdk.intrinsics.check import Axis, Operand, check_compute
from vendor_sdk.intrinsics.lang import Assign, ExprError, parse_compute
from vendor_sdk.intrinsics.loopnest import LoopNest, loop_nest
from vendor_sdk.intrinsics.reference import evaluate

CORNERS = ("min", "max", "zero", "edges", "random")
OVERFLOW_RULES = ("wrap", "saturate")
# Streaming axes can be long (m up to 1023 on the reference NPU); stimulus keeps
# them short so checking an intrinsic stays fast, but always includes the minimum.
STIMULUS_EXTENT_CAP = 16


class SemanticsError(VendorSdkError):
    """Mistakes in one intrinsic's statements: (field, error) with field
    "compute" or "variants.<name>" and a column inside that string."""

    def __init__(self, errors: list[tuple[str, ExprError]]) -> None:
        super().__init__("; ".join(f"{f}: {e}" for f, e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Case:
    """One stimulus: a name for reports, axis extents and input arrays."""

    name: str
    extents: Mapping[str, int]
    inputs: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Semantics:
    name: str
    operands: Mapping[str, Operand]
    axes: Mapping[str, Axis]  # in declaration order
    params: Mapping[str, int]
    overflow: str
    statements: Mapping[str, Assign]  # "" is the main compute, then the variants

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.statements)

    @property
    def inputs(self) -> tuple[Operand, ...]:
        """Operands the statements read: inputs and inouts."""
        return tuple(o for o in self.operands.values() if o.kind != "output")

    @property
    def outputs(self) -> tuple[Operand, ...]:
        return tuple(o for o in self.operands.values() if o.kind != "input")

    def loop_nest(self, variant: str = "") -> LoopNest:
        return loop_nest(self.name, variant, self.statements[variant], self.operands,
                         self.axes, self.params, self.overflow)

    def extents_of(self, inputs: Mapping[str, np.ndarray]) -> dict[str, int]:
        """Axis extents from the input shapes, checked against each other and `axes`."""
        extents: dict[str, int] = {}
        for op in self.inputs:
            if op.name not in inputs:
                raise ValueError(f"{self.name}: missing input {op.name!r}")
            shape = np.shape(inputs[op.name])
            if len(shape) != len(op.shape):
                raise ValueError(f"{self.name}: {op.name} has shape {shape}, expected rank "
                                 f"{len(op.shape)} ({', '.join(op.shape)})")
            for axis, n in zip(op.shape, shape, strict=True):
                if extents.setdefault(axis, n) != n:
                    raise ValueError(f"{self.name}: axis {axis} is {extents[axis]} and {n}")
        for ax in self.axes.values():
            n = extents.get(ax.name)
            if n is None:  # only written or only reduced over a fixed extent
                if ax.min != ax.max:
                    raise ValueError(f"{self.name}: extent of axis {ax.name} is unknown")
                extents[ax.name] = ax.min
            elif not ax.min <= n <= ax.max:
                raise ValueError(f"{self.name}: axis {ax.name} = {n} is outside "
                                 f"[{ax.min}, {ax.max}]")
        return extents

    def reference(self, inputs: Mapping[str, np.ndarray], variant: str = "") -> np.ndarray:
        """The bit-exact result of the statement for these inputs."""
        extents = self.extents_of(inputs)
        for op in self.inputs:
            lo, hi = op.values
            arr = np.asarray(inputs[op.name])
            if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
                raise ValueError(f"{self.name}: {op.name} holds values outside its range "
                                 f"[{lo}, {hi}]")
        return evaluate(self.statements[variant], self.operands, tuple(self.axes), extents,
                        inputs, self.params, self.overflow)

    def pick_extents(self, rng: np.random.Generator, smallest: bool = False) -> dict[str, int]:
        out = {}
        for a in self.axes.values():
            hi = min(a.max, max(a.min, STIMULUS_EXTENT_CAP))
            out[a.name] = a.min if smallest else int(rng.integers(a.min, hi, endpoint=True))
        return out

    def stimulus(self, corner: str, extents: Mapping[str, int],
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Inputs of the given corner kind (see CORNERS) for these extents."""
        if corner not in CORNERS:
            raise ValueError(f"unknown corner {corner!r}; known: {', '.join(CORNERS)}")
        arrays = {}
        for op in self.inputs:
            lo, hi = op.values
            shape = tuple(extents[a] for a in op.shape)
            if corner == "random":
                v = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
            elif corner == "edges":
                # Extremes and the values next to zero: where wrap, saturation and
                # rounding ties (small shifts) show up.
                picks = sorted({min(max(x, lo), hi) for x in (lo, lo + 1, -1, 0, 1, hi - 1, hi)})
                v = rng.choice(np.array(picks, dtype=np.int64), size=shape)
            else:
                fill = {"min": lo, "max": hi, "zero": min(max(0, lo), hi)}[corner]
                v = np.full(shape, fill, dtype=np.int64)
            arrays[op.name] = np.asarray(v).astype(op.dtype)
        return arrays

    def cases(self, random: int = 8, corners: tuple[str, ...] = ("min", "max", "zero", "edges"),
              seed: int = 0) -> list[Case]:
        """Deterministic stimulus: each corner at the smallest extents, then random cases."""
        rng = np.random.default_rng(seed)
        out = []
        for corner in corners:
            ext = self.pick_extents(rng, smallest=True)
            out.append(Case(corner, ext, self.stimulus(corner, ext, rng)))
        for i in range(random):
            ext = self.pick_extents(rng)
            out.append(Case(f"random{i}", ext, self.stimulus("random", ext, rng)))
        return out


def build_semantics(name: str, operands: Mapping[str, Operand], axes: Mapping[str, Axis],
                    params: Mapping[str, int], compute: str,
                    variants: Mapping[str, str] | None = None,
                    overflow: str = "wrap") -> Semantics:
    """Parse and check every statement; raises SemanticsError listing all mistakes."""
    if overflow not in OVERFLOW_RULES:
        raise ValueError(f"overflow must be one of {OVERFLOW_RULES}, got {overflow!r}")
    sources = {"": compute, **(variants or {})}
    statements: dict[str, Assign] = {}
    errors: list[tuple[str, ExprError]] = []
    for variant, src in sources.items():
        field = f"variants.{variant}" if variant else "compute"
        try:
            stmt = parse_compute(src)
        except ExprError as e:
            errors.append((field, e))
            continue
        found = check_compute(stmt, operands, axes, params)
        errors.extend((field, e) for e in found)
        statements[variant] = stmt
    if errors:
        raise SemanticsError(errors)
    return Semantics(name, dict(operands), dict(axes), dict(params), overflow, statements)
