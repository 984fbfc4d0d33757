"""`vendor-sdk quantize`: onnxruntime's static quantizer, QDQ format, per-channel weights.

Calibration data is a directory of ``.npz`` / ``.npy`` files (one sample each,
arrays named like the model inputs, or the single input) or N seeded random
samples in [0, 1) — enough for real scales on models whose inputs are images
or activations in that range.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)


class QuantizeError(Exception):
    """Bad calibration data or a model the quantizer cannot handle."""


def input_shapes(model: onnx.ModelProto, batch: int = 1) -> dict[str, tuple[int, ...]]:
    """Data inputs (not initializers) with symbolic dims set to ``batch``."""
    inits = {i.name for i in model.graph.initializer}
    return {vi.name: tuple(d.dim_value if d.HasField("dim_value") else batch
                           for d in vi.type.tensor_type.shape.dim)
            for vi in model.graph.input if vi.name not in inits}


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: Iterator[dict[str, np.ndarray]]) -> None:
        self._it = feeds

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def random_feeds(shapes: dict[str, tuple[int, ...]], n: int,
                 seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{k: rng.random(s, np.float32) for k, s in shapes.items()} for _ in range(n)]


def directory_feeds(path: Path, shapes: dict[str, tuple[int, ...]]
                    ) -> list[dict[str, np.ndarray]]:
    files = sorted(p for p in path.iterdir() if p.suffix in (".npz", ".npy"))
    if not files:
        raise QuantizeError(f"{path}: no .npz or .npy calibration samples")
    feeds = []
    for p in files:
        if p.suffix == ".npy":
            if len(shapes) != 1:
                raise QuantizeError(f"{p}: a .npy sample needs a single-input model")
            feeds.append({next(iter(shapes)): np.load(p).astype(np.float32)})
        else:
            with np.load(p) as z:
                missing = set(shapes) - set(z.files)
                if missing:
                    raise QuantizeError(f"{p}: missing inputs {sorted(missing)}")
                feeds.append({k: z[k].astype(np.float32) for k in shapes})
    return feeds


def quantize(model: Path, out: Path, calib: Path | None = None, random: int = 8,
             seed: int = 0) -> Path:
    """Write the int8 QDQ model (activations and weights int8, weights per channel)."""
    import onnxruntime as ort

    proto = onnx.load(str(model))
    shapes = input_shapes(proto)
    pre = out.with_suffix(".pre.onnx")
    if any(n.op_type == "BatchNormalization" for n in proto.graph.node):
        # What onnxruntime's quantization guide asks for first: basic graph optimizations
        # fold BatchNormalization into Conv, so the folded weights quantize per channel.
        # Only then: the same pass also fuses MatMul + Add into Gemm.
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(pre)
        ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    else:
        onnx.save(proto, str(pre))
    feeds = directory_feeds(calib, shapes) if calib is not None else \
        random_feeds(shapes, random, seed)
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer warns about every bias
    quantize_static(str(pre), str(out), _Feeds(iter(feeds)), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    pre.unlink(missing_ok=True)
    return out
