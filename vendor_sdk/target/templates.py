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


def kernel_context(name: str, pattern: str, params: dict[str, int], k: str, n: str,
                   addrs: dict[str, str]) -> dict[str, Any]:
    """The names a kernel template sees: what the code generator renders it with
    (region.layer_code, a MatMul layer ``out = x w + b``) and `validate` with placeholders.

    The tensors are the layer's, whatever the pattern calls its own: x int8 [M, K], w int8
    [K, N] in DIM x DIM tiles, b int32 [N] (the input zero point folded in) and `out` int32
    [M, N]; each offers name, addr (a C DRAM address expression), dtype and shape (C extent
    expressions). K and N are padded to DIM; M is the kernel's argument.
    """
    def view(t: str, dtype: str, shape: list[str]) -> dict[str, Any]:
        return {"name": t, "addr": addrs[t], "dtype": dtype, "shape": shape}

    tensors = {"x": view("x", "int8", ["M", k]), "w": view("w", "int8", [k, n]),
               "b": view("b", "int32", [n])}
    return {"name": name, "pattern": pattern, "params": dict(params), "attrs": {},
            "tensors": tensors, "out": view("out", "int32", ["M", n])}
