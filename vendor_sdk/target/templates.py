"""Vendor C templates: a sandboxed Jinja environment and the dry-run contexts.

Templates are untrusted input, so they render in a SandboxedEnvironment with
StrictUndefined: a misspelt field is an error at validate time, not a silent
empty string in generated C. The dry-run contexts below are the documented
contract between target.yaml and the C code generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment


def environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    loader = FileSystemLoader(str(templates_dir)) if templates_dir is not None else None
    return SandboxedEnvironment(loader=loader, undefined=StrictUndefined, autoescape=False,
                                keep_trailing_newline=True, trim_blocks=True,
                                lstrip_blocks=True)


@dataclass(frozen=True, slots=True)
class OperandView:
    """What an `emit` snippet may use of one operand (each a C expression).

    row: first SRAM row (or, for a param in a descriptor memory, the
    descriptor index); tile: row divided by the rows of one tile (weights);
    fo / fi: row strides per step of the outer / inner streamed loop;
    value: the C value of an immediate (scalar param).
    """

    row: str
    tile: str
    fo: str
    fi: str
    value: str


def emit_context(operands: list[str], params: dict[str, int], variant: str = "") -> dict[str, Any]:
    """The names an intrinsic's `emit` snippet sees, with dry-run placeholder values."""
    ctx: dict[str, Any] = {"ctx": "ctx", "deps": "0", "variant": variant,
                           "iter_out": "1", "iter_in": "1", "params": dict(params)}
    for name in operands:
        ctx[name] = OperandView(f"{name}_row", f"{name}_tile", f"{name}_fo", f"{name}_fi",
                                f"{name}_value")
    return ctx


def pattern_context(pattern: str, tensors: dict[str, int], attrs: dict[str, Any],
                    params: dict[str, int]) -> dict[str, Any]:
    """The names a pattern's kernel template sees, with dry-run placeholder values.

    tensors maps a tensor name to its rank; each tensor offers name (C
    identifier), addr (DRAM address expression), dtype and shape (C extent
    expressions, one per dimension); `out` is the pattern's result, alike.
    """
    views = {t: {"name": t, "addr": f"{t}_addr", "dtype": "int8",
                 "shape": [f"{t}_d{i}" for i in range(rank)]} for t, rank in tensors.items()}
    out = {"name": "out", "addr": "out_addr", "dtype": "int8", "shape": ["out_d0", "out_d1"]}
    return {"name": f"{pattern}_0", "pattern": pattern, "tensors": views, "out": out,
            "attrs": dict(attrs), "params": dict(params)}
