"""The wizard's questions, asked as plain text prompts that show their choices.

Copier's own prompts are arrow-key lists: they draw nothing on some terminals and
ignore typed values (typing "16" at DIM kept 8). Here every question is a line: the
help, the choices in brackets, the default; the answer is typed, checked against the
type and choices, and asked again when it does not fit. Copier still renders the
skeleton and runs the skeleton's validators (skeleton.render), with every answer given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jinja2
import typer
from jinja2.sandbox import SandboxedEnvironment

from vendor_sdk.wizard.skeleton import WizardError

# A question as copier.yml spells it: type, help, default, choices, multiselect, when.
Spec = Mapping[str, Any]
Reader = Callable[..., Any]  # typer.prompt's signature

_FALSE = {"", "false", "no", "off", "0", "none", "n"}


def environment(envops: Mapping[str, Any]) -> jinja2.Environment:
    """Jinja as copier renders the skeleton's defaults and `when` conditions."""
    env = SandboxedEnvironment(**{k: v for k, v in envops.items()
                                  if k.endswith("_string")})
    try:  # copier's default filters (regex_search in the skeleton's validators)
        from jinja2_ansible_filters import AnsibleCoreFiltersExtension

        env.add_extension(AnsibleCoreFiltersExtension)
    except ImportError:
        pass
    return env


def _render(env: jinja2.Environment, value: Any, answers: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and (env.variable_start_string in value
                                   or env.block_start_string in value):
        return env.from_string(value).render(**answers)
    return value


def applies(env: jinja2.Environment, spec: Spec, answers: Mapping[str, Any]) -> bool:
    """A question's `when` (copier's truthiness of the rendered text)."""
    when = spec.get("when", True)
    if isinstance(when, bool):
        return when
    return str(_render(env, when, answers)).strip().lower() not in _FALSE


def default(env: jinja2.Environment, spec: Spec, answers: Mapping[str, Any]) -> Any:
    value = spec.get("default")
    if isinstance(value, list):
        return [_render(env, v, answers) for v in value]
    value = _render(env, value, answers)
    return convert(spec, value) if isinstance(value, str) and spec.get("type") == "int" \
        else value


def _choices(spec: Spec) -> list[str]:
    choices = spec.get("choices") or []
    return [str(c) for c in (choices.keys() if isinstance(choices, Mapping) else choices)]


def convert(spec: Spec, text: Any) -> Any:
    """A typed answer: the question's type, one of its choices (several, comma-separated,
    for a multiselect). Raises typer.BadParameter with what fits instead."""
    choices = _choices(spec)
    if spec.get("multiselect"):
        items = text if isinstance(text, list) else \
            [t.strip() for t in str(text).split(",") if t.strip()]
        bad = [str(i) for i in items if choices and str(i) not in choices]
        if bad:
            raise typer.BadParameter(f"{', '.join(bad)}: not among {', '.join(choices)}")
        return [str(i) for i in items]
    if spec.get("type") == "int":
        try:
            value: Any = int(str(text).strip())
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not an integer") from None
    else:
        value = str(text).strip()
    if choices and str(value) not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
    return value


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def ask_one(name: str, spec: Spec, preset: Any, read: Reader) -> Any:
    """Prompt for one answer (``preset`` is the default offered)."""
    choices = spec.get("choices")
    text = spec.get("help") or name
    if isinstance(choices, Mapping):  # choices with a description each: one per line
        typer.echo(f"{text}:")
        for c, what in choices.items():
            typer.echo(f"  {c:<16} {what}")
        text = f"{text} ({'/'.join(map(str, choices))})"
    elif choices:
        sep = ", " if spec.get("multiselect") else "/"
        text += f" ({sep.join(map(str, choices))}" + \
            ("; comma-separated)" if spec.get("multiselect") else ")")
    try:
        return read(text, default=_shown(preset) if preset is not None else None,
                    value_proc=lambda t: convert(spec, t))
    except typer.Abort:
        raise WizardError(f"no answer for {name!r} (input ended): answer it with "
                          f"-d {name}=VALUE, or use --defaults") from None


def ask(questions: Mapping[str, Spec], answers: Mapping[str, Any], env: jinja2.Environment,
        defaults: bool, read: Reader = typer.prompt) -> dict[str, Any]:
    """Every applicable question's answer, in question order: given ones checked, the
    rest asked (or their defaults, with ``defaults``). Questions whose `when` is false are
    left out."""
    out: dict[str, Any] = {}
    for name, spec in questions.items():
        if name in out or not applies(env, spec, {**answers, **out}):
            continue
        if name in answers:
            try:
                out[name] = convert(spec, answers[name])
            except typer.BadParameter as e:
                raise WizardError(f"--data {name}={_shown(answers[name])}: {e.message}") \
                    from None
            continue
        preset = default(env, spec, {**answers, **out})
        if defaults:
            if preset is None:
                raise WizardError(f"question {name!r} has no default: answer it with "
                                  f"-d {name}=VALUE")
            out[name] = convert(spec, preset)
        else:
            out[name] = ask_one(name, spec, preset, read)
    return out
