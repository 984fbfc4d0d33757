"""The built-in op table: every op the graph IR knows, by ONNX name.

Families are listed explicitly; adding an op means adding its OpDef to a
family's ``OPS`` tuple.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.ops import conv, elementwise, indexing, nn, norm, pool, quant, reduce, resize, shape
from core.ops.registry import AttrSpec, InferArgs, OpDef, OpError

_FAMILIES = (elementwise, conv, pool, norm, nn, quant, shape, indexing, reduce, resize)


def _table() -> Mapping[str, OpDef]:
    table: dict[str, OpDef] = {}
    for family in _FAMILIES:
        for op in family.OPS:
            if op.name in table:
                raise RuntimeError(f"op {op.name} defined twice ({family.__name__})")
            table[op.name] = op
    return table


OPS: Mapping[str, OpDef] = _table()


def get_op(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise OpError(f"unknown op '{name}'") from None


__all__ = ["OPS", "AttrSpec", "InferArgs", "OpDef", "OpError", "get_op"]
