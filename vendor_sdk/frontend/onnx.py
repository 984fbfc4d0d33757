"""ONNX frontend: an ``onnx.ModelProto`` becomes a graph-IR :class:`~core.graph.Module`.

The IR's ops use ONNX names with the semantics of the newest opset; older
forms (an attribute that later became an input, say) are rewritten by the
converters in :mod:`vendor_sdk.frontend.onnx_converters`. Every node is
resolved against ``onnx.defs`` to the schema version in effect for the
model's opset, so converters see exactly which variant they translate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from core import symbolic as sym
from core.builder import BuildError, FunctionBuilder, sanitize
from core.errors import VendorSdkError
from core.graph import Arg, Constant, Module, Var
from core.ops import OPS
from core.ops.registry import OpError
from core.types import DTYPES, TensorType, TupleType
from vendor_sdk.frontend.onnx_converters import (
    CONVERTERS,
    SELF_CONTAINED,
    NodeInfo,
    convert_default,
)

MIN_OPSET = 7
# Elements of one tensor, its symbolic dims left out (docs/compile.md, "Model-size
# budgets"): 4 GiB
# of float32. A model that Expands to 1e9 x 1e9 x 4 is refused at its node instead of the
# host executor trying to allocate it (the largest tensor of ResNet-50 has 0.8 M).
MAX_TENSOR_ELEMENTS = 1 << 30
SUPPORTED_DOMAINS = ("", "ai.onnx")
CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})


class FrontendError(VendorSdkError):
    """The model uses something the importer does not support; says where and what instead."""


def onnx_dtype(elem_type: int, where: str) -> str:
    try:
        name = str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        name = ""
    if name not in DTYPES:
        label = onnx.TensorProto.DataType.Name(elem_type) if elem_type else "undefined"
        raise FrontendError(f"{where}: element type {label} is not supported "
                            f"(supported: {', '.join(DTYPES)})")
    return name


def _input_type(vi: onnx.ValueInfoProto, override: Sequence[int | str] | None) -> TensorType:
    where = f"graph input '{vi.name}'"
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type"):
        raise FrontendError(f"{where}: only tensor inputs are supported")
    dtype = onnx_dtype(tt.elem_type, where)
    if override is not None:
        if tt.HasField("shape") and len(override) != len(tt.shape.dim):
            raise FrontendError(f"{where}: the shape override (--shape) has rank "
                                f"{len(override)}, the model's input has rank "
                                f"{len(tt.shape.dim)}")
        bad = [d for d in override if (isinstance(d, int) and d < 1) or
               (isinstance(d, str) and not d.isidentifier())]
        if bad:
            raise FrontendError(f"{where}: shape override (--shape) dims {bad}: each is a "
                                "positive integer or a symbol name such as N")
        dims = tuple(sym.var(sanitize(d)) if isinstance(d, str) else int(d) for d in override)
        return TensorType(dtype, dims)
    if not tt.HasField("shape"):
        raise FrontendError(f"{where}: has no shape; pass shapes={{'{vi.name}': (...)}}")
    dims_l: list[sym.Dim] = []
    for i, d in enumerate(tt.shape.dim):
        if d.HasField("dim_value") and d.dim_value < 0:
            raise FrontendError(f"{where}: dim {i} is {d.dim_value}; a dim is a size (>= 0) "
                                "or a symbol (the model file is malformed; re-export it)")
        if d.HasField("dim_value"):
            dims_l.append(int(d.dim_value))
        elif d.dim_param:
            dims_l.append(sym.var(sanitize(d.dim_param)))
        else:
            dims_l.append(sym.var(f"{sanitize(vi.name)}_d{i}"))
    return TensorType(dtype, tuple(dims_l))


def _check_size(where: str, name: str, value: Arg) -> None:
    t = getattr(value, "type", None)
    if not isinstance(t, TensorType):
        return
    static = [d for d in t.shape if isinstance(d, int)]
    if int(np.prod(static, dtype=object)) > MAX_TENSOR_ELEMENTS:
        dims = ", ".join(str(d) for d in t.shape)
        raise FrontendError(f"{where}: '{name}' has shape [{dims}]: over "
                            f"{MAX_TENSOR_ELEMENTS:,} elements (the model-size budget, "
                            "docs/compile.md)")


def _attributes(node: onnx.NodeProto, where: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise FrontendError(f"{where}: attribute '{a.name}' holds a subgraph; "
                                "control flow (If/Loop/Scan) is not supported")
        if a.ref_attr_name:
            raise FrontendError(f"{where}: attribute '{a.name}' refers to a function attribute")
        value = helper.get_attribute_value(a)
        if isinstance(value, onnx.TensorProto):
            value = numpy_helper.to_array(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        attrs[a.name] = value
    return attrs


@dataclass(frozen=True)
class _Opset:
    version: int

    def since(self, op_type: str, where: str) -> int:
        try:
            return onnx.defs.get_schema(op_type, self.version, "").since_version
        except onnx.defs.SchemaError:
            raise FrontendError(f"{where}: op {op_type} does not exist in opset {self.version}"
                                ) from None


def supported_ops() -> list[str]:
    """ONNX ops the importer translates: the IR's own plus those it rewrites away."""
    return sorted(set(OPS) | SELF_CONTAINED)


def from_onnx(model_or_path: onnx.ModelProto | str | Path,
              shapes: Mapping[str, Sequence[int | str]] | None = None) -> Module:
    """Import an ONNX model. ``shapes`` overrides input shapes (ints or symbol names)."""
    if isinstance(model_or_path, onnx.ModelProto):
        model, label = model_or_path, "model"
    else:
        path = Path(model_or_path)
        label = str(path)
        if not path.exists():
            raise FrontendError(f"{path}: no such file")
        if path.is_dir():
            raise FrontendError(f"{path}: is a directory; expected an .onnx model file")
        if path.stat().st_size == 0:
            raise FrontendError(f"{path}: the file is empty (0 bytes); expected an ONNX model "
                                "(an interrupted download or export?)")
        try:
            model = onnx.load(str(path))
        except Exception as e:  # protobuf decode errors carry no useful type
            raise FrontendError(f"{path}: not a readable ONNX model: {e}") from None
    opset_versions = {o.domain: o.version for o in model.opset_import}
    version = opset_versions.get("", opset_versions.get("ai.onnx"))
    if version is None:
        raise FrontendError(f"{label}: imports no default-domain opset (not an ONNX model, "
                            "or a truncated one?)")
    latest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= version <= latest:
        raise FrontendError(f"{label}: opset {version} is not supported (supported: "
                            f"{MIN_OPSET}..{latest})")
    return _import_graph(model.graph, _Opset(version), dict(shapes or {}))


def _import_graph(graph: onnx.GraphProto, opset: _Opset,
                  shapes: dict[str, Sequence[int | str]]) -> Module:
    b = FunctionBuilder("main")
    env: dict[str, Arg] = {"": None}
    for init in graph.initializer:
        env[init.name] = Constant(numpy_helper.to_array(init), name=sanitize(init.name))
    inits = {i.name for i in graph.initializer}
    unknown = set(shapes) - {i.name for i in graph.input}
    if unknown:
        raise FrontendError(f"input shape override (--shape) names inputs the model does not "
                            f"have: {sorted(unknown)}; its inputs: "
                            f"{[i.name for i in graph.input if i.name not in inits]}")
    for vi in graph.input:
        if vi.name in env:  # old-style models list initializers as inputs too
            continue
        env[vi.name] = b.param(vi.name, _input_type(vi, shapes.get(vi.name)))
        _check_size(f"graph input '{vi.name}'", vi.name, env[vi.name])

    for index, node in enumerate(graph.node):
        label = node.name or f"#{index}"
        where = f"node '{label}' ({node.op_type}, domain '{node.domain or 'ai.onnx'}', " \
                f"opset {opset.version})"
        if node.domain not in SUPPORTED_DOMAINS:
            raise FrontendError(f"{where}: domain '{node.domain}' is not supported; "
                                "only the default ONNX domain is")
        if node.op_type in CONTROL_FLOW:
            raise FrontendError(f"{where}: control flow (If/Loop/Scan) is not supported; "
                                "export the model with its control flow unrolled")
        if node.op_type not in OPS and node.op_type not in SELF_CONTAINED:
            raise FrontendError(f"{where}: op {node.op_type} is not supported. "
                                f"Supported ops: {', '.join(supported_ops())}")
        missing = [n for n in node.input if n not in env]
        if missing:
            raise FrontendError(f"{where}: inputs {missing} are not defined before use")
        info = NodeInfo(
            name=label,
            op_type=node.op_type,
            since_version=opset.since(node.op_type, where),
            outputs=tuple(node.output),
            where=where,
        )
        inputs = [env[n] for n in node.input]
        convert = CONVERTERS.get(node.op_type, convert_default)
        try:
            results = convert(b, info, inputs, _attributes(node, where))
        except (OpError, BuildError, ValueError) as e:
            raise FrontendError(f"{where}: {e}") from None
        for out_name, value in zip(node.output, results, strict=False):
            if out_name:
                _check_size(where, out_name, value)
                env[out_name] = value
        dropped = [n for n in node.output[len(results):] if n]
        if dropped:
            raise FrontendError(f"{where}: outputs {dropped} are not supported "
                                f"(the importer produces the first {len(results)})")

    outputs: list[Var | Constant] = []
    for o in graph.output:
        value = env.get(o.name)
        if value is None:
            raise FrontendError(f"graph output '{o.name}' is never produced")
        if isinstance(value.type, TupleType):
            raise FrontendError(f"graph output '{o.name}' is a tuple")
        outputs.append(value)
    return Module((b.finish(outputs),))
