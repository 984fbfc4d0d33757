"""The first activation at which a quantized model's compiled result leaves onnxruntime.

Each activation DequantizeLinear (one fed by a QuantizeLinear) in topological order is
made the model's only output (onnx.utils.Extractor), compiled and run like the whole
model; the first cut that disagrees names the node where the miscompile starts. A cut
model is a prefix of the original, so a cut that fails fails for a reason inside it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx.utils import Extractor


def cuts(model: onnx.ModelProto) -> list[tuple[str, str]]:
    """(producer node name, DequantizeLinear output) per activation, in graph order."""
    q_out = {n.output[0]: n for n in model.graph.node if n.op_type == "QuantizeLinear"}
    producer = {o: n for n in model.graph.node for o in n.output}
    out = []
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in q_out:
            src = producer.get(q_out[n.input[0]].input[0])
            out.append((src.name if src is not None else "input", n.output[0]))
    return out


def first_divergence(qpath: Path, inputs: dict[str, np.ndarray], size_hint: int
                     ) -> tuple[str, str] | None:
    """(node, what is off) at the first cut that disagrees, None when all agree."""
    from harness import _off, unfused_outputs

    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.compare import output_lsbs, run_compiled

    model = onnx.load(str(qpath))
    ex = Extractor(onnx.shape_inference.infer_shapes(model))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (node, out) in enumerate(cuts(model)):
            p = Path(tmp) / f"cut{i}.onnx"
            sub = ex.extract_model([i.name for i in model.graph.input], [out])
            del sub.opset_import[:]
            sub.opset_import.extend(model.opset_import)
            onnx.save(sub, str(p))
            c = compile_model(p, "reference_npu", {"N": size_hint})
            r = run_compiled(c, p, inputs, "fsim")
            lsbs = output_lsbs(c.module)
            bad = _off(r.outputs, r.reference, lsbs)
            if bad and _off(r.outputs, unfused_outputs(p, inputs), lsbs):
                return node, bad
    return None
