"""Vendor C templates: a sandboxed, budgeted Jinja environment and the dry-run contexts.

Templates are untrusted input, so they render in a SandboxedEnvironment with
StrictUndefined: a misspelt field is an error at validate time, not a silent
empty string in generated C. Rendering is also bounded (docs/target_yaml.md,
"Limits"): time, output size, repetition and power operands, filter widths and
recursion; files load only from inside the templates directory; and the C they
produce may not #include a file outside the build (an absolute or `..` path
would make gcc read, and echo in its errors, any file of the user's). Every
violation is a jinja2.TemplateError, which the checks report at the template's
target.yaml field. The dry-run contexts below are the documented contract
between target.yaml and the C code generator.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader, StrictUndefined, Template
from jinja2.exceptions import TemplateError, TemplateNotFound, TemplateRuntimeError
from jinja2.sandbox import SandboxedEnvironment

# Budgets of one render (the outermost: a template including others shares it).
MAX_SECONDS = 10.0  # VENDOR_SDK_TEMPLATE_SECONDS overrides (the tests use 1)
MAX_OUTPUT = 16 << 20  # characters: the reference's largest render is ~30 KB
MAX_POWER_BITS = 1 << 16  # an int from ** (10 ** 10 ** 10 would take minutes)
# Address space a render may add to the process (Linux, main thread): what `~` doubling a
# namespace's string 40 times would otherwise take from the machine (16 GiB and more).
MAX_MEMORY = 1 << 30


class TemplateBudgetError(TemplateRuntimeError):
    """A render went over a budget, or would let generated C read outside the build."""


def _seconds() -> float:
    try:
        return float(os.environ.get("VENDOR_SDK_TEMPLATE_SECONDS", MAX_SECONDS))
    except ValueError:
        return MAX_SECONDS


_armed = threading.local()


def _on_alarm(signum: int, frame: object) -> None:
    raise TemplateBudgetError(f"rendering took more than {_seconds():g} s (the template "
                              "budget; a loop too large?)")


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (None where /proc is not there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def _memory_cap() -> Iterator[None]:
    """RLIMIT_AS at the current size plus MAX_MEMORY: an allocation past it is a
    MemoryError inside the render, not the machine's memory."""
    size = _address_space()
    if size is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + MAX_MEMORY
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield  # already capped lower by the user (ulimit -v)
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextmanager
def _deadline() -> Iterator[None]:
    """SIGALRM after the time budget and the memory cap, in the main thread (signals go
    there only, and the cap is the process's); renders in other threads have the size
    budgets only. Nested renders share the outermost's."""
    if getattr(_armed, "on", False) or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, _seconds())
    _armed.on = True
    try:
        with _memory_cap():
            yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _armed.on = False


# A directive that makes the C compiler read a file: #include / #include_next / #embed
# (or the %: digraph, the ??= trigraph), after line splices are joined. Its operand must
# be a literal, relative header name without `..`; a computed (macro) operand is refused.
_DIRECTIVE = re.compile(r"^[ \t]*(?:#|%:|\?\?=)[ \t]*(include_next|include|embed|import)\b"
                        r"(.*)$", re.MULTILINE)
_HEADER = re.compile(r'\s*(?:"([^"\n]*)"|<([^>\n]*)>)')
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def check_includes(text: str) -> None:
    """Raise TemplateBudgetError when C ``text`` would read a file outside the build.

    Scanned as written and with /* */ comments blanked (the preprocessor reads
    `#/**/include` as `#include`; a "/*" inside a string literal must not hide one)."""
    joined = text.replace("\\\n", "")
    for variant in (joined, _COMMENT.sub(" ", joined)):
        _check_directives(variant)
    if ".incbin" in joined:
        raise TemplateBudgetError("the output uses .incbin (reads a file into the object); "
                                  "generated C may not read files")


def _check_directives(text: str) -> None:
    for m in _DIRECTIVE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        h = _HEADER.match(m.group(2))
        name = (h.group(1) if h.group(1) is not None else h.group(2)) if h else None
        if name is None:
            raise TemplateBudgetError(f"line {line} of the output: #{m.group(1)} of a computed "
                                      "name; write the header name literally")
        if name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name) or \
                re.match(r"[A-Za-z]:", name):
            raise TemplateBudgetError(f"line {line} of the output: #{m.group(1)} {name!r} "
                                      "reaches outside the build; name headers relative to "
                                      "runtime.include directories")


class BoundedTemplate(Template):
    """A template whose render keeps to the budgets and whose output includes no file from
    outside the build."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with _deadline():
            try:
                parts: list[str] = []
                size = 0
                for chunk in self.generate(*args, **kwargs):
                    size += len(chunk)
                    if size > MAX_OUTPUT:
                        raise TemplateBudgetError(f"output over {MAX_OUTPUT:,} characters "
                                                  "(the template budget)")
                    parts.append(chunk)
            except TemplateError:
                raise
            except RecursionError:
                raise TemplateBudgetError("recursion too deep (a macro calling itself "
                                          "without end?)") from None
            except MemoryError:
                raise TemplateBudgetError(f"out of memory while rendering (the template budget: "
                                          f"{MAX_MEMORY >> 20:,} MiB)") from None
            # anything else a template can raise (OverflowError from range() over the
            # sandbox's 100,000, ZeroDivisionError, TypeError, ...) is the template's mistake
            except Exception as e:
                raise TemplateRuntimeError(f"{type(e).__name__}: {e}") from None
        out = "".join(parts)
        check_includes(out)
        return out


class InsideLoader(FileSystemLoader):
    """Templates only from inside ``root``: a symlink resolving outside it is not found."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root.resolve()

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            raise TemplateNotFound(template, f"{template!r} resolves outside {self.root} "
                                   "(a symlink?); templates must be files inside it")
        return source, filename, uptodate


def _big(value: object) -> bool:
    return isinstance(value, int) and abs(value) > MAX_OUTPUT


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with repetition and power operands and filter widths bounded."""

    template_class = BoundedTemplate
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            seq, n = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, str | list | tuple) and isinstance(n, int) and \
                    len(seq) * n > MAX_OUTPUT:
                raise TemplateBudgetError(f"repeating {len(seq):,} items {n:,} times is over "
                                          f"{MAX_OUTPUT:,} (the template budget)")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and \
                right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_POWER_BITS:
            raise TemplateBudgetError(f"{left} ** {right} is over {MAX_POWER_BITS} bits "
                                      "(the template budget)")
        return super().call_binop(context, operator, left, right)


def _bounded_filter(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` refusing integer arguments over MAX_OUTPUT (center(10**10), slice, indent)."""
    skip = 2 if hasattr(f, "jinja_pass_arg") else 1  # the context, then the value

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if any(_big(a) for a in args[skip:]) or any(_big(v) for v in kwargs.values()):
            raise TemplateBudgetError(f"filter {name}: an argument over {MAX_OUTPUT:,} "
                                      "(the template budget)")
        return f(*args, **kwargs)

    for attr in ("jinja_pass_arg",):  # pass_context / pass_environment markers
        if hasattr(f, attr):
            setattr(bounded, attr, getattr(f, attr))
    return bounded


def environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    loader: BaseLoader | None = InsideLoader(templates_dir) if templates_dir is not None \
        else None
    return BoundedEnvironment(loader=loader, undefined=StrictUndefined, autoescape=False,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class CExpr(str):
    """A C expression an emit snippet pastes into C. Arithmetic on it in Jinja would act on
    the text (``3 * "row"`` repeats it, ``row + "1"`` appends): it is refused with a hint
    to write the arithmetic in C, where it belongs."""

    __slots__ = ()

    def _refuse(self, *_: object) -> str:
        raise TypeError(f"{str(self)!r} is a C expression (text), not a number: write the "
                        f"arithmetic in C around it, e.g. 3 * ({{{{ field }}}}), not "
                        f"{{{{ 3 * field }}}}")

    __add__ = __radd__ = __mul__ = __rmul__ = __mod__ = __rmod__ = _refuse
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = _refuse
    __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = _refuse


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

    def __post_init__(self) -> None:
        for name in ("row", "tile", "fo", "fi", "value"):
            object.__setattr__(self, name, CExpr(getattr(self, name)))


def emit_context(operands: list[str], params: dict[str, int], variant: str = "") -> dict[str, Any]:
    """The names an intrinsic's `emit` snippet sees, with dry-run placeholder values."""
    ctx: dict[str, Any] = {"ctx": CExpr("ctx"), "deps": CExpr("0"), "variant": variant,
                           "iter_out": CExpr("1"), "iter_in": CExpr("1"),
                           "params": dict(params)}
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
