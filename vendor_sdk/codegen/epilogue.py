"""What follows a composite's core op up to its output QuantizeLinear, as integers.

A layer ends in one requantization ``clamp(zp + round(acc * M), lo, hi)``. The ops after
the core (Conv / MatMul / Add / MaxPool, or a lone activation) map onto it as follows:

- Relu / Clip become the clamp. The output quantization ``Q`` is monotone, so
  ``Q(clip(v, mn, mx)) = clamp(Q(v), Q(mn), Q(mx))`` exactly (Relu: ``mn = 0``,
  ``Q(0) = zp``). ``Q(mn)`` is computed as onnxruntime's QuantizeLinear does (float32
  division, round half to even, saturate), so the bounds are exact.
- An ``Add`` before any activation is a GEMM's bias (folded into the accumulator).
- A ``QuantizeLinear -> DequantizeLinear`` inside the chain (onnxruntime writes
  ``Conv -> Q -> DQ -> Relu -> Q`` for symmetric activations) folds only when it has the
  output's scale and zero point: then ``Q(DQ(q)) = q`` and the chain is the one
  requantization with the clamp. With other parameters the ops after it round a second
  time from the int8 value; one requantization cannot reproduce that, so the matcher
  leaves them to a layer of their own and a composite holding one is refused here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.graph import Call, Constant, Function, Var
from vendor_sdk.codegen.cexpr import CodegenError

INT8 = (-128, 127)


@dataclass(frozen=True)
class Epilogue:
    bias: tuple[object, ...]  # the other operand of each Add between the core and the clamp
    scale: float              # the output QuantizeLinear's
    zp: int
    lo: int                   # the clamp, in output integers
    hi: int
    activation: str           # "" or the ops that became the clamp, for comments


def quantize_bound(v: float, scale: float, zp: int) -> int:
    """onnxruntime's QuantizeLinear of one float32 value to int8."""
    if math.isinf(v):
        return INT8[0] if v < 0 else INT8[1]
    q = float(np.rint(np.float32(v) / np.float32(scale))) + zp
    return int(min(max(q, INT8[0]), INT8[1]))


def _qparams(c: Call, where: str) -> tuple[float, int]:
    scale, zp = c.args[1], c.args[2] if len(c.args) > 2 else None
    if not isinstance(scale, Constant) or (zp is not None and not isinstance(zp, Constant)):
        raise CodegenError(f"{where}: {c.op} scale and zero point must be constants")
    if scale.value.size != 1 or (zp is not None and zp.value.size != 1):
        raise CodegenError(f"{where}: {c.op} must quantize per tensor")
    return float(scale.value.reshape(-1)[0]), int(zp.value.reshape(-1)[0]) if zp else 0


def _clip_bounds(c: Call, where: str) -> tuple[float, float]:
    """Clip's (min, max) from its constant inputs (the frontend turns opset-6 attributes
    into inputs); an absent bound is infinite."""
    out = []
    for k, default in ((1, -math.inf), (2, math.inf)):
        a = c.args[k] if len(c.args) > k else None
        if a is None:
            out.append(default)
        elif isinstance(a, Constant) and a.value.size == 1:
            out.append(float(a.value.reshape(-1)[0]))
        else:
            what = ("min", "max")[k - 1]
            raise CodegenError(f"{where}: Clip {what} is not a constant scalar (the NPU "
                               "clamps at bounds fixed at compile time)")
    return out[0], out[1]


def epilogue(f: Function, calls: Mapping[str, Call], start: str, core: str,
             bias: bool) -> Epilogue:
    """Walk from binding ``start`` (the core op's result) to the composite's output
    QuantizeLinear; ``bias``: an Add before the activation is the core's bias."""
    users = {a.name: n for n, c in calls.items() for a in c.args if isinstance(a, Var)}
    out = f.outputs[0].name if isinstance(f.outputs[0], Var) else ""
    adds: list[object] = []
    mn, mx = -math.inf, math.inf
    acts: list[str] = []
    inner: list[tuple[str, float, int]] = []  # folded Q -> DQ pairs
    cur = start
    while (nxt := users.get(cur)) is not None:
        c = calls[nxt]
        if c.op == "QuantizeLinear":
            if nxt == out:
                break
            dq = users.get(nxt)
            s, z = _qparams(c, f.name)
            if dq is None or calls[dq].op != "DequantizeLinear" or \
                    _qparams(calls[dq], f.name) != (s, z):
                raise CodegenError(f"{f.name}: QuantizeLinear {nxt} inside the composite is "
                                   "not undone by a DequantizeLinear with its parameters")
            inner.append((nxt, s, z))
            cur = dq
            continue
        if c.op == "Add" and bias and not acts and not inner:
            adds.append(next(a for a in c.args if not (isinstance(a, Var) and a.name == cur)))
        elif c.op == "Relu":
            mn = max(mn, 0.0)
            acts.append("Relu")
        elif c.op == "Clip":
            lo, hi = _clip_bounds(c, f.name)
            mn, mx = max(mn, lo), min(mx, hi)
            acts.append(f"Clip({lo:g}, {hi:g})")
        else:
            after = "after a QuantizeLinear " if inner else ""
            raise CodegenError(f"{f.name}: {c.op} {after}after {core} has no NPU epilogue")
        cur = nxt
    else:
        raise CodegenError(f"{f.name}: the result is not quantized (no QuantizeLinear)")
    scale, zp = _qparams(calls[nxt], f.name)
    for name, s, z in inner:
        if (s, z) != (scale, zp):
            raise CodegenError(
                f"{f.name}: QuantizeLinear {name} requantizes inside the composite (scale "
                f"{s:.6g}, zero point {z} vs the output's {scale:.6g}, {zp}): the ops after it "
                "round a second time and must be a layer of their own")
    if mn > mx:
        raise CodegenError(f"{f.name}: {' then '.join(acts)} clamps to an empty range")
    lo, hi = quantize_bound(mn, scale, zp), quantize_bound(mx, scale, zp)
    return Epilogue(tuple(adds), scale, zp, lo, hi, " then ".join(acts))
