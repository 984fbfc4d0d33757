"""Load, check and dump target descriptions.

    target.yaml --read_source--> node tree + data --pydantic--> TargetSpec
                --check_target--> Target (params, memories, intrinsic semantics)

Schema errors and semantic errors are gathered into one TargetError: when the
schema fails, the sections that do validate on their own are still checked,
and names present in the file count as declared, so one typo does not
cascade into follow-on errors elsewhere.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from vendor_sdk.intrinsics.check import did_you_mean
from vendor_sdk.intrinsics.semantics import Semantics
from vendor_sdk.target.checks import MemoryInfo, check_target
from vendor_sdk.target.contract_checks import check_contract
from vendor_sdk.target.errors import Diagnostic, TargetError
from vendor_sdk.target.lowering import Lowering, lowering_of
from vendor_sdk.target.model import (
    SCHEMA_VERSION,
    CounterSpec,
    IntrinsicSpec,
    Memory,
    MovementSpec,
    PatternSpec,
    RuntimeSpec,
    SimSpec,
    TargetSpec,
)
from vendor_sdk.target.roles import check_roles, resolve
from vendor_sdk.target.source import Source, read_source


@dataclass(frozen=True)
class Target:
    """A checked target: its spec plus what the SDK derives from it."""

    spec: TargetSpec
    path: Path = field(compare=False)  # the target.yaml
    memories: dict[str, MemoryInfo] = field(compare=False)
    semantics: dict[str, Semantics] = field(compare=False)  # per intrinsic
    # per pattern, typed once here: the code generator looks a composite's up by its pattern
    lowerings: dict[str, Lowering] = field(compare=False, default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.target

    @property
    def params(self) -> dict[str, int]:
        return dict(self.spec.params)

    def memory(self, role: str) -> MemoryInfo | None:
        """The memory the code generator uses for ``role`` (vendor_sdk.target.roles)."""
        return next((m for m in self.memories.values() if m.role == role), None)

    @property
    def templates_dir(self) -> Path:
        return self.path.parent / self.spec.templates


def _annotation_model(tp: Any) -> Any:
    """Strip Annotated/Optional wrappers down to the class or container."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """Field names (aliases) of the model that owns the last part of loc."""
    tp: Any = TargetSpec
    for part in loc[:-1]:
        tp = _annotation_model(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or n: f for n, f in tp.model_fields.items()}
            if part not in fields:
                return []
            tp = fields[str(part)].annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        else:
            return []
    tp = _annotation_model(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _schema_diagnostic(src: Source, err: ErrorDetails) -> Diagnostic:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = did_you_mean(str(loc[-1]), allowed) or (
            "allowed keys: " + ", ".join(allowed) if allowed else "")
        return src.diag(loc, f"unknown key {loc[-1]!r}", hint, key=True)
    if kind == "missing":
        return src.diag(loc, f"missing required key {loc[-1]!r}",
                        f"add `{loc[-1]}: ...` here", key=True)
    if loc and loc[-1] == "[key]":
        return src.diag(loc[:-1], f"invalid name {loc[-2]!r}: {err['msg']}",
                        "names are identifiers: letters, digits and _", key=True)
    if kind == "literal_error":
        expected = str((err.get("ctx") or {}).get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        hint = did_you_mean(str(err.get("input")), choices) or f"expected {expected}"
        if loc == ("schema_version",):
            hint = f"this SDK reads schema_version {SCHEMA_VERSION}"
        return src.diag(loc, f"{err['msg']}, got {err.get('input')!r}", hint)
    return src.diag(loc, err["msg"], _HINTS.get(kind, "see docs/target_yaml.md for this field"))


_HINTS = {
    "string_pattern_mismatch": "names are identifiers: letters, digits and _",
    "int_type": "write an integer", "int_parsing": "write an integer",
    "string_type": "write a string (quote it if YAML reads it as something else)",
    "list_type": "write a list, e.g. [a, b]",
    "dict_type": "write a mapping, e.g. {key: value}",
    "model_type": "write a mapping, e.g. {key: value}",
    "model_attributes_type": "write a mapping, e.g. {key: value}",
    "bool_type": "write true or false",
    "too_short": "write a [low, high] pair", "too_long": "write a [low, high] pair",
    "greater_than_equal": "use a larger value", "less_than_equal": "use a smaller value",
    "int_or_expr": "e.g. 8, DIM or 'DIM * 2'",
    "lower_mode": "e.g. lower: {tensorize: [gemm]} or lower: {template: kernel.c.j2}",
}


def _salvage(data: Any) -> tuple[TargetSpec, dict[str, set[str]]]:
    """The parts of an invalid document that validate on their own."""
    data = data if isinstance(data, dict) else {}

    def names(key: str) -> set[str]:
        raw = data.get(key)
        return {str(k) for k in raw} if isinstance(raw, dict) else set()

    def each(key: str, model: type[BaseModel]) -> dict[str, Any]:
        raw = data.get(key)
        out: dict[str, Any] = {}
        for k, v in (raw.items() if isinstance(raw, dict) else ()):
            try:
                out[str(k)] = model.model_validate(v)
            except ValidationError:
                pass
        return out

    raw_params = data.get("params")
    params = {k: v for k, v in raw_params.items() if isinstance(k, str) and type(v) is int} \
        if isinstance(raw_params, dict) else {}
    try:
        sim = SimSpec.model_validate(data["sim"]) if data.get("sim") is not None else None
    except ValidationError:
        sim = None
    templates = data.get("templates")

    def section(key: str, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(data[key]) if data.get(key) is not None else None
        except ValidationError:
            return None

    spec = TargetSpec.model_construct(
        schema_version=SCHEMA_VERSION, target=str(data.get("target", "")), params=params,
        memories=each("memories", Memory), intrinsics=each("intrinsics", IntrinsicSpec),
        patterns=each("patterns", PatternSpec),
        templates=templates if isinstance(templates, str) else "templates", sim=sim,
        runtime=section("runtime", RuntimeSpec), movement=section("movement", MovementSpec),
        counters=each("counters", CounterSpec), peak_macs_per_cycle=None)
    known = {k: names(k) for k in ("memories", "intrinsics", "patterns")}
    known["top"] = {str(k) for k in data}
    return spec, known


def _templates_outside(spec: TargetSpec, base: Path) -> str | None:
    """Why `templates:` reaches outside the target's directory (absolute, `..`, or a
    symlink out), or None: a target renders only its own files into generated C."""
    tdir = base / spec.templates
    if not tdir.resolve().is_relative_to(base.resolve()):
        return f"templates {spec.templates!r} is outside the target's directory {base}"
    return None


def load_target_text(text: str, path: Path) -> Target:
    """Check a target description given as text; `path` names it and anchors relative paths."""
    src = read_source(str(path), text)
    diagnostics = list(src.problems)
    try:
        spec = TargetSpec.model_validate(src.data)
        known = {k: set(getattr(spec, k)) for k in ("memories", "intrinsics", "patterns")}
        known["top"] = {str(k) for k in src.data}
    except ValidationError as e:
        seen: set[tuple[int, int, str]] = set()
        for err in e.errors():
            d = _schema_diagnostic(src, err)
            if (d.line, d.col, d.message) not in seen:
                seen.add((d.line, d.col, d.message))
                diagnostics.append(d)
        spec, known = _salvage(src.data)
    escape = _templates_outside(spec, path.parent)
    if escape is not None:  # checked first: the other checks would render from there
        raise TargetError([*diagnostics, src.diag(("templates",), escape,
                                                  "templates: a directory inside the "
                                                  "target's, e.g. templates")])
    checked = check_target(spec, src, path.parent, known)
    diagnostics += checked.diagnostics
    check_roles(spec, checked.semantics,
                lambda loc, msg, hint: diagnostics.append(src.diag(loc, msg, hint, key=True)))
    check_contract(spec, path.parent, lambda loc, msg, hint: diagnostics.append(
        src.diag(loc, msg, hint, key=len(loc) <= 1)))
    if diagnostics:
        raise TargetError(diagnostics)
    return Target(spec, path, resolve(spec, checked.memories), checked.semantics,
                  {n: lowering_of(p.lower) for n, p in spec.patterns.items()})


def load_target(path: str | Path) -> Target:
    """Load and check a target.yaml (or a directory holding one); raises TargetError."""
    p = Path(path)
    if p.is_dir():
        # A plugin package root (what `vendor-sdk init` makes) holds it one level down.
        nested = sorted(p.glob("*/target.yaml"))
        p = p / "target.yaml" if (p / "target.yaml").exists() or len(nested) != 1 else nested[0]
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise TargetError([Diagnostic(str(p), 1, 1, "(file)", f"cannot read: {reason}",
                                      "give a target.yaml, its directory, or a target name "
                                      "from `vendor-sdk targets`")]) from None
    return load_target_text(text, p)


def dump_target(spec: TargetSpec) -> str:
    """YAML text that loads back to an equal TargetSpec (defaults left out)."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"schema_version": spec.schema_version, **data}
    return yaml.safe_dump(data, sort_keys=False, width=100)
