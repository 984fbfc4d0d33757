"""Is a run's result right? `run --check output|layers|none` (docs/compile.md, "Numerics check").

``output``: each model output against onnxruntime, in units that separate the NPU's
requantization rounding (ties rounded half up instead of half to even: 1 LSB on a few
elements) from a miscompile (tens of LSB, a flipped top class, a large share of elements
off). ``layers`` (vendor_sdk.runtime.layer_check) adds every NPU layer bit for bit against
its integer reference and every host op against the reference executor, and names the
first layer that diverges. Either verdict is a :class:`CheckReport`; ``raise_if_failed``
turns a failed one into :class:`CheckError` (the CLI: exit 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.errors import VendorSdkError
from core.graph import Call, Constant, Module, Var

if TYPE_CHECKING:  # for the annotation only: layer_check pulls in the NPU session
    from vendor_sdk.runtime.layer_check import LayerReport

CHECKS = ("output", "layers", "none")

# Tolerances of an output against onnxruntime (chosen from measurements, docs/compile.md).
MAX_LSB = 4.0        # any element further off fails: rounding differences are 1-2 LSB
MAX_SHARE_2LSB = 0.01  # share of elements more than 1 LSB off
MAX_SHARE_OFF = 0.5    # share of elements off at all (a shifted zero point moves them all)
FLOAT_RTOL = 1e-3    # float outputs: |ours - ref| relative to the output's largest |ref|
# Ops an output may pass through after its DequantizeLinear without changing values.
_SAME_VALUES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity",
                "QuantizeLinear", "DequantizeLinear")


class CheckError(VendorSdkError):
    """A run's result disagrees with its reference beyond the tolerances."""


@dataclass(frozen=True)
class OutputKind:
    lsb: float | None   # scale of the DequantizeLinear nearest the output
    softmax: bool       # a Softmax lies on the value-preserving path to the output
    quantized: bool     # that DequantizeLinear comes after the Softmax (values on its grid)
    classifier: bool    # [N, C] with C > 1, or a softmax: top-1 agreement is reported


@dataclass(frozen=True)
class OutputCheck:
    name: str
    unit: str                 # "LSB" (quantized), "logit LSB" (float softmax), "rel" (float)
    lsb: float | None
    max_abs: float            # max |ours - onnxruntime| in the output's own values
    max_units: float          # the same in `unit`
    share_off: float          # share of elements off by 1 unit or more (0.5 for "rel")
    share_2: float            # share of elements more than 1 unit off
    top1: tuple[int, int] | None   # (rows whose top class agrees, rows)
    failures: tuple[str, ...]      # always wrong: shape, non-finite values, top class flipped
    # beyond the LSB / share / float tolerances: a miscompile, or 1-LSB rounding compounded
    # over many layers; the layer check tells which (CheckReport.explained)
    drift: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures and not self.drift

    def describe(self) -> str:
        fig = f"max {self.max_units:.3g} {self.unit}" if self.unit != "rel" else \
            f"max |d| / max |ref| = {self.max_units:.3g}"
        top = f", top-1 agrees on {self.top1[0]}/{self.top1[1]}" if self.top1 else ""
        share = f", {100 * self.share_off:.2f}% of elements off, {100 * self.share_2:.2f}% " \
                f"by more than 1 {self.unit}" if self.unit != "rel" else ""
        return f"{self.name}: {fig}{share}{top}"


@dataclass(frozen=True)
class CheckReport:
    mode: str
    outputs: tuple[OutputCheck, ...] = ()
    layers: LayerReport | None = None   # under --check layers

    @property
    def explained(self) -> bool:
        """Output drift beyond the tolerances is explained when the layer check ran and
        every layer agreed: each NPU layer bit for bit with its integer reference and
        within 1 LSB of the model's float QDQ semantics, each host op within 1 LSB of the
        reference executor, all on the values the run computed. What is left is rounding
        compounded over the layers (a deep net amplifies 1-LSB steps), not a miscompile."""
        return self.layers is not None and bool(getattr(self.layers, "ok", False))

    @property
    def ok(self) -> bool:
        return all(not o.failures and (self.explained or not o.drift) for o in self.outputs) \
            and (self.layers is None or self.explained)

    def failures(self) -> list[str]:
        out = [f"output {o.name}: {f}" for o in self.outputs
               for f in (*o.failures, *(() if self.explained else o.drift))]
        if self.layers is not None:
            out += list(getattr(self.layers, "failures", lambda: [])())
        return out

    def warnings(self) -> list[str]:
        """Drift the layer check explains (reported, not a failure)."""
        if not self.explained:
            return []
        return [f"output {o.name}: {d}; every layer agrees with its reference, so this is "
                "1-LSB rounding compounded over the layers" for o in self.outputs
                for d in o.drift]

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise CheckError("; ".join(self.failures()))


def output_kinds(module: Module) -> list[OutputKind]:
    """Per model output: the quantization step it is measured in, and whether it is a
    classifier's scores (walking back through value-preserving ops and a Softmax)."""
    main = module[module.entry]
    defs = {b.var.name: b.value for blk in main.blocks for b in blk.bindings}
    out = []
    for o in main.outputs:
        lsb, softmax, quantized = None, False, False
        v = defs.get(o.name) if isinstance(o, Var) else None
        while isinstance(v, Call) and (v.op in _SAME_VALUES or v.op == "Softmax"):
            if v.op == "Softmax":
                softmax = True
            elif v.op == "DequantizeLinear" and lsb is None and isinstance(v.args[1], Constant) \
                    and v.args[1].value.size == 1:
                lsb, quantized = float(v.args[1].value.reshape(-1)[0]), not softmax
            a = v.args[0]
            v = defs.get(a.name) if isinstance(a, Var) else None
        shape = o.tensor_type.shape if isinstance(o, Var) else ()
        rank2 = len(shape) == 2 and not (isinstance(shape[1], int) and shape[1] <= 1)
        out.append(OutputKind(lsb, softmax, quantized, softmax or rank2))
    return out


def check_output(name: str, ours: np.ndarray, ref: np.ndarray, kind: OutputKind) -> OutputCheck:
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    if a.shape != b.shape:
        return OutputCheck(name, "LSB", kind.lsb, float("inf"), float("inf"), 1.0, 1.0, None,
                           (f"shape {a.shape}, onnxruntime {b.shape}",))
    # NaN where onnxruntime has NaN (and equal infinities) agree; any other non-finite
    # value on either side is infinitely off (a NaN difference would pass every bound).
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    bad_values = ~same & ~(np.isfinite(a) & np.isfinite(b))
    with np.errstate(invalid="ignore"):
        d = np.where(same | bad_values, 0.0, np.abs(a - b))
    af, bf = (np.where(np.isfinite(x), np.abs(x), 0.0) for x in (a, b))  # scales: finite
    if kind.lsb and kind.quantized:
        unit, units = "LSB", d / kind.lsb
    elif kind.lsb:  # float probabilities: d p_i <= 2 p_i max|d logit|, in logit LSB
        unit, units = "logit LSB", d / (2 * kind.lsb * np.maximum(af, bf) + 1e-12)
    else:
        unit, units = "rel", d / max(float(bf.max(initial=0.0)), 1e-30)
    units = np.where(bad_values, np.inf, units)
    tol = 1 + 1e-3  # float noise of the scale multiply
    n = max(units.size, 1)
    top, failures, drift = _top1(a, b, kind, unit), [], []
    if bad_values.any():  # never rounding: no layer evidence explains it away
        i = np.unravel_index(int(np.argmax(bad_values)), bad_values.shape)
        failures.append(f"{int(bad_values.sum())} non-finite element(s) where the other side "
                        f"differs, first at index {list(map(int, i))}: ours {a[i]}, "
                        f"onnxruntime {b[i]}")
    max_u = float(units.max(initial=0.0))
    share_off, share_2 = float((units >= 1 - 1e-3).sum() / n), float((units > tol).sum() / n)
    if unit == "rel":
        if max_u > FLOAT_RTOL:
            drift.append(f"{max_u:.3g} of its range off at {_where(units)} (tolerance "
                            f"{FLOAT_RTOL:g})")
    else:
        if max_u > MAX_LSB * tol:
            drift.append(f"{max_u:.4g} {unit} off at {_where(units)} (tolerance {MAX_LSB:g})")
        if share_2 > MAX_SHARE_2LSB:
            drift.append(f"{100 * share_2:.2f}% of elements more than 1 {unit} off "
                            f"(tolerance {100 * MAX_SHARE_2LSB:g}%)")
        if share_off > MAX_SHARE_OFF:
            drift.append(f"{100 * share_off:.1f}% of elements off (tolerance "
                            f"{100 * MAX_SHARE_OFF:g}%)")
    if top is not None and top[2]:
        failures.append(top[2])
    return OutputCheck(name, unit, kind.lsb, float(d.max(initial=0.0)), max_u, share_off,
                       share_2, top[:2] if top else None, tuple(failures), tuple(drift))


def _where(units: np.ndarray) -> str:
    i = np.unravel_index(int(np.argmax(units)), units.shape)
    return f"index {list(map(int, i))}"


def _top1(a: np.ndarray, b: np.ndarray, kind: OutputKind,
          unit: str) -> tuple[int, int, str] | None:
    """(agreeing rows, rows, failure or ""). A flipped top class fails unless onnxruntime
    itself rates ours within 1 unit of its own top (a near tie rounding may flip)."""
    if not kind.classifier or a.ndim < 2 or a.size == 0:
        return None
    a2, b2 = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    if a2.shape[1] < 2:
        return None
    ours, ref = a2.argmax(1), b2.argmax(1)
    rows = np.arange(a2.shape[0])
    margin = b2[rows, ref] - b2[rows, ours]
    if unit == "LSB":
        slack = np.full(margin.shape, kind.lsb or 0.0)
    elif unit == "logit LSB":
        slack = 2 * (kind.lsb or 0.0) * b2[rows, ref]
    else:
        slack = np.full(margin.shape, FLOAT_RTOL * float(np.abs(b2).max(initial=0.0)))
    flipped = [int(r) for r in rows if margin[r] > slack[r] * (1 + 1e-3)]
    msg = ""
    if flipped:
        r = flipped[0]
        msg = (f"top class flipped in {len(flipped)} of {len(rows)} rows (row {r}: ours "
               f"{int(ours[r])} = {a2[r, ours[r]]:.4g}, onnxruntime {int(ref[r])} = "
               f"{b2[r, ref[r]]:.4g}, where onnxruntime rates ours {b2[r, ours[r]]:.4g})")
    return int((ours == ref).sum()), len(rows), msg


def check_outputs(names: Sequence[str], ours: Sequence[np.ndarray],
                  ref: Sequence[np.ndarray], kinds: Sequence[OutputKind]) -> list[OutputCheck]:
    if len(ours) != len(ref):
        raise CheckError(f"{len(ours)} outputs, onnxruntime gives {len(ref)}")
    return [check_output(n, a, b, k) for n, a, b, k in zip(names, ours, ref, kinds, strict=True)]
