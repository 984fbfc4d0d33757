"""Float-model preparation before onnxruntime's quantizer (proto level, exact float algebra).

Three things break onnxruntime's quantizer on ordinary models, each fixed here
instead of with onnxruntime's own optimizer pass (which crashes on models whose
weights come from ConstantOfShape, ``ConvertError: Input ConvBnFusion_W_... is
undefined``):

* opset < 13: the quantizer writes per-channel DequantizeLinear with ``axis``,
  which only exists from opset 13 on; the model is upgraded first.
* weights built by constant subgraphs (ConstantOfShape, Unsqueeze of a constant)
  or listed as graph inputs (IR < 4): the quantizer only quantizes initializers
  that are not inputs; constant nodes are evaluated and become initializers.
* BatchNormalization after a Conv: folded into the conv's weights and bias, so
  the folded weights quantize per channel; a per-channel Mul / Add after a Conv
  or a BatchNormalization (Inception v2, DenseNet) is folded the same way.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
from onnx import helper, numpy_helper

from core.errors import VendorSdkError

MIN_OPSET = 13  # per-axis QuantizeLinear / DequantizeLinear
_KEEP_FOR_CONVERTER = 4096  # initializers up to this many elements go through the converter
# Constant nodes are folded only when deterministic: a Random* node is a value, not a weight.
_NONDETERMINISTIC = ("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                     "Multinomial", "Bernoulli")


class PrepError(VendorSdkError):
    """A model this preparation cannot bring into a form the quantizer takes."""


def default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def upgrade_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnx import version_converter

    have = default_opset(model)
    if have >= MIN_OPSET:
        return model
    # The converter copies the model through C++ twice; weights it never reads (adapters
    # look at small tensors: shapes, pads, scales) wait outside, as declared inputs.
    big = [i for i in model.graph.initializer if np.prod(i.dims) > _KEEP_FOR_CONVERTER]
    if big:
        names = {i.name for i in big}
        slim = onnx.ModelProto()
        slim.CopyFrom(model)
        kept = [i for i in slim.graph.initializer if i.name not in names]
        del slim.graph.initializer[:]
        slim.graph.initializer.extend(kept)
        listed = {vi.name for vi in slim.graph.input}
        slim.graph.input.extend(helper.make_tensor_value_info(i.name, i.data_type, list(i.dims))
                                for i in big if i.name not in listed)
        slim.ir_version = max(slim.ir_version, 4)  # inputs without initializers
        model = slim
    try:
        out = version_converter.convert_version(model, MIN_OPSET)
    except Exception as e:  # the converter raises bare RuntimeErrors with its reason
        raise PrepError(f"opset {have} -> {MIN_OPSET} conversion failed ({e}); per-channel "
                        f"quantization needs opset {MIN_OPSET}: export the model at opset "
                        f"{MIN_OPSET} or later") from None
    if big:
        # Listed as inputs before (IR < 4) or not, they are initializers again, not inputs:
        # ``_finish`` drops every initializer from the inputs anyway.
        out.graph.initializer.extend(big)
    out.ir_version = max(out.ir_version, 7)
    return out


def _ranks(model: onnx.ModelProto) -> dict[str, int]:
    """Rank of every value shape inference can tell (used to check per-channel broadcasts)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # an uninferable model only loses the folds that need a rank
        return {}
    g = inferred.graph
    return {vi.name: len(vi.type.tensor_type.shape.dim)
            for vi in [*g.input, *g.value_info, *g.output]
            if vi.type.tensor_type.HasField("shape")}


def fold_constant_nodes(model: onnx.ModelProto) -> tuple[dict[str, np.ndarray], int]:
    """Evaluate every node whose inputs are all constants; returns all constants by name
    and how many nodes were evaluated.

    ``model.graph`` keeps only the other nodes afterwards (initializers are rebuilt by
    ``_finish``).
    """
    from onnx.reference import ReferenceEvaluator

    g = model.graph
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    opsets = {o.domain or "": o.version for o in model.opset_import}
    keep = []
    for node in g.node:
        ins = [i for i in node.input if i]
        if (node.domain in ("", "ai.onnx") and node.op_type not in _NONDETERMINISTIC
                and all(i in consts for i in ins) and (ins or node.op_type == "Constant")):
            try:
                outs = ReferenceEvaluator(node, opsets=opsets).run(
                    None, {i: consts[i] for i in ins})
            except Exception:  # left to onnxruntime, which reports it in context
                keep.append(node)
                continue
            consts.update((n, np.asarray(v)) for n, v in zip(node.output, outs, strict=True)
                          if n)
            continue
        keep.append(node)
    folded = len(g.node) - len(keep)
    del g.node[:]
    g.node.extend(keep)
    return consts, folded


def _per_channel(c: np.ndarray, rank: int | None, channels: int) -> np.ndarray | None:
    """``c`` as a [channels] vector if it broadcasts along axis 1 of a rank-``rank`` tensor."""
    if rank is None:  # a scalar broadcasts to anything without changing the rank
        return np.full(channels, float(c.reshape(-1)[0])) if c.size == 1 and c.ndim <= 1 \
            else None
    if c.ndim > rank:  # the result would gain dims
        return None
    if c.size == 1:
        return np.full(channels, float(c.reshape(-1)[0]))
    shape = (1,) * (rank - c.ndim) + c.shape
    if rank < 2 or any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] != channels:
        return None
    return c.reshape(-1).astype(np.float64)


def _affine(node: onnx.NodeProto, data: str, consts: dict[str, np.ndarray], rank: int | None,
            channels: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(s, t) with node(x) = s * x + t per channel, when ``node`` is such an op on ``data``."""
    if node.op_type == "BatchNormalization":
        if node.input[0] != data or len([o for o in node.output if o]) != 1:
            return None
        if any(helper.get_attribute_value(a) for a in node.attribute
               if a.name == "training_mode"):
            return None
        if not all(p in consts for p in node.input[1:5]):
            return None
        scale, b, mean, var = (consts[p].astype(np.float64).reshape(-1)
                               for p in node.input[1:5])
        if scale.size != channels:
            return None
        eps = next((helper.get_attribute_value(a) for a in node.attribute
                    if a.name == "epsilon"), 1e-5)
        s = scale / np.sqrt(var + eps)
        return s, b - mean * s
    if node.op_type not in ("Mul", "Add") or len(node.input) != 2:
        return None
    other = node.input[1] if node.input[0] == data else node.input[0]
    if other not in consts or other == data:
        return None
    c = _per_channel(consts[other], rank, channels)
    if c is None:
        return None
    if node.op_type == "Mul":
        return c, np.zeros(channels)
    return np.ones(channels), c


def fold_affine(model: onnx.ModelProto, consts: dict[str, np.ndarray],
                ranks: dict[str, int]) -> int:
    """Fold per-channel affine ops into the Conv / BatchNormalization before them.

    Only when the producer's output has no other user (else it would be computed
    twice) and is not a graph output. Returns how many nodes were folded.
    """
    g = model.graph
    outputs = {o.name for o in g.output}
    uses = Counter(i for n in g.node for i in n.input if i)
    producer: dict[str, onnx.NodeProto] = {}
    keep: list[onnx.NodeProto] = []
    folded = 0
    for node in g.node:
        src = next((producer[i] for i in node.input[:2] if i in producer), None)
        if src is not None and _fold_into(src, node, consts, ranks, uses, outputs):
            producer[node.output[0]] = src
            folded += 1
            continue
        keep.append(node)
        for o in node.output:
            producer[o] = node
    del g.node[:]
    g.node.extend(keep)
    return folded


def _fold_into(src: onnx.NodeProto, node: onnx.NodeProto, consts: dict[str, np.ndarray],
               ranks: dict[str, int], uses: Counter, outputs: set[str]) -> bool:
    data = src.output[0]
    if uses[data] != 1 or data in outputs or data not in node.input:
        return False
    if src.op_type == "Conv" and src.input[1] in consts and (
            len(src.input) < 3 or not src.input[2] or src.input[2] in consts):
        w = consts[src.input[1]]
        st = _affine(node, data, consts, w.ndim, w.shape[0])
        if st is None:
            return False
        s, t = st
        b = consts[src.input[2]].astype(np.float64) if len(src.input) > 2 and src.input[2] \
            else np.zeros(w.shape[0])
        new_w = w.astype(np.float64) * s.reshape((-1,) + (1,) * (w.ndim - 1))
        _set(src, 1, new_w.astype(w.dtype), consts)
        _set(src, 2, (b * s + t).astype(w.dtype), consts)
    elif (src.op_type == "BatchNormalization" and len(src.output) == 1
          and all(p in consts for p in src.input[1:5]) and node.op_type != "BatchNormalization"):
        scale = consts[src.input[1]]
        st = _affine(node, data, consts, ranks.get(data), scale.size)
        if st is None:
            return False
        s, t = st  # BN(x) * s + t: scale and bias of the BN scaled by s, bias shifted by t
        beta = consts[src.input[2]].astype(np.float64).reshape(-1)
        _set(src, 1, (scale.astype(np.float64).reshape(-1) * s).astype(scale.dtype), consts)
        _set(src, 2, (beta * s + t).astype(scale.dtype), consts)
    else:
        return False
    src.output[0] = node.output[0]
    return True


_FOLDED = "_folded"


def _set(node: onnx.NodeProto, i: int, value: np.ndarray, consts: dict[str, np.ndarray]) -> None:
    """A fresh name (a weight shared with another node must keep its value there), reused
    when this node already has its own folded copy."""
    while len(node.input) <= i:
        node.input.append("")
    old = node.input[i]
    name = old if old.endswith(_FOLDED) else f"{old or node.output[0] + '_bias'}{_FOLDED}"
    consts[name] = value
    node.input[i] = name


def _finish(model: onnx.ModelProto, consts: dict[str, np.ndarray]) -> None:
    """Initializers = the constants still used; none of them listed as a graph input."""
    g = model.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    inits = [numpy_helper.from_array(np.asarray(consts[n]), n) for n in sorted(used & set(consts))]
    inputs = [vi for vi in g.input if vi.name not in consts]
    info = [vi for vi in g.value_info if vi.name not in consts]
    del g.initializer[:], g.input[:], g.value_info[:]
    g.initializer.extend(inits)
    g.input.extend(inputs)
    g.value_info.extend(info)
    model.ir_version = max(model.ir_version, 7)


def prepare_float(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    """The model ready for ``quantize_static``, and what was done (for the report)."""
    done = {"opset": default_opset(model)}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    out = upgrade_opset(out)
    # Ranks only matter for per-channel Mul/Add after a BatchNormalization; taken before
    # folding, while a model whose weights are generated is still small.
    ranks = _ranks(out) if any(n.op_type == "BatchNormalization" for n in out.graph.node) \
        else {}
    consts, done["folded_constants"] = fold_constant_nodes(out)
    done["folded_affine"] = fold_affine(out, consts, ranks)
    _finish(out, consts)
    return out, done
