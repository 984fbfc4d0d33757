"""Load and check the ISA table (isa.yaml) into frozen values.

The table is the single source of truth for the bit layout; the checks here
are what keep a layout edit from silently producing overlapping fields or an
address field that cannot reach the end of its memory.
"""

from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass
from typing import Any

import yaml

ISA_YAML = pathlib.Path(__file__).with_name("isa.yaml")
DEP_FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")


class IsaError(ValueError):
    """The ISA table is inconsistent; the message names the entry and why."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    lsb: int
    width: int
    signed: bool = False
    enum: str | None = None
    max_expr: str | None = None
    doc: str = ""

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1


@dataclass(frozen=True, slots=True)
class Instruction:
    name: str
    opcode: int
    unit: str
    doc: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Enum:
    name: str
    prefix: str
    width: int
    values: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: int
    c_field: str
    doc: str


@dataclass(frozen=True, slots=True)
class Register:
    name: str
    offset: int
    counter: bool
    doc: str


@dataclass(frozen=True, slots=True)
class IsaTable:
    insn_bits: int
    params: tuple[Param, ...]
    header: tuple[Field, ...]
    enums: tuple[Enum, ...]
    instructions: tuple[Instruction, ...]
    registers: tuple[Register, ...]
    status: tuple[Field, ...]

    def enum(self, name: str) -> Enum:
        return next(e for e in self.enums if e.name == name)

    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.params}


def _field(raw: dict[str, Any], where: str) -> Field:
    try:
        msb, lsb = raw["bits"]
    except (KeyError, ValueError) as exc:
        raise IsaError(f"{where}: 'bits' must be [msb, lsb]") from exc
    if msb < lsb or lsb < 0:
        raise IsaError(f"{where}: bits [{msb}, {lsb}] are reversed or negative")
    return Field(
        name=raw["name"],
        lsb=lsb,
        width=msb - lsb + 1,
        signed=bool(raw.get("signed", False)),
        enum=raw.get("enum"),
        max_expr=raw.get("max"),
        doc=raw.get("doc", ""),
    )


def _enum_width(name: str, raw: dict[str, Any]) -> int:
    """An enum without an explicit width takes the width of the first field using it."""
    candidates = list(raw["header"])
    for insn in raw["instructions"].values():
        candidates += insn["fields"]
    for f in candidates:
        if f.get("enum") == name:
            msb, lsb = f["bits"]
            return int(msb - lsb + 1)
    raise IsaError(f"enum {name}: no field uses it and it has no 'width'")


def eval_expr(expr: str, env: dict[str, int]) -> int:
    """Evaluate a `max:` expression: integers, parameter names, + - * //, max()."""

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.FloorDiv):
                return left // right
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "max"
            and not node.keywords
        ):
            return max(walk(arg) for arg in node.args)
        raise IsaError(f"unsupported expression {ast.dump(node)} in {expr!r}")

    return walk(ast.parse(expr, mode="eval"))


def parse(raw: dict[str, Any]) -> IsaTable:
    """Build an IsaTable from the YAML mapping and check it (raises IsaError)."""
    params = tuple(
        Param(name, int(p["default"]), p["c"], p.get("doc", ""))
        for name, p in raw["params"].items()
    )
    header = tuple(_field(f, f"header.{f.get('name')}") for f in raw["header"])
    enums = tuple(
        Enum(
            name,
            e["prefix"],
            int(e.get("width") or _enum_width(name, raw)),
            tuple((k, int(v)) for k, v in e["values"].items()),
        )
        for name, e in raw["enums"].items()
    )
    opcodes = dict(next(e for e in enums if e.name == "opcode").values)
    instructions = []
    for name, insn in raw["instructions"].items():
        if name not in opcodes:
            raise IsaError(f"instruction {name}: no opcode enum value")
        fields = tuple(_field(f, f"{name}.{f.get('name')}") for f in insn["fields"])
        instructions.append(Instruction(name, opcodes[name], insn["unit"], insn["doc"], fields))
    registers = tuple(
        Register(r["name"], int(r["offset"]), bool(r.get("counter", False)), r.get("doc", ""))
        for r in raw["registers"]
    )
    status = tuple(_field(f, f"status.{f.get('name')}") for f in raw["status"])
    table = IsaTable(
        int(raw["insn_bits"]), params, header, enums, tuple(instructions), registers, status
    )
    check(table)
    return table


def _check_layout(where: str, fields: tuple[Field, ...], bits: int) -> None:
    owner: dict[int, str] = {}
    for f in fields:
        if f.msb >= bits:
            raise IsaError(f"{where}.{f.name}: bits [{f.msb}, {f.lsb}] pass bit {bits - 1}")
        for bit in range(f.lsb, f.msb + 1):
            if bit in owner:
                raise IsaError(f"{where}.{f.name}: bit {bit} overlaps field {owner[bit]}")
            owner[bit] = f.name
    names = [f.name for f in fields]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise IsaError(f"{where}: duplicate field names {sorted(dupes)}")


def check(table: IsaTable) -> None:
    """Reject overlaps, overflow past insn_bits, enums too wide and short address fields."""
    env = table.defaults()
    enums = {e.name: e for e in table.enums}
    for enum in table.enums:
        values = [v for _, v in enum.values]
        if len(set(values)) != len(values):
            raise IsaError(f"enum {enum.name}: duplicate values")
        if max(values) >= 1 << enum.width or min(values) < 0:
            raise IsaError(f"enum {enum.name}: values do not fit {enum.width} bits")
    for insn in table.instructions:
        fields = table.header + insn.fields
        _check_layout(insn.name, fields, table.insn_bits)
        for f in fields:
            if f.enum is not None:
                if f.enum not in enums:
                    raise IsaError(f"{insn.name}.{f.name}: unknown enum {f.enum}")
                top = max(v for _, v in enums[f.enum].values)
                if top >= 1 << f.width:
                    raise IsaError(
                        f"{insn.name}.{f.name}: enum {f.enum} value {top} needs more than "
                        f"{f.width} bits"
                    )
            if f.max_expr is not None:
                need = eval_expr(f.max_expr, env)
                if need >= 1 << f.width:
                    raise IsaError(
                        f"{insn.name}.{f.name}: {f.width} bits cannot hold {f.max_expr} = "
                        f"{need} with the default parameters"
                    )
    offsets: dict[int, str] = {}
    for reg in table.registers:
        for off in range(reg.offset, reg.offset + (8 if reg.counter else 4), 4):
            if off in offsets:
                raise IsaError(f"register {reg.name}: offset {off:#x} used by {offsets[off]}")
            offsets[off] = reg.name
    _check_layout("STATUS", table.status, 32)
    # Drivers read the four dependency flags as one 4-bit deps mask.
    flags = [(f.name, f.lsb, f.width) for f in table.header[1:]]
    first = table.header[1].lsb if len(table.header) > 1 else 0
    expected = [(n, first + i, 1) for i, n in enumerate(DEP_FLAGS)]
    if table.header[0].name != "opcode" or flags != expected:
        raise IsaError(f"header must be opcode then {', '.join(DEP_FLAGS)} in consecutive bits")
    dim = env["DIM"]
    if dim < 3 or 256 % dim:
        raise IsaError(f"DIM={dim}: must divide 256 and be >= 3 (REQ reads zp, lo, hi lanes)")


def load(path: pathlib.Path = ISA_YAML) -> IsaTable:
    with path.open() as fh:
        return parse(yaml.safe_load(fh))
