"""The light ONNX CNNs as float and int8 QDQ models, the way a user would make them.

The light models build every weight with ConstantOfShape, which onnxruntime's
quantizer does not treat as a weight; the weights become seeded random
initializers first, then ``quantize_static`` (QDQ, per-channel int8) runs
with a one-sample random calibration set — enough for real scales, and fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

from vendor_sdk.zoo import light_model_path, with_seeded_weights


class _RandomReader(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._it = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def materialized(name: str, seed: int = 0) -> onnx.ModelProto:
    """The light model with its ConstantOfShape weights as seeded random initializers."""
    model = onnx.load(str(light_model_path(name)))
    # Per-channel Q/DQ (their `axis`) needs opset >= 13: onnxruntime refuses the quantizer's
    # output below that, and so does the importer. Converting the light model (weights
    # still ConstantOfShape) is the same graph as converting the full one, seconds sooner.
    if model.opset_import[0].version < 13:
        model = onnx.version_converter.convert_version(model, 13)
    return with_seeded_weights(model, seed)


def data_inputs(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    inits = {i.name for i in model.graph.initializer}
    return {vi.name: tuple(d.dim_value or 1 for d in vi.type.tensor_type.shape.dim)
            for vi in model.graph.input if vi.name not in inits}


def quantized(name: str, out: Path, seed: int = 0) -> Path:
    """Write the int8 QDQ (per-channel weights) version of a light model to ``out``."""
    model = materialized(name, seed)
    src = out.with_suffix(f".{os.getpid()}.float.onnx")
    onnx.save(model, str(src))
    # What onnxruntime's quantization guide asks for first: basic graph optimizations
    # (BatchNormalization folded into Conv, constants folded) so Conv weights quantize.
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(src)
    ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = [{k: rng.random(s, np.float32) for k, s in data_inputs(model).items()}]
    # Written under a temporary name and renamed: parallel test workers may share `out`.
    part = out.with_suffix(f".{os.getpid()}.part")
    quantize_static(str(src), str(part), _RandomReader(feeds), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    src.unlink()  # the float copy of vgg19 is 575 MB
    part.replace(out)
    return out

