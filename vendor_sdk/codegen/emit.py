"""A partitioned module -> the C files of its NPU regions (templates only format).

Output per model: ``<model>.h`` (region prototypes; includes the target's driver header
and vendor_sdk/contract/vsdk_glue.h), ``<model>_runtime.c`` (the target's glue template,
e.g. the reference NPU's token tracker and row coalescing), one ``<model>_<region>.c``
per region, and per region its constants blob
(weights in the NPU's tile layout, biases, requantization descriptors).
Deterministic: the same model and target give byte-identical files.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version as dist_version
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from core.graph import CallFunc, Module
from vendor_sdk.codegen.cexpr import CodegenError, c_name
from vendor_sdk.codegen.dram_fit import check_dram
from vendor_sdk.codegen.perf import perf_snap_c, record_bytes, templates_dir
from vendor_sdk.codegen.region import RegionCode, region_code
from vendor_sdk.target import Target
from vendor_sdk.target.templates import environment

TEMPLATES = Path(__file__).resolve().parent.parent / "codegen_templates"
# The C contract generated code compiles against (-I this directory).
CONTRACT_DIR = Path(__file__).resolve().parent.parent / "contract"


@dataclass(frozen=True)
class CModel:
    model: str
    target: str
    files: Mapping[str, str]       # file name -> C text
    regions: tuple[RegionCode, ...]

    def write(self, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in self.files.items():
            (out / name).write_text(text)
            paths.append(out / name)
        for r in self.regions:
            (out / f"{c_name(r.name)}.bin").write_bytes(r.consts)
            paths.append(out / f"{c_name(r.name)}.bin")
        return paths


def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                                autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                                lstrip_blocks=True)


def _render(template: str, **ctx: object) -> str:
    try:
        return _env().get_template(template).render(**ctx)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        raise CodegenError(f"template {template}{f', line {line}' if line else ''}: {e}") from None


def render_glue(target: Target, **ctx: object) -> str:
    """The target's glue template (target.yaml `runtime: glue:`), which implements
    vsdk_glue.h: the only C about data movement and ordering in a generated model."""
    rt = target.spec.runtime
    if rt is None:
        raise CodegenError(f"target {getattr(target, 'name', '?')} declares no `runtime:`; "
                           "hint: add runtime: {header, sources (or library), glue} to its "
                           "target.yaml (docs/target_yaml.md, \"Runtime\")")
    tdir = templates_dir(target)
    try:
        return environment(tdir).get_template(rt.glue).render(**ctx)
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        raise CodegenError(f"glue template {tdir / rt.glue}{f', line {line}' if line else ''}: "
                           f"{e}") from None


def runtime_header(target: Target) -> str:
    rt = target.spec.runtime
    if rt is None:
        raise CodegenError(f"target {getattr(target, 'name', '?')} declares no `runtime:`; "
                           "hint: add runtime: {header, sources (or library), glue} to its "
                           "target.yaml")
    return str(rt.header)


def sdk_version() -> str:
    try:
        return dist_version("vendor-sdk")
    except Exception:  # running from a source tree without installed metadata
        return "dev"


def emit_c(module: Module, regions: list[str], target: Target, model: str,
           hints: Mapping[str, int],
           on_layer: Callable[[int, int, str], None] | None = None) -> CModel:
    """C for each region function of ``module`` named in ``regions``; ``on_layer(k, n,
    function)`` is called before the k-th of the n layers is lowered (progress)."""
    model_c = c_name(model)
    header = f"{model_c}.h"
    n = sum(isinstance(b.value, CallFunc) for r in regions for blk in module[r].blocks
            for b in blk.bindings)
    done = itertools.count(1)
    step = None if on_layer is None else (lambda fn: on_layer(next(done), n, fn))
    codes = tuple(region_code(module, module[r], target, hints, step) for r in regions)
    check_dram(codes, target, hints)  # else the biggest layer goes to the host
    version = sdk_version()
    infos = []
    for r in codes:
        slots = [f"{s.name} {list(map(str, s.npu_shape))}"
                 + (f" ({s.layout.describe()})" if s.layout else "") for s in r.slots]
        if r.perf_records is not None:
            slots.append(f"counter records [{r.perf_records} x {record_bytes(target)} bytes]")
        sig = ", ".join(["void *ctx", "const uint32_t *addr",
                         *(f"int64_t {s}" for s in r.sizes)])
        infos.append({"name": c_name(r.name), "signature": sig, "buffers": slots,
                      "doc": f"{len(r.layers)} layer(s)"})
    tname = str(getattr(target, "name", ""))
    snap = perf_snap_c(target, "rt->ctx", "addr")
    files = {header: _render("header.h.j2", version=version, model=model_c, target=tname,
                             regions=infos, guard=f"VSDK_{model_c.upper()}_H",
                             runtime_header=runtime_header(target)),
             f"{model_c}_runtime.c": render_glue(target, version=version, model=model_c,
                                                 header=header, perf_snap=snap)}
    files[f"{model_c}_fault.c"] = _render("fault.c.j2", version=version, model=model_c,
                                          target=tname, header=header)
    for r, info in zip(codes, infos, strict=True):
        files[f"{model_c}_{c_name(r.name)}.c"] = _render(
            "region.c.j2", version=version, name=info["name"], model=model_c, target=tname,
            layers=r.layers, const_bytes=len(r.consts), slots=info["buffers"], header=header,
            body=r.body)
    return CModel(model_c, tname, files, codes)
