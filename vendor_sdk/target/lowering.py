"""A pattern's `lower:` as a typed value, built once from target.yaml.

The partitioner carries it on the Pattern (for the report), the code generator looks it up
by pattern name on the Target (``Target.lowering``), and the lowerability check
(vendor_sdk.codegen.lowerable) reads it: nobody formats it to a string and parses it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from vendor_sdk.target.model import Lower


@dataclass(frozen=True, slots=True)
class Tensorize:
    """Compiler-style: the layer runs on exactly these intrinsics (and no others)."""

    intrinsics: tuple[str, ...]

    def __str__(self) -> str:
        return f"tensorize: {', '.join(self.intrinsics)}"


@dataclass(frozen=True, slots=True)
class Template:
    """Library-style: a kernel template file under the target's `templates` directory."""

    file: str

    def __str__(self) -> str:
        return f"template: {self.file}"


Lowering = Tensorize | Template


def lowering_of(spec: Lower) -> Lowering:
    """The typed value of a schema-checked `lower:` (exactly one of the two is set)."""
    if spec.tensorize is not None:
        return Tensorize(tuple(spec.tensorize))
    assert spec.template is not None  # Lower._exactly_one
    return Template(spec.template)
