"""gcc's complaints about generated C, each traced back to what wrote the failing line.

A vendor's mistakes reach gcc through three doors: an intrinsic's emit snippet (target.yaml
`intrinsics.<name>.emit`), the glue template (`runtime.glue`, rendered whole as
`<model>_runtime.c`) and a template kernel (a pattern's `lower: {template: ...}`). gcc only
knows a line of a generated file, so each of its errors is mapped back: the region file's
layer functions are the LayerCodes' texts in order, an intrinsic call is the block that
ends in its `VSDK_SITE_("...", mark_)` marker (the snippet sits between `vsdk_mark` and
`vsdk_check`), and a template line is found by matching the C line against the template's
lines with their `{{ ... }}` as wildcards. The target.yaml field is located with the same
node marks `vendor-sdk validate` uses (vendor_sdk.target.source).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import VendorSdkError
from vendor_sdk.codegen.cexpr import CodegenError, c_name
from vendor_sdk.codegen.code import LayerCode, RegionCode
from vendor_sdk.codegen.emit import TEMPLATES, CModel
from vendor_sdk.codegen.perf import templates_dir
from vendor_sdk.target.load import Target
from vendor_sdk.target.lowering import Template
from vendor_sdk.target.source import Loc, dotted, read_source

# gcc's located diagnostics ("file:line:col: error: message"); -Werror turns warnings
# into "error: ... [-Werror=...]", so errors are all there is to report.
_GCC = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): "
                  r"(?:fatal )?error: (?P<msg>.*)$", re.MULTILINE)
_SITE = re.compile(r'VSDK_SITE_\("((?:[^"\\]|\\.)*)", mark_\);')
_LAYER = re.compile(r'VSDK_LAYER_\("((?:[^"\\]|\\.)*)"\);')
MAX_SHOWN = 10  # errors mapped and printed; the rest are in gcc.log


@dataclass(frozen=True, slots=True)
class GccError:
    file: str   # as gcc names it: a generated file's bare name, or a header's path
    line: int
    col: int
    message: str


def gcc_errors(stderr: str) -> tuple[GccError, ...]:
    """gcc's located errors, in its order, each once (gcc repeats some per function)."""
    found = (GccError(m["file"], int(m["line"]), int(m["col"]), m["msg"].strip())
             for m in _GCC.finditer(stderr))
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Origin:
    """What wrote one line of generated C; empty fields are not known (or do not apply)."""

    what: str                    # "the emit snippet of intrinsics.gemm", "layer X", ...
    layer: str = ""              # the layer's C function
    onnx_nodes: tuple[str, ...] = ()
    yaml: str = ""               # "target.yaml:47:7: intrinsics.gemm.emit"
    template: str = ""           # "templates/runtime.c.j2:81" (a line when one matches)
    fix: str = ""                # the hint

    def notes(self) -> list[str]:
        """Lines under gcc's: each leads with a file:line where one is known."""
        context = ""
        if self.layer:
            nodes = ", ".join(self.onnx_nodes)
            context = f" (layer {self.layer}" + (f", ONNX node {nodes})" if nodes else ")")
        out = [f"{self.yaml}: {self.what}{context}"] if self.yaml else []
        if self.template:
            out.append(f"{self.template}: the template that wrote this line")
        return out or [f"written by {self.what}{context}"]


def _unescape(c_literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", c_literal)


def yaml_place(target: Target, loc: Loc, line_in_value: int = 0) -> str:
    """``file:line:col: path`` of a target.yaml field's value (the first line of a block
    scalar's text, or its ``line_in_value``-th line of a literal ``|`` block)."""
    path = Path(target.path)
    try:  # read again: a loaded Target keeps the spec, not the node marks
        src = read_source(str(path), path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, VendorSdkError):  # changed since it was loaded
        return f"{path}: {dotted(loc)}"
    _, node = src.locate(loc)
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    style = getattr(node, "style", None)
    if style in ("|", ">"):  # the text starts on the line after the indicator
        line += 1 + (line_in_value if style == "|" else 0)
        lines = src.text.splitlines()
        body = lines[line - 1] if line - 1 < len(lines) else ""
        col = len(body) - len(body.lstrip()) + 1
    return f"{path}:{line}:{col}: {dotted(loc)}"


def template_line(template: Path, c_line: str) -> int | None:
    """The line of ``template`` that renders as ``c_line``: its literal text must match,
    each ``{{ ... }}`` matches anything; None unless exactly one line does."""
    try:
        lines = template.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    want = c_line.strip()
    hits = []
    for i, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("{%") or text.startswith("{#"):
            continue
        parts = re.split(r"\{\{.*?\}\}", text)
        if len(parts) == 1 and len(text) < 4:  # "}", "{": they match too many lines
            continue
        if re.fullmatch(".*?".join(re.escape(p) for p in parts), want):
            hits.append(i)
    return hits[0] if len(hits) == 1 else None


def _template_place(template: Path, c_line: str) -> str:
    n = template_line(template, c_line)
    return f"{template}:{n}" if n else str(template)


def _layer_spans(text: str, r: RegionCode) -> list[tuple[int, int, LayerCode]]:
    """(first line, last line) of each layer's C text in its region file, 1-based."""
    spans, pos = [], 0
    for lc in r.layers:
        at = text.find(lc.text, pos)
        if at < 0:
            continue
        first = text.count("\n", 0, at) + 1
        spans.append((first, first + lc.text.count("\n"), lc))
        pos = at + len(lc.text)
    return spans


def _site_at(lines: Sequence[str], i: int, first: int) -> tuple[str, bool] | None:
    """(the intrinsic call's VSDK_SITE_ text, whether line i is its emit snippet) when line
    i (0-based) is inside an intrinsic call's block; ``first`` bounds the search."""
    opener = next((j for j in range(i, first - 1, -1) if lines[j].lstrip().startswith("{ /*")),
                  None)
    if opener is None:
        return None
    end = next((j for j in range(opener + 1, len(lines)) if lines[j].strip() == "}"), None)
    if end is None or end < i:
        return None
    site = next((m for j in range(opener, end) if (m := _SITE.search(lines[j]))), None)
    if site is None:
        return None
    mark = next((j for j in range(opener, end) if "= vsdk_mark(rt);" in lines[j]), end)
    check = next((j for j in range(opener, end) if "vsdk_check(rt, mark_);" in lines[j]), end)
    return _unescape(site[1]), mark < i < check


def _in_region(cm: CModel, target: Target, r: RegionCode, file: str, line: int) -> Origin:
    text = cm.files[file]
    lines = text.splitlines()
    c_line = lines[line - 1] if 0 < line <= len(lines) else ""
    sdk = "the SDK wrote this line: report it with the kept C"
    for first, last, lc in _layer_spans(text, r):
        if not first <= line <= last:
            continue
        found = _site_at(lines, line - 1, first - 1)
        if found is not None and found[0].split(" ", 1)[0] in target.spec.intrinsics:
            # The SDK's lines around a snippet compile in every other call: an error there
            # is the snippet's too (an unclosed parenthesis is noticed on the next line).
            site, in_snippet = found
            name = site.split(" ", 1)[0]
            mark = next((j for j in range(line - 1, first - 2, -1)
                         if "= vsdk_mark(rt);" in lines[j]), line - 2)
            header = target.spec.runtime.header if target.spec.runtime else "?"
            after = "" if in_snippet else " (gcc noticed it on a line around the snippet)"
            return Origin(f"the emit snippet of intrinsic call {site}{after}",
                          yaml=yaml_place(target, ("intrinsics", name, "emit"),
                                          max(0, line - 2 - mark) if in_snippet else 0),
                          fix=f"fix intrinsics.{name}.emit in target.yaml: C that calls the "
                              f"functions of the target's runtime header ({header})",
                          layer=lc.function, onnx_nodes=lc.onnx_nodes)
        wrapper = next((j for j in range(first - 1, last)
                        if lines[j].startswith(f"static void {lc.function}(")), last)
        lower = lc.layer.lower
        if isinstance(lower, Template) and line - 1 < wrapper:
            template = templates_dir(target) / lower.file
            pattern = str(lc.layer.pattern)
            return Origin(f"the template kernel of pattern {pattern}",
                          yaml=yaml_place(target, ("patterns", pattern, "lower")),
                          template=_template_place(template, c_line),
                          fix=f"fix the template kernel {template}",
                          layer=lc.function, onnx_nodes=lc.onnx_nodes)
        return Origin(f"the code generator's C for layer {lc.function}", fix=sdk,
                      layer=lc.function, onnx_nodes=lc.onnx_nodes)
    called = next((m[1] for j in range(line - 1, -1, -1) if (m := _LAYER.search(lines[j]))), "")
    return Origin(f"the entry function of region {r.name}", layer=_unescape(called), fix=sdk)


def origin_of(cm: CModel, target: Target, file: str, line: int) -> Origin:
    """What wrote line ``line`` of ``file`` (a file of ``cm`` or a header gcc named)."""
    rt = target.spec.runtime
    if file == f"{cm.model}_runtime.c" and rt is not None:
        template = templates_dir(target) / rt.glue
        lines = cm.files[file].splitlines()
        c_line = lines[line - 1] if 0 < line <= len(lines) else ""
        return Origin(f"the glue template, rendered as {file}",
                      yaml=yaml_place(target, ("runtime", "glue")),
                      template=_template_place(template, c_line),
                      fix=f"fix the glue template {template} (it implements vsdk_glue.h)")
    for r in cm.regions:
        if file == f"{cm.model}_{c_name(r.name)}.c":
            return _in_region(cm, target, r, file, line)
    if file in (f"{cm.model}.h", f"{cm.model}_fault.c"):
        sdk = "header.h.j2" if file.endswith(".h") else "fault.c.j2"
        return Origin(f"the SDK's template {TEMPLATES / sdk}",
                      fix="the SDK wrote this file: report it with the kept C")
    if rt is not None and Path(file).name == Path(rt.header).name:
        return Origin(f"the target's driver header {file}",
                      yaml=yaml_place(target, ("runtime", "header")),
                      fix=f"fix {file}: generated C includes it (it must compile as C11 "
                          "with -Wall -Wextra -Werror)")
    return Origin(f"a header generated C includes ({file})",
                  fix="fix that header, or the include directories of target.yaml runtime:")


class CBuildError(CodegenError):
    """Generated C that gcc refuses: each error located in the kept C file, with the
    target.yaml field and template that wrote the line."""

    def __init__(self, cm: CModel, target: Target, stderr: str, kept: Path | None) -> None:
        self.kept = kept
        self.errors = gcc_errors(stderr)
        self.items: list[tuple[str, str, str]] = []
        where_c = f"{kept}/" if kept is not None else ""
        for e in self.errors[:MAX_SHOWN]:
            o = origin_of(cm, target, e.file, e.line)
            name = f"{where_c}{e.file}" if e.file in cm.files else e.file
            self.items.append((f"{name}:{e.line}:{e.col}",
                               "\n".join([f"error: {e.message}", *o.notes()]), o.fix))
        where = f"kept in {kept}" if kept is not None else "not kept (the cache is not writable)"
        more = len(self.errors) - MAX_SHOWN
        tail = (f"gcc refused the generated C of {cm.model}; it and gcc's whole output "
                f"(gcc.log) are {where}" + (f" ({more} more error(s) there)" if more > 0 else ""))
        self.summary = (f"generated C for {cm.model} does not compile against the runtime of "
                        f"{target.name} ({target.path}); {tail}")
        if not self.items:  # no located error (a linker's): gcc's own lines
            lines = [ln for ln in stderr.splitlines() if re.search(r"error|warning", ln)]
            self.items.append(("", f"{self.summary}:\n"
                               + ("\n".join(lines[:20]) or stderr.strip()[-3000:]), ""))
        else:
            last = self.items[-1]
            self.items[-1] = (last[0], last[1], f"{last[2]}; {tail}" if last[2] else tail)
        super().__init__("\n".join([self.summary, *(f"{w}: {y}" if w else y
                                                    for w, y, _ in self.items)]))

    def located(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(self.items)
