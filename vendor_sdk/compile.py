"""The compile pipeline: model.onnx + target -> C, a built library, a report.

    target  = resolve_target(name)                      target.yaml -> Target
    module  = prepare(from_onnx(path))                  import (QDQ kept)
    part    = partition(module, patterns_of(target))    regions of composites
    cmodel  = emit_c(part.module, regions, target)      layers -> tensorize -> C
    library = build_library(cmodel, target)             gcc against the target's runtime

A composite the code generator cannot lower (CompositeError) goes back to the
host with its reason and the model is partitioned again, so what runs on the
NPU is always what the report says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from core.graph import Module
from core.ops import OPS
from vendor_sdk.codegen.build import build_library
from vendor_sdk.codegen.code import CompositeError
from vendor_sdk.codegen.emit import CModel, emit_c, sdk_version
from vendor_sdk.frontend.onnx import from_onnx
from vendor_sdk.patterns.from_target import patterns_of
from vendor_sdk.patterns.partition import Partition, PartitionOptions, partition, prepare
from vendor_sdk.patterns.report import Report, build_report
from vendor_sdk.plugins import DEFAULT_TARGET, resolve_target
from vendor_sdk.target import Target

T = TypeVar("T")

MAX_RETRIES = 16  # composites sent back to the host before giving up


@dataclass(frozen=True)
class Compiled:
    name: str
    target: Target
    module: Module            # partitioned: main calls region functions
    partition: Partition
    report: Report
    cmodel: CModel
    library: Path
    host_reasons: Mapping[str, str]   # composite (its nodes) -> why the code generator refused it
    seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def regions(self) -> list[str]:
        return [r.name for r in self.cmodel.regions]

    def manifest(self) -> dict[str, object]:
        """Deterministic description of the build (no times, no absolute paths)."""
        return {
            "model": self.name, "target": self.cmodel.target, "sdk": sdk_version(),
            "files": sorted([*self.cmodel.files, *(f"{r}.bin" for r in self.regions)]),
            "coverage": dict(zip(("offloaded", "total"), self.report.coverage, strict=True)),
            "host_composites": dict(sorted(self.host_reasons.items())),
            "regions": [{
                "name": r.name, "sizes": list(r.sizes), "inputs": list(r.params),
                "outputs": list(r.outputs), "constants_bytes": len(r.consts),
                "dram": [{"name": s.name, "shape": list(map(str, s.npu_shape)),
                          "layout": s.describe()} for s in r.slots],
                "layers": [{"function": lc.function, "op": lc.layer.op,
                            "source": lc.layer.source, "pattern": lc.layer.pattern,
                            "lowering": lc.explain.splitlines()[0],
                            **({"input_layout": lc.input_layout} if lc.input_layout else {})}
                           for lc in r.layers],
            } for r in self.cmodel.regions],
        }

    def write(self, out: Path) -> list[Path]:
        paths = self.cmodel.write(out)
        (out / "partition.txt").write_text(self.report.to_text())
        (out / "manifest.json").write_text(json.dumps(self.manifest(), indent=2) + "\n")
        return [*paths, out / "partition.txt", out / "manifest.json"]


def _first_line(reason: str) -> str:
    return reason.strip().splitlines()[0] if reason.strip() else "(no reason given)"


def fallback_key(e: CompositeError) -> str:
    """A refused composite by its nodes: composite names are per partition attempt (the
    next attempt's region0_0 is another layer), the nodes are the model's."""
    return f"{e.composite} ({', '.join(e.nodes)})" if e.nodes else e.composite


def fallback_reason(e: CompositeError) -> str:
    """Why, without the composite's name the code generator put in front."""
    return e.reason.removeprefix(f"{e.composite}: ")


def compile_model(path: Path, target: str | Target = DEFAULT_TARGET,
                  sizes: Mapping[str, int] | None = None, name: str | None = None,
                  build: bool = True,
                  progress: Callable[[str], None] | None = None,
                  keep_on_host: Collection[str] = ()) -> Compiled:
    """Compile an (int8 QDQ) ONNX model for a target; ``sizes`` hint symbolic extents;
    ``keep_on_host``: op types or node names kept on the host (the CLI's ``--host``)."""
    say = progress or (lambda _s: None)
    seconds: dict[str, float] = {}

    def stage(label: str, fn: Callable[[], T]) -> T:
        say(label)
        t0 = time.perf_counter()
        try:
            return fn()
        finally:  # attempts that end in a host fallback cost time too
            seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - t0

    tgt = resolve_target(target) if isinstance(target, str) else target
    model = name or Path(path).name.removesuffix(".onnx").replace(".", "_")
    module = stage("import", lambda: prepare(from_onnx(path)))
    patterns = patterns_of(tgt)
    host: dict[str, str] = {}
    # binding -> why it is on the host: asked for, or its composite went back to the host
    host_nodes = {h: f"kept on the host by --host {h}" for h in keep_on_host if h not in OPS}
    host_ops = frozenset(h for h in keep_on_host if h in OPS)
    for _ in range(MAX_RETRIES):
        opts = PartitionOptions(host_ops=host_ops, host_nodes=frozenset(host_nodes))
        part = stage("partition", partial(partition, module, patterns, opts))
        regions = [r.name for r in part.regions]
        try:
            cm = stage("tensorize + C", partial(
                emit_c, part.module, regions, tgt, model, sizes or {},
                lambda k, n, fn: say(f"tensorize + C: layer {k} of {n} ({fn})")))
            break
        except CompositeError as e:
            host[fallback_key(e)] = fallback_reason(e)
            # the report's line for each node (one line: a tensorizer's trace follows the
            # first; `vendor-sdk compile` prints host_reasons whole)
            host_nodes |= dict.fromkeys(e.nodes, "the code generator cannot lower composite "
                                        f"{fallback_key(e)}: {_first_line(fallback_reason(e))}")
    else:
        raise CompositeError("model", (), f"gave up after {MAX_RETRIES} host fallbacks: "
                             + "; ".join(f"{c}: {_first_line(r)}" for c, r in host.items()))
    report = build_report(part, patterns, model, host_nodes)
    lib = stage("build", lambda: build_library(cm, tgt)) if build else Path()
    return Compiled(model, tgt, part.module, part, report, cm, lib, host, seconds)
