"""The ISA table (isa.yaml) as Python: checked on load, encode/decode of 64-bit words."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import yaml

from example_npu import ISA_YAML


class IsaError(ValueError):
    """The table is inconsistent, or a field value does not fit."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    lsb: int
    width: int

    @property
    def max(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True, slots=True)
class Insn:
    name: str
    opcode: int
    doc: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise IsaError(f"{self.name} has no field {name!r} (fields: "
                       f"{', '.join(f.name for f in self.fields) or 'none'})")


@dataclass(frozen=True, slots=True)
class Isa:
    bits: int
    opcode: Field
    params: dict[str, tuple[int, str]]  # name -> (default, doc)
    memories: dict[str, int]
    valu_fn: dict[str, int]
    errors: dict[str, int]
    counters: dict[str, str]  # name -> doc, in record order
    insns: dict[str, Insn]

    def encode(self, name: str, **values: int) -> int:
        """The instruction word; unnamed fields are 0, negative values are two's complement."""
        insn = self.insns[name]
        word = insn.opcode << self.opcode.lsb
        for key, value in values.items():
            f = insn.field(key)
            if not -(1 << (f.width - 1)) <= value <= f.max:
                raise IsaError(f"{name}.{key} = {value} does not fit {f.width} bits")
            word |= (value & f.max) << f.lsb
        return word

    def decode(self, word: int) -> tuple[str, dict[str, int]]:
        opcode = (word >> self.opcode.lsb) & self.opcode.max
        for insn in self.insns.values():
            if insn.opcode == opcode:
                return insn.name, {f.name: (word >> f.lsb) & f.max for f in insn.fields}
        raise IsaError(f"opcode {opcode} is not an instruction")


def _check(isa: Isa) -> None:
    """Overlapping fields, fields past the word or over the opcode, duplicate opcodes."""
    seen: dict[int, str] = {}
    for insn in isa.insns.values():
        if insn.opcode in seen or not 0 <= insn.opcode <= isa.opcode.max:
            raise IsaError(f"{insn.name}: opcode {insn.opcode} is taken or does not fit")
        seen[insn.opcode] = insn.name
        used = isa.opcode.max << isa.opcode.lsb
        for f in insn.fields:
            mask = f.max << f.lsb
            if f.lsb + f.width > isa.bits or mask & used:
                raise IsaError(f"{insn.name}.{f.name} [{f.lsb}, {f.width}] overlaps another "
                               f"field or leaves the {isa.bits}-bit word")
            used |= mask


@functools.cache
def load_isa() -> Isa:
    raw = yaml.safe_load(ISA_YAML.read_text())
    insns = {
        name: Insn(name, int(spec["opcode"]), str(spec.get("doc", "")),
                   tuple(Field(f, int(lsb), int(width))
                         for f, (lsb, width) in (spec.get("fields") or {}).items()))
        for name, spec in raw["instructions"].items()
    }
    isa = Isa(
        bits=int(raw["insn_bits"]), opcode=Field("opcode", *raw["opcode"]),
        params={k: (int(v["default"]), str(v.get("doc", ""))) for k, v in raw["params"].items()},
        memories=dict(raw["memories"]), valu_fn=dict(raw["valu_fn"]),
        errors=dict(raw["errors"]), counters=dict(raw["counters"]), insns=insns,
    )
    _check(isa)
    return isa
