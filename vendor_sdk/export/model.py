"""export_model: an int8 QDQ ONNX model -> the same model with its NPU regions as custom
nodes, and the package directory beside it that runs them.

    compiled = compile_model(path, target)        the build `vendor-sdk run` makes
    ports    = region_ports(compiled, model)      each region's ONNX input/output tensors
    model    = replace_regions(model, ports, ...) its nodes -> one NpuRegion_* node
    package  = write_package(x.npu/, library)     library + regions + export.json

A region node reads exactly the int8 tensors `vendor-sdk run` hands the region (the
outputs of the host's QuantizeLinear nodes) and writes what the region writes, so the
node computes what the run computes for the region, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import onnx

from core.builder import sanitize
from vendor_sdk.codegen.code import RegionCode
from vendor_sdk.compile import Compiled, compile_model
from vendor_sdk.export.errors import ExportError
from vendor_sdk.export.graph import Ports, region_nodes, replace_regions
from vendor_sdk.export.ops import ATTRIBUTES, DOMAIN, DTYPES, MAX_PORTS, Signature
from vendor_sdk.export.package import package_dir, remove_package, write_package
from vendor_sdk.plugins import DEFAULT_TARGET
from vendor_sdk.runtime.device import BACKENDS
from vendor_sdk.target import Target


@dataclass(frozen=True)
class ExportedRegion:
    name: str
    op_type: str
    inputs: tuple[str, ...]   # ONNX tensor names
    outputs: tuple[str, ...]
    onnx_nodes: int           # nodes of the source model the one node replaces


@dataclass(frozen=True)
class Exported:
    model: Path
    package: Path | None      # None: nothing offloaded, no package written
    export_id: str
    regions: tuple[ExportedRegion, ...]
    compiled: Compiled

    @property
    def coverage(self) -> tuple[int, int]:
        return self.compiled.report.coverage


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ExportError(f"--backend {backend}", "unknown backend",
                          f"choose one of {', '.join(BACKENDS)}")


def target_reference(target: str | Target) -> str:
    """How the nodes name the target: an installed target by name, a target.yaml by its
    absolute path (that export runs where that path exists)."""
    if isinstance(target, Target):
        from vendor_sdk.plugins import resolve_target
        from vendor_sdk.target import TargetError

        try:
            installed = resolve_target(target.name).path.resolve() == target.path.resolve()
        except TargetError:
            installed = False
        return target.name if installed else str(target.path.resolve())
    p = Path(target)
    return str(p.resolve()) if p.exists() else target


def export_model(path: Path, output: Path, target: str | Target = DEFAULT_TARGET,
                 backend: str = "fsim", sizes: Mapping[str, int] | None = None,
                 progress: Callable[[str], None] | None = None,
                 keep_on_host: Collection[str] = ()) -> Exported:
    """Compile ``path`` for ``target`` (``keep_on_host``: op types or node names that stay
    ONNX nodes) and write ``output`` and its package directory."""
    check_backend(backend)
    if output.resolve() == Path(path).resolve():
        raise ExportError(f"-o {output}", "is the input model", "write to another file, "
                          "e.g. model.npu.onnx")
    if output.is_dir():
        raise ExportError(f"-o {output}", "is a directory; -o names the .onnx file to write")
    c = compile_model(path, target, sizes, progress=progress, keep_on_host=keep_on_host)
    output.parent.mkdir(parents=True, exist_ok=True)
    (progress or (lambda _s: None))("export")
    source = _load(path)
    types = _element_types(source)
    ports = [region_ports(r, source.graph, types) for r in c.cmodel.regions]
    if not ports:  # nothing to offload: the model as it is runs on onnxruntime alone
        remove_package(package_dir(output))  # an earlier export's, now stale
        onnx.save(source, str(output))
        return Exported(output, None, "", (), c)
    sigs = {p.name: _signature(p, types) for p in ports}
    counts = {p.name: _claimed(r, p, source.graph) for r, p in zip(c.cmodel.regions, ports,
                                                                   strict=True)}
    root = package_dir(output)
    tref = target_reference(target)
    info = {"model": Path(path).name, "coverage": dict(zip(("offloaded", "total"),
                                                           c.report.coverage, strict=True)),
            "regions": [{"name": p.name, "op_type": sigs[p.name].op_type,
                         "inputs": list(p.inputs), "outputs": list(p.outputs)} for p in ports],
            "host_composites": dict(sorted(c.host_reasons.items()))}
    eid = write_package(root, c.library, c.cmodel.regions, tref, backend, info)
    attrs = dict(zip(ATTRIBUTES, ("", root.name, eid, backend, tref), strict=True))

    def node(p: Ports) -> onnx.NodeProto:
        return onnx.helper.make_node(
            sigs[p.name].op_type, list(p.inputs), list(p.outputs), name=p.name, domain=DOMAIN,
            doc_string=f"NPU region {p.name} ({counts[p.name]} ONNX nodes) compiled for "
                       f"{c.target.name} by vendor-sdk; runs with vendor_sdk.export.ort",
            **(attrs | {"region": p.name}))

    out = replace_regions(source, ports, node)
    if not any(o.domain == DOMAIN for o in out.opset_import):
        out.opset_import.append(onnx.helper.make_opsetid(DOMAIN, 1))
    onnx.checker.check_model(out)
    onnx.save(out, str(output))
    return Exported(output, root, eid, tuple(
        ExportedRegion(p.name, sigs[p.name].op_type, p.inputs, p.outputs, counts[p.name])
        for p in ports), c)


def _load(path: Path) -> onnx.ModelProto:
    try:
        return onnx.load(str(path))
    except FileNotFoundError:
        raise
    except Exception as e:  # protobuf's DecodeError and friends
        raise ExportError(str(path), f"not an ONNX model ({type(e).__name__}: {e})") from None


def _element_types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    return {v.name: v.type.tensor_type.elem_type
            for v in [*g.input, *g.value_info, *g.output]} | \
        {t.name: t.data_type for t in g.initializer}


def region_ports(r: RegionCode, graph: onnx.GraphProto, types: Mapping[str, int]) -> Ports:
    """The region's inputs and outputs by their ONNX names (the SDK's names are the ONNX
    names made printable, core.builder.sanitize)."""
    names: dict[str, list[str]] = {}
    for t in {*types, *(t for n in graph.node for t in n.output)}:
        names.setdefault(sanitize(t), []).append(t)

    def onnx_name(v: str) -> str:
        found = names.get(v, [])
        if len(found) != 1:
            why = "matches no ONNX tensor" if not found else \
                f"matches several ONNX tensors {sorted(found)}"
            raise ExportError(f"region {r.name}", f"its tensor '{v}' {why}",
                              "a region boundary the SDK created (a uint8 model input "
                              "shifted to int8) or clashing tensor names cannot be exported "
                              "yet; rename the tensors or quantize with int8 activations")
        return found[0]

    return Ports(r.name, tuple(map(onnx_name, r.params)), tuple(map(onnx_name, r.outputs)))


def _claimed(r: RegionCode, p: Ports, graph: onnx.GraphProto) -> int:
    """The number of ONNX nodes the region's node replaces, after checking that they hold
    every node its layers were compiled from (a region node must not drop a layer)."""
    nodes = [graph.node[i] for i in region_nodes(graph, p)]
    named = {n.name for n in graph.node}
    lost = sorted({x for lc in r.layers for x in lc.onnx_nodes if x in named}
                  - {n.name for n in nodes})
    if lost:
        raise ExportError(f"region {r.name}", f"its layers come from ONNX nodes {lost}, which "
                          "do not lie between its inputs and outputs in the ONNX graph",
                          "a bug in vendor-sdk export; please report it with the model")
    return len(nodes)


def _signature(p: Ports, types: Mapping[str, int]) -> Signature:
    def side(names: tuple[str, ...], what: str) -> int:
        kinds = {types.get(t, 0) for t in names}
        if len(names) > MAX_PORTS:
            raise ExportError(f"region {p.name}", f"has {len(names)} {what}; a region node "
                              f"takes at most {MAX_PORTS}")
        if len(kinds) != 1 or next(iter(kinds)) not in DTYPES:
            got = sorted(onnx.helper.tensor_dtype_to_np_dtype(k).name if k else "unknown"
                         for k in kinds)
            raise ExportError(f"region {p.name}", f"its {what} {list(names)} are {got}; a "
                              "region node takes int8 or uint8 tensors, one type per side")
        return next(iter(kinds))

    return Signature(side(p.inputs, "inputs"), len(p.inputs),
                     side(p.outputs, "outputs"), len(p.outputs))
