"""Where a quantized model's compiled result first leaves onnxruntime, activation by activation.

`run --check layers` compares every layer with the SDK's own references; this compares
with onnxruntime: each activation DequantizeLinear (one fed by a QuantizeLinear), in graph
order, is made the model's only output (onnx.utils.Extractor), compiled and run on fsim,
and compared with unfused onnxruntime (the model's QDQ semantics node by node). The first
activation that differs at all says where a drift starts: a 1-LSB flip at an NPU Add that
later ops amplify is a different bug from a layer that is tens of LSB off.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx.utils import Extractor


@dataclass(frozen=True)
class Difference:
    node: str          # the ONNX node whose quantized output first differs
    op: str
    on_npu: bool       # the cut model offloads that node (its coverage grew with it)
    max_lsb: float
    share: float       # of its elements that differ


def cuts(model: onnx.ModelProto) -> list[tuple[onnx.NodeProto | None, str]]:
    """(producer node, DequantizeLinear output) per activation, in graph order."""
    q_out = {n.output[0]: n for n in model.graph.node if n.op_type == "QuantizeLinear"}
    producer = {o: n for n in model.graph.node for o in n.output}
    return [(producer.get(q_out[n.input[0]].input[0]), n.output[0])
            for n in model.graph.node
            if n.op_type == "DequantizeLinear" and n.input[0] in q_out]


def first_difference(qpath: Path, inputs: dict[str, np.ndarray], size_hint: int
                     ) -> Difference | None:
    from harness import unfused_outputs

    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.compare import output_lsbs, run_compiled

    model = onnx.load(str(qpath))
    ex = Extractor(onnx.shape_inference.infer_shapes(model))
    offloaded = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (node, out) in enumerate(cuts(model)):
            p = Path(tmp) / f"cut{i}.onnx"
            sub = ex.extract_model([x.name for x in model.graph.input], [out])
            del sub.opset_import[:]
            sub.opset_import.extend(model.opset_import)
            onnx.save(sub, str(p))
            c = compile_model(p, "reference_npu", {"N": size_hint})
            r = run_compiled(c, p, inputs, "fsim", check="none")
            on_npu, offloaded = c.report.coverage[0] > offloaded, c.report.coverage[0]
            lsb = output_lsbs(c.module)[0] or 1.0
            d = np.abs(r.outputs[0].astype(np.float64) - unfused_outputs(p, inputs)[0]) / lsb
            if d.size and d.max() > 0.5:
                return Difference(node.name if node else "input", node.op_type if node else "-",
                                  on_npu, float(d.max()), float(np.mean(d > 0.5)))
    return None
