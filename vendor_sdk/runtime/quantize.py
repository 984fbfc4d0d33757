"""`vendor-sdk quantize`: onnxruntime's static quantizer, QDQ format.

The float model is prepared first (``quant_prep``: opset >= 13, constant weight
subgraphs evaluated, BatchNormalization and per-channel Mul/Add folded into the
conv before them) instead of with onnxruntime's own optimizer pass, which
crashes on some real models. Weights are int8, per channel by default;
activations int8 or uint8 (``uint8`` models are shifted to int8 exactly at
import, see ``vendor_sdk.frontend.uint8``).

Calibration data is a directory of ``.npz`` / ``.npy`` files (one sample each,
arrays named like the model inputs, or the single input) or N seeded random
samples in [0, 1) — enough for real scales on models whose inputs are images
or activations in that range.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

from core.errors import VendorSdkError
from vendor_sdk.runtime.quant_prep import PrepError, prepare_float

ACTIVATION_TYPES = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}


class QuantizeError(VendorSdkError):
    """Bad calibration data or a model the quantizer cannot handle."""


@dataclass(frozen=True)
class QuantizeOptions:
    per_channel: bool = True             # weights: one scale per output channel, else per tensor
    symmetric_activations: bool = False  # activation zero points at the middle of the range
    activation_type: str = "int8"        # "int8" or "uint8" (onnxruntime's QUInt8)

    def __post_init__(self) -> None:
        if self.activation_type not in ACTIVATION_TYPES:
            raise QuantizeError(f"activation type '{self.activation_type}' is not one of "
                                f"{', '.join(ACTIVATION_TYPES)}")


@dataclass(frozen=True)
class Quantized:
    path: Path
    opset: int              # of the float model; the quantized one has at least 13
    folded_constants: int   # constant nodes turned into initializers
    folded_affine: int      # BatchNormalization / per-channel Mul, Add folded into a Conv or BN
    rel_error: float        # max |quantized - float| / max |float| on the first sample


# Elements of one generated input (random data for run / calibration): 1 GiB of float32.
# A model declaring 1e9 x 1e9 must be an error here, not numpy's allocation traceback.
MAX_INPUT_ELEMENTS = 1 << 28


def input_shapes(model: onnx.ModelProto, batch: int = 1,
                 sizes: Mapping[str, int] | None = None) -> dict[str, tuple[int, ...]]:
    """Data inputs (not initializers) with symbolic dims set to ``batch`` (a dim named in
    ``sizes``, by its ONNX dim_param: that value); raises
    ValueError naming the input for a negative dim, a batch below 1 or an input too
    large to generate."""
    if batch < 1:
        raise ValueError(f"--batch {batch}: a batch is at least 1")
    inits = {i.name for i in model.graph.initializer}
    out: dict[str, tuple[int, ...]] = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?"
                for d in vi.type.tensor_type.shape.dim]
        shape = tuple(d if isinstance(d, int) else (sizes or {}).get(d, batch) for d in dims)
        if any(d < 0 for d in shape):
            raise ValueError(f"input '{vi.name}' has shape {dims}: a negative dim (the "
                             "model file is malformed; re-export it)")
        if int(np.prod(shape, dtype=object)) > MAX_INPUT_ELEMENTS:
            raise ValueError(f"input '{vi.name}' has shape {dims} (symbolic dims = {batch}): "
                             f"over {MAX_INPUT_ELEMENTS:,} elements, too large to generate")
        out[vi.name] = shape
    return out


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: Iterator[dict[str, np.ndarray]]) -> None:
        self._it = feeds

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def random_feeds(shapes: dict[str, tuple[int, ...]], n: int,
                 seed: int = 0) -> list[dict[str, np.ndarray]]:
    if n < 1:
        raise QuantizeError(f"--random {n}: the quantizer needs at least 1 calibration sample")
    rng = np.random.default_rng(seed)
    return [{k: rng.random(s, np.float32) for k, s in shapes.items()} for _ in range(n)]


def _sample(p: Path, name: str, a: np.ndarray, want: tuple[int, ...],
            fixed: tuple[bool, ...]) -> np.ndarray:
    if a.dtype.kind not in "fiub":
        raise QuantizeError(f"{p}: '{name}' holds {a.dtype} data; calibration samples are numbers")
    if a.ndim != len(want) or any(f and d != w for d, w, f in zip(a.shape, want, fixed,
                                                                  strict=True)):
        raise QuantizeError(f"{p}: '{name}' has shape {list(a.shape)}; the model input is "
                            f"{[w if f else '?' for w, f in zip(want, fixed, strict=True)]}")
    return a.astype(np.float32)


def directory_feeds(path: Path, shapes: dict[str, tuple[int, ...]],
                    fixed: dict[str, tuple[bool, ...]] | None = None
                    ) -> list[dict[str, np.ndarray]]:
    """One feed per ``.npz`` / ``.npy`` file, checked against the model's inputs."""
    if not path.is_dir():
        raise QuantizeError(f"--calib {path}: not a directory (expected a directory of "
                            ".npz / .npy samples)")
    fixed = fixed or {k: (True,) * len(s) for k, s in shapes.items()}
    files = sorted(p for p in path.iterdir() if p.suffix in (".npz", ".npy"))
    if not files:
        raise QuantizeError(f"{path}: no .npz or .npy calibration samples")
    feeds = []
    for p in files:
        try:
            if p.suffix == ".npy":
                if len(shapes) != 1:
                    raise QuantizeError(f"{p}: a .npy sample needs a single-input model; "
                                        f"this one has {sorted(shapes)} (use .npz)")
                k = next(iter(shapes))
                feeds.append({k: _sample(p, k, np.load(p), shapes[k], fixed[k])})
                continue
            with np.load(p) as z:
                missing = set(shapes) - set(z.files)
                if missing:
                    raise QuantizeError(f"{p}: missing inputs {sorted(missing)} "
                                        f"(it has {sorted(z.files)})")
                feeds.append({k: _sample(p, k, z[k], shapes[k], fixed[k]) for k in shapes})
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise QuantizeError(f"{p}: unreadable calibration sample ({type(e).__name__}: "
                                f"{e}); hint: write samples with numpy.save / numpy.savez"
                                ) from None
    return feeds


def load_float(model: Path) -> onnx.ModelProto:
    """The float model, or a QuantizeError that says why it is not one."""
    if model.is_dir():
        raise QuantizeError(f"{model}: is a directory; expected a float .onnx model file")
    if not model.exists():
        raise QuantizeError(f"{model}: no such file")
    try:
        proto = onnx.load(str(model))
    # protobuf's DecodeError, onnx's checker ValidationError (external data outside the
    # model's directory), OSError: none shares a base more specific than Exception
    except Exception as e:
        raise QuantizeError(f"{model}: not a readable ONNX model ({type(e).__name__}: {e}); "
                            "hint: a truncated download or another file format") from None
    if not proto.graph.node:
        raise QuantizeError(f"{model}: the graph has no nodes (not an ONNX model?)")
    if any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in proto.graph.node):
        raise QuantizeError(f"{model}: already quantized (it has QuantizeLinear / "
                            "DequantizeLinear); compile or run it directly")
    inits = {i.name for i in proto.graph.initializer}
    for vi in proto.graph.input:
        t = vi.type.tensor_type.elem_type
        if vi.name not in inits and t != onnx.TensorProto.FLOAT:
            name = onnx.TensorProto.DataType.Name(t).lower() \
                if t in onnx.TensorProto.DataType.values() and t else "not a tensor"
            raise QuantizeError(f"{model}: input '{vi.name}' is {name}; the static quantizer "
                                "calibrates float32 inputs only (hint: quantize the float "
                                "part of the model, after the integer inputs are consumed)")
    return proto


def _rel_error(float_model: Path, quantized: Path, feed: dict[str, np.ndarray]) -> float:
    """How far the quantized model is from the float one (a sanity figure for the user)."""
    import onnxruntime as ort

    def run(m: Path) -> list[np.ndarray]:
        s = ort.InferenceSession(str(m), providers=["CPUExecutionProvider"])
        return s.run(None, feed)

    ref, got = run(float_model), run(quantized)
    scale = max(float(np.abs(r).max()) for r in ref) or 1.0
    return max(float(np.abs(g.astype(np.float64) - r).max()) for g, r in zip(got, ref,
                                                                           strict=True)) / scale


def quantize_model(model: Path, out: Path, calib: Path | None = None, random: int = 8,
                   seed: int = 0, options: QuantizeOptions = QuantizeOptions()) -> Quantized:
    """Write the QDQ model; see the module docstring."""
    if out.is_dir():
        raise QuantizeError(f"-o {out}: is a directory; give the path of the .onnx to write")
    proto = load_float(model)
    try:
        prepared, done = prepare_float(proto)
    except PrepError as e:
        raise QuantizeError(f"{model}: {e}") from None
    try:
        shapes = input_shapes(prepared)
    except ValueError as e:
        raise QuantizeError(f"{model}: {e}") from None
    fixed = {vi.name: tuple(d.HasField("dim_value") for d in vi.type.tensor_type.shape.dim)
             for vi in prepared.graph.input if vi.name in shapes}
    feeds = directory_feeds(calib, shapes, fixed) if calib is not None else \
        random_feeds(shapes, random, seed)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QuantizeError(f"-o {out}: cannot create its directory ({e.strerror})") from None
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer warns about every bias
    # A path, not the proto: from a proto the quantizer writes big weights as external
    # data that its own calibration session then refuses to read. The model is written
    # next to `out` and renamed over it only once it ran: a failure leaves `out` as it was.
    with tempfile.TemporaryDirectory() as tmp, \
            tempfile.TemporaryDirectory(dir=out.parent, prefix=".quantize-") as stage:
        pre = Path(tmp) / "prepared.onnx"
        onnx.save(prepared, str(pre))
        staged = Path(stage) / out.name
        _quantize_static(model, pre, staged, feeds, options)
        err = _rel_error(pre, staged, feeds[0])
        os.replace(staged, out)
    return Quantized(out, done["opset"], done["folded_constants"], done["folded_affine"], err)


def _quantize_static(model: Path, pre: Path, out: Path, feeds: list[dict[str, np.ndarray]],
                     options: QuantizeOptions) -> None:
    try:
        quantize_static(str(pre), str(out), _Feeds(iter(feeds)), quant_format=QuantFormat.QDQ,
                        per_channel=options.per_channel,
                        activation_type=ACTIVATION_TYPES[options.activation_type],
                        weight_type=QuantType.QInt8,
                        extra_options={"ActivationSymmetric": options.symmetric_activations})
    except Exception as e:  # onnxruntime's errors have no common base; each says what failed
        raise QuantizeError(f"{model}: onnxruntime's quantizer failed ({type(e).__name__}: "
                            f"{e})") from None


def quantize(model: Path, out: Path, calib: Path | None = None, random: int = 8,
             seed: int = 0, options: QuantizeOptions = QuantizeOptions()) -> Path:
    """Write the QDQ model (weights int8 per channel unless ``options`` say otherwise)."""
    return quantize_model(model, out, calib, random, seed, options).path
