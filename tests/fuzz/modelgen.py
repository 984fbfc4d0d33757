"""Random realistic float ONNX models from a seed (onnx.helper, opset 17).

A model is a ``Spec``: a batch, an input and a list of ``Block``s, each a frozen record of
one CNN / MLP / transformer building block with its own weight seed. ``build(spec)`` walks
the blocks over a tensor state (kind + shape); a block that does not apply to the current
state (after a minimiser dropped the block before it) is skipped, and kernel sizes shrink to
fit small inputs, so every subset of a spec's blocks is a valid model. That is what makes
failures minimisable by dropping blocks (``minimise.py``) and lets a regression test state
its model as a literal ``Spec``.

Weights are He-initialised (std sqrt(2 / fan_in)) and biases small, so activations of
inputs in [0, 1) neither saturate nor vanish through a dozen layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
DIM = 8  # the reference NPU's default array size: channel counts on and off its multiples


@dataclass(frozen=True)
class Block:
    kind: str
    seed: int
    params: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)

    def __repr__(self) -> str:  # a regression test states its blocks literally
        ps = ", ".join(f"({k!r}, {v!r})" for k, v in self.params)
        return f"Block({self.kind!r}, {self.seed}, ({ps}{',' if len(self.params) == 1 else ''}))"


@dataclass(frozen=True)
class Spec:
    batch: int | str            # 1, 2 or "N" (symbolic)
    kind: str                   # input kind: img (N,C,H,W), c1d (N,C,L), vec (N,F), tok (N,T,D)
    shape: tuple[int, ...]      # input shape without the batch
    blocks: tuple[Block, ...] = field(default=())


# --------------------------------------------------------------------------- random specs

ACTS = ("none", "relu", "relu", "relu6", "clip", "leaky", "sigmoid")


def _act(rng: np.random.Generator) -> str:
    return str(rng.choice(ACTS))


def _channels(rng: np.random.Generator, big: bool) -> int:
    # On and off multiples of DIM, biased to the multiples real networks use; a big model
    # spans several tiles of the NPU (partial tiles in rows and lanes).
    return int(rng.choice([36, 40, 48, 64, 72, 64, 96, 100, 128, 136] if big else
                          [4, 6, 8, 8, 12, 16, 16, 20, 24, 32]))


def _block(rng: np.random.Generator, kind: str, seed: int, big: bool = False) -> Block:
    """One block that applies to a state of ``kind``."""
    spatial = kind in ("img", "c1d")
    choices = (["conv"] * 6 + ["residual"] * 3 + ["pool"] * 2 + ["gpool", "flatten", "affine"]
               + (["to_tok"] if kind == "img" else [])) if spatial else \
        (["dense"] * 5 + ["dense_residual"] * 2 + ["softmax", "layernorm", "affine"]
         + (["attention"] * 2 + ["transpose"] if kind == "tok" else ["to_tok"]))
    k = str(rng.choice(choices))
    p: dict[str, Any] = {}
    if k == "conv":
        groups = str(rng.choice(["1"] * 6 + ["dw", "dw", "g"]))
        p = {"co": _channels(rng, big), "k": int(rng.choice([1, 1, 3, 3, 3, 5, 7])),
             "stride": int(rng.choice([1, 1, 1, 2])), "dilation": int(rng.choice([1, 1, 1, 2])),
             "pad": str(rng.choice(["same", "same", "valid", "asym"])), "groups": groups,
             "bias": bool(rng.random() < 0.85), "act": _act(rng)}
    elif k == "residual":
        p = {"k": int(rng.choice([1, 3])), "op": str(rng.choice(["Add", "Add", "Mul", "Concat"])),
             "swap": bool(rng.random() < 0.5), "gain": float(rng.choice([0.25, 1.0, 4.0])),
             "act": str(rng.choice(["none", "relu"]))}
    elif k == "pool":
        p = {"op": str(rng.choice(["MaxPool", "MaxPool", "AveragePool"])),
             "k": int(rng.choice([2, 3])), "stride": int(rng.choice([1, 2, 2])),
             "pad": bool(rng.random() < 0.3)}
    elif k == "gpool":
        p = {"op": str(rng.choice(["GlobalAveragePool", "GlobalMaxPool"]))}
    elif k == "dense":
        p = {"n": int(rng.choice([72, 100, 128, 136, 192, 256, 264] if big else
                                 [8, 10, 16, 24, 32, 40, 64])),
             "op": str(rng.choice(["Gemm", "MatMul"])), "bias": bool(rng.random() < 0.75),
             "transB": bool(rng.random() < 0.5), "act": _act(rng)}
    elif k == "dense_residual":
        p = {"swap": bool(rng.random() < 0.5), "act": str(rng.choice(["none", "relu"])),
             "gain": float(rng.choice([0.25, 1.0, 4.0]))}
    elif k == "affine":
        p = {"ops": str(rng.choice(["mul_add", "mul", "add"])), "swap": bool(rng.random() < 0.5)}
    elif k == "attention":
        p = {"d": int(rng.choice([8, 12, 16])), "residual": bool(rng.random() < 0.5)}
    elif k == "to_tok":
        p = {"parts": int(rng.choice([2, 4]))}
    return Block(k, seed, tuple(p.items()))


BIG_SHARE = 0.25


def random_spec(seed: int) -> Spec:
    rng = np.random.default_rng(seed)
    # Drawn apart so a small seed's spec does not depend on the big ones' sizes.
    big = bool(np.random.default_rng([seed, 1]).random() < BIG_SHARE)
    batch: int | str = [1, 1, 2, "N"][int(rng.integers(4))]
    kind = str(rng.choice(["img", "img", "img", "c1d", "vec", "tok"]))
    if kind == "img":
        s = int(rng.choice([12, 17, 20, 24, 32] if big else [6, 8, 10, 12, 16]))
        shape: tuple[int, ...] = (int(rng.choice([3, 4, 8, 16])), s, s)
    elif kind == "c1d":
        shape = (int(rng.choice([4, 8, 12, 16])),
                 int(rng.choice([96, 130, 200, 256] if big else [12, 16, 24, 32])))
    elif kind == "vec":
        shape = (int(rng.choice([100, 128, 200, 256] if big else [16, 24, 32, 64])),)
    else:
        shape = (int(rng.choice([4, 6, 8])), int(rng.choice([8, 16, 24])))
    blocks: list[Block] = []
    state = _State("x", kind, (batch, *shape))
    for i in range(int(rng.integers(2, 7))):
        b = _block(rng, state.kind, seed * 100 + i, big)
        if b.kind == "pool" and b.get("op") == "AveragePool" and b.get("pad"):
            # PyTorch's AvgPool default counts the padding; drawn apart (stable specs).
            inc = bool(np.random.default_rng([seed, 2, i]).random() < 0.5)
            b = replace(b, params=(*b.params, ("include_pad", inc)))
        blocks.append(b)
        state = _Builder(Spec(batch, kind, shape, tuple(blocks))).state  # follow the kind
    return Spec(batch, kind, shape, tuple(blocks))


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _State:
    name: str
    kind: str
    shape: tuple[int | str, ...]


class _Builder:
    """Walks a spec's blocks; ``nodes``/``inits`` make the graph, ``state`` its output."""

    def __init__(self, spec: Spec) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        self.n = 0
        self.state = _State("x", spec.kind, (spec.batch, *spec.shape))
        self.input = self.state
        for b in spec.blocks:
            rng = np.random.default_rng(b.seed)
            fn = getattr(self, f"_{b.kind}")
            out = fn(b, self.state, rng)
            if out is not None:
                self.state = out

    # helpers -------------------------------------------------------------------------

    def _name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def _node(self, op: str, ins: list[str], **attrs: Any) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=f"n_{out}", **attrs))
        return out

    def _init(self, stem: str, v: np.ndarray) -> str:
        name = self._name(stem)
        self.inits[name] = v.astype(v.dtype if v.dtype == np.int64 else np.float32)
        return name

    def _he(self, rng: np.random.Generator, shape: tuple[int, ...], fan_in: int,
            gain: float = 1.0) -> str:
        return self._init("w", rng.normal(0, gain * math.sqrt(2.0 / fan_in), shape))

    def _bias(self, rng: np.random.Generator, n: int) -> str:
        return self._init("b", rng.uniform(-0.1, 0.2, n))

    def _apply_act(self, x: str, act: str) -> str:
        if act == "relu":
            return self._node("Relu", [x])
        if act == "relu6":
            return self._node("Clip", [x, self._init("lo", np.array(0.0)),
                                       self._init("hi", np.array(6.0))])
        if act == "clip":
            return self._node("Clip", [x, self._init("lo", np.array(-1.0)),
                                       self._init("hi", np.array(1.5))])
        if act == "leaky":
            return self._node("LeakyRelu", [x], alpha=0.1)
        if act == "sigmoid":
            return self._node("Sigmoid", [x])
        return x

    # spatial blocks ----------------------------------------------------------------------

    def _conv_node(self, x: _State, co: int, k: int, stride: int, dilation: int, pad: str,
                   group: int, bias: bool, rng: np.random.Generator,
                   gain: float = 1.0) -> _State:
        ci, sp = int(x.shape[1]), [int(s) for s in x.shape[2:]]
        # Shrink the kernel until its dilated extent fits the smallest spatial extent.
        while k > 1 and (k - 1) * dilation + 1 > min(sp) + (0 if pad == "valid" else k - 1):
            k -= 2 if k > 2 else 1
        ext = (k - 1) * dilation + 1
        nd = len(sp)
        if pad == "same":
            pads = [(ext - 1) // 2] * nd + [ext - 1 - (ext - 1) // 2] * nd
        elif pad == "asym":
            pads = [ext - 1] * nd + [0] * nd
        else:
            pads = [0] * (2 * nd)
        out_sp = [(s + pads[i] + pads[i + nd] - ext) // stride + 1 for i, s in enumerate(sp)]
        if min(out_sp) < 1:
            return x
        w = self._he(rng, (co, ci // group, *([k] * nd)), ci // group * k ** nd, gain)
        ins = [x.name, w] + ([self._bias(rng, co)] if bias else [])
        y = self._node("Conv", ins, kernel_shape=[k] * nd, strides=[stride] * nd,
                       dilations=[dilation] * nd, pads=pads, group=group)
        return _State(y, x.kind, (x.shape[0], co, *out_sp))

    def _conv(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("img", "c1d"):
            return None
        ci, co = int(x.shape[1]), int(b.get("co"))
        g = {"1": 1, "dw": ci, "g": math.gcd(ci, co)}[b.get("groups")]
        if g == ci:
            co = ci  # depthwise keeps the channels (multiplier 1)
        y = self._conv_node(x, co, b.get("k"), b.get("stride"), b.get("dilation"), b.get("pad"),
                            g, b.get("bias"), rng)
        return replace(y, name=self._apply_act(y.name, b.get("act"))) if y is not x else None

    def _residual(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("img", "c1d"):
            return None
        c = int(x.shape[1])
        br = self._conv_node(x, c, b.get("k"), 1, 1, "same", 1, True, rng, b.get("gain"))
        if br is x:
            return None
        r = self._node("Relu", [br.name])
        # PyTorch writes `branch + shortcut`; both orders reach the quantizer.
        a, s = (x.name, r) if b.get("swap") else (r, x.name)
        op = b.get("op")
        if op == "Concat":
            y = self._node("Concat", [a, s], axis=1)
            return _State(self._apply_act(y, b.get("act")), x.kind, (x.shape[0], 2 * c,
                                                                      *x.shape[2:]))
        y = self._node(op, [a, s])
        return replace(x, name=self._apply_act(y, b.get("act")))

    def _pool(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("img", "c1d"):
            return None
        sp = [int(s) for s in x.shape[2:]]
        k, st = b.get("k"), b.get("stride")
        nd = len(sp)
        pads = [k // 2] * (2 * nd) if b.get("pad") else [0] * (2 * nd)
        out = [(s + 2 * pads[0] - k) // st + 1 for s in sp]
        if min(out) < 1 or min(sp) < k:
            return None
        extra = {"count_include_pad": 1} if b.get("include_pad") else {}
        y = self._node(b.get("op"), [x.name], kernel_shape=[k] * nd, strides=[st] * nd,
                       pads=pads, **extra)
        return _State(y, x.kind, (*x.shape[:2], *out))

    def _gpool(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("img", "c1d"):
            return None
        y = self._node("Flatten", [self._node(b.get("op"), [x.name])], axis=1)
        return _State(y, "vec", (x.shape[0], x.shape[1]))

    def _flatten(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("img", "c1d"):
            return None
        f = int(np.prod([int(s) for s in x.shape[1:]]))
        if f > 1024:
            return None
        return _State(self._node("Flatten", [x.name], axis=1), "vec", (x.shape[0], f))

    def _to_tok(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind == "img":  # (N, C, H, W) -> (N, H*W, C): patches as tokens
            c = int(x.shape[1])
            r = self._node("Reshape", [x.name, self._init("shape", np.array([0, c, -1],
                                                                           np.int64))])
            t = int(np.prod([int(s) for s in x.shape[2:]]))
            return _State(self._node("Transpose", [r], perm=[0, 2, 1]), "tok",
                          (x.shape[0], t, c))
        if x.kind == "vec":
            f, parts = int(x.shape[1]), b.get("parts")
            if f % parts:
                return None
            r = self._node("Reshape", [x.name, self._init("shape", np.array(
                [0, parts, f // parts], np.int64))])
            return _State(r, "tok", (x.shape[0], parts, f // parts))
        return None

    def _affine(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        """A per-channel scale and/or shift by constants (a folded norm, an SE-style gate
        frozen), constant operand first or second."""
        chan = 1 if x.kind in ("img", "c1d") else len(x.shape) - 1
        c = int(x.shape[chan])
        shape = (c, *([1] * (len(x.shape) - 1 - chan)))
        y = x.name
        for op in ("Mul", "Add"):
            if op.lower() in b.get("ops"):
                v = rng.uniform(0.5, 1.5, shape) if op == "Mul" else rng.uniform(-0.3, 0.3, shape)
                k = self._init(op.lower(), v)
                y = self._node(op, [k, y] if b.get("swap") else [y, k])
        return replace(x, name=y)

    # vector / token blocks -----------------------------------------------------------------

    def _dense_node(self, x: _State, n: int, op: str, bias: bool, trans_b: bool,
                    rng: np.random.Generator, gain: float = 1.0) -> str:
        k = int(x.shape[-1])
        if op == "Gemm" and len(x.shape) == 2:
            w = self._he(rng, (n, k) if trans_b else (k, n), k, gain)
            ins = [x.name, w] + ([self._bias(rng, n)] if bias else [])
            return self._node("Gemm", ins, transB=int(trans_b))
        y = self._node("MatMul", [x.name, self._he(rng, (k, n), k, gain)])
        return self._node("Add", [y, self._bias(rng, n)]) if bias else y

    def _dense(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("vec", "tok"):
            return None
        n = b.get("n")
        y = self._dense_node(x, n, b.get("op"), b.get("bias"), b.get("transB"), rng)
        return _State(self._apply_act(y, b.get("act")), x.kind, (*x.shape[:-1], n))

    def _dense_residual(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("vec", "tok"):
            return None
        f = int(x.shape[-1])
        r = self._node("Relu", [self._dense_node(x, f, "MatMul", True, False, rng,
                                                  b.get("gain"))])
        a, s = (x.name, r) if b.get("swap") else (r, x.name)
        return replace(x, name=self._apply_act(self._node("Add", [a, s]), b.get("act")))

    def _softmax(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("vec", "tok"):
            return None
        return replace(x, name=self._node("Softmax", [x.name], axis=-1))

    def _layernorm(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind not in ("vec", "tok"):
            return None
        f = int(x.shape[-1])
        g = self._init("gamma", rng.uniform(0.5, 1.5, f))
        be = self._init("beta", rng.uniform(-0.2, 0.2, f))
        return replace(x, name=self._node("LayerNormalization", [x.name, g, be], axis=-1))

    def _transpose(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind != "tok":
            return None
        return _State(self._node("Transpose", [x.name], perm=[0, 2, 1]), "tok",
                      (x.shape[0], x.shape[2], x.shape[1]))

    def _attention(self, b: Block, x: _State, rng: np.random.Generator) -> _State | None:
        if x.kind != "tok":
            return None
        dm, d = int(x.shape[2]), b.get("d")
        q, k, v = (self._node("MatMul", [x.name, self._he(rng, (dm, d), dm)]) for _ in range(3))
        s = self._node("MatMul", [q, self._node("Transpose", [k], perm=[0, 2, 1])])
        s = self._node("Mul", [s, self._init("scale", np.array(1.0 / math.sqrt(d)))])
        o = self._node("MatMul", [self._node("Softmax", [s], axis=-1), v])
        o = self._node("MatMul", [o, self._he(rng, (d, dm), d)])
        if b.get("residual"):
            o = self._node("Add", [x.name, o])
        return replace(x, name=o)


def build(spec: Spec, name: str = "fuzz") -> onnx.ModelProto:
    """The float model of a spec (checked by onnx's checker and full shape inference)."""
    bld = _Builder(spec)
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(bld.input.shape))
    nodes = list(bld.nodes)
    if not nodes:  # every block was skipped: an identity model still runs through the SDK
        nodes = [helper.make_node("Relu", ["x"], ["relu0"], name="n_relu0")]
        out_name, out_shape = "relu0", bld.input.shape
    else:
        out_name, out_shape = bld.state.name, bld.state.shape
    out = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, list(out_shape))
    g = helper.make_graph(nodes, name, [inp], [out],
                          [numpy_helper.from_array(v, k) for k, v in bld.inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def feeds(spec: Spec, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Inputs in [0, 1) like the calibration samples (a symbolic batch takes ``batch``)."""
    b = spec.batch if isinstance(spec.batch, int) else batch
    return {"x": np.random.default_rng(seed).random((b, *spec.shape), np.float32)}
