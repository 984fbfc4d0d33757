"""One fuzz case: float spec -> onnxruntime QDQ quantizer -> compile -> fsim -> compare.

The comparison is with onnxruntime running the same quantized model, in LSB of the
output's scale: an element more than 2 LSB off, or more than 1% of the elements 1 LSB
off, is a miscompile. Every stage's failure is classified (``Outcome.cls``) so a run of
many seeds reports classes, not a pile of tracebacks.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from modelgen import Spec, build, feeds, random_spec

from vendor_sdk.runtime.compare import RunResult

# Quantizer option sets (onnxruntime quantize_static, QDQ, int8 weights). A seed takes
# one, in turn, so a run of N seeds covers each about N / 4 times.
OPTION_SETS: dict[str, dict[str, object]] = {
    "per-channel": {},
    "per-tensor": {"per_channel": False},
    "act-symmetric": {"symmetric_activations": True},   # ActivationSymmetric
    "uint8-act": {"activation_type": "uint8"},          # QUInt8 activations
}
# The same as `vendor-sdk quantize` flags (what a regression test passes to the CLI).
CLI_FLAGS: dict[str, list[str]] = {
    "per-channel": [], "per-tensor": ["--per-tensor"],
    "act-symmetric": ["--symmetric-activations"], "uint8-act": ["--activation-type", "uint8"],
}
CALIB_SAMPLES = 4
RUN_BATCH = 3       # a symbolic batch is compiled for SIZE_HINT and run at RUN_BATCH
SIZE_HINT = 2
MAX_LSB = 2.0       # an element further off than this is a failure
MAX_1LSB_SHARE = 0.01


@dataclass(frozen=True)
class Outcome:
    seed: int | None
    options: str
    compiled: bool
    offloaded: int
    total: int
    cls: str              # "ok" or the failure class
    detail: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.cls != "ok"


def options_for(seed: int) -> str:
    return list(OPTION_SETS)[seed % len(OPTION_SETS)]


def quantize(spec: Spec, options: str, out: Path) -> Path:
    """The spec's float model through `vendor-sdk quantize` (its float preparation, then
    onnxruntime's quantize_static, QDQ) under an option set; calibration: CALIB_SAMPLES
    seeded random inputs in [0, 1), like the run's inputs."""
    from vendor_sdk.runtime.quantize import QuantizeOptions, quantize_model

    fp = out.with_suffix(".float.onnx")
    onnx.save(build(spec), str(fp))
    logging.getLogger().setLevel(logging.ERROR)
    quantize_model(fp, out, random=CALIB_SAMPLES, seed=1000,
                   options=QuantizeOptions(**OPTION_SETS[options]))  # type: ignore[arg-type]
    return out


def lsb_error(ours: np.ndarray, ref: np.ndarray, lsb: float | None) -> str:
    """Empty when within tolerance, else what is off."""
    if ours.shape != ref.shape:
        return f"shape {ours.shape} != onnxruntime {ref.shape}"
    d = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    if d.size == 0:
        return ""
    if lsb is None:  # a float output (no final DequantizeLinear): host float vs onnxruntime
        tol = 1e-3 * max(1.0, float(np.abs(ref).max()))
        return "" if d.max() <= tol else f"float output off by {d.max():.4g}"
    n = d / lsb
    off1 = float(np.mean(n > 0.5))
    if n.max() > MAX_LSB + 1e-3 or off1 > MAX_1LSB_SHARE:
        return f"max {n.max():.1f} LSB off, {100 * off1:.1f}% of elements off"
    return ""


def _classify(e: BaseException, stage: str) -> tuple[str, str]:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    # Class = stage + exception type + the message without names and numbers, so the
    # same bug in different models groups together.
    key = re.sub(r"'[^']*'|\"[^\"]*\"|\b[\w/.]*\d[\w/.]*\b", "_", msg)[:70]
    tb = traceback.extract_tb(e.__traceback__)
    where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{stage}: {type(e).__name__}: {key}", f"{msg[:300]} [{where}]"


def run_case(spec: Spec, options: str, seed: int | None = None,
             work: Path | None = None) -> Outcome:
    from vendor_sdk.compile import compile_model
    from vendor_sdk.runtime.compare import output_lsbs, run_compiled

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        d = work or Path(tmp)
        q = d / f"fuzz{'' if seed is None else seed}.int8.onnx"
        try:
            quantize(spec, options, q)
        except Exception as e:
            cls, detail = _classify(e, "quantize")
            return Outcome(seed, options, False, 0, 0, cls, detail, time.perf_counter() - t0)
        batch = spec.batch if isinstance(spec.batch, int) else RUN_BATCH
        try:
            c = compile_model(q, "reference_npu", {"N": SIZE_HINT})
        except Exception as e:
            cls, detail = _classify(e, "compile")
            return Outcome(seed, options, False, 0, 0, cls, detail, time.perf_counter() - t0)
        off, total = c.report.coverage
        try:
            r = run_compiled(c, q, feeds(spec, batch, 7), "fsim", check="layers")
        except Exception as e:
            cls, detail = _classify(e, "run")
            return Outcome(seed, options, True, off, total, cls, detail,
                           time.perf_counter() - t0)
        cls, detail = verdict(r, output_lsbs(c.module),
                              lambda: unfused_outputs(q, feeds(spec, batch, 7)))
        return Outcome(seed, options, True, off, total, cls, detail, time.perf_counter() - t0)


def verdict(r: RunResult, lsbs: list[float | None],
            unfused: Callable[[], list[np.ndarray]]) -> tuple[str, str]:
    """(class, detail) of a run under `--check layers`, then the fuzzer's stricter rule.

    A diverging layer is classed by where it runs, its op and pattern (the same bug in
    different models groups together). An output that is off only against onnxruntime's
    fused QLinear kernels (a table softmax, say, rounds differently from the model's
    DequantizeLinear -> op -> QuantizeLinear) but agrees with unfused onnxruntime is right;
    if `run --check` fails it anyway, that is a false alarm of the check (its own class)."""
    layers = r.check.layers
    first = getattr(layers, "first_divergence", None)
    if first is not None:
        pat = f" ({first.pattern})" if first.pattern else ""
        return f"layer: {first.where} {first.op}{pat}", first.describe()[:300]
    ours_off = _off(r.outputs, r.reference, lsbs)
    if not r.check.ok or ours_off:
        if not _off(r.outputs, unfused(), lsbs):
            if r.check.ok:
                return "ok", "matches unfused onnxruntime"
            # Right by the model's semantics, yet `run` exits 1: its reference is the
            # optimized session, whose fused kernels round differently.
            return "check false alarm: fused onnxruntime kernels", \
                "; ".join(r.check.failures())[:300]
        if not r.check.ok:
            return "output check", "; ".join(r.check.failures())[:300]
        return _mismatch_class(ours_off), ours_off
    return "ok", ""


def _mismatch_class(bad: str) -> str:
    """Coarse kinds of disagreement, so the minimiser keeps to one bug."""
    if not bad:
        return "ok"
    # Only past `--check output`'s looser tolerances (every layer agreed): what is left
    # is an integer reference that itself disagrees with onnxruntime.
    if "float output" in bad:
        return "mismatch: float output"
    if "shape" in bad:
        return "mismatch: shape"
    worst = max(float(m) for m in re.findall(r"max ([\d.]+) LSB", bad))
    if worst <= MAX_LSB + 1e-3:
        return f"mismatch: {worst:.0f} LSB on > 1% of elements"
    return "mismatch: > 2 LSB"


def _off(ours: list[np.ndarray], ref: list[np.ndarray], lsbs: list[float | None]) -> str:
    errs = [lsb_error(a, b, lsb) for a, b, lsb in zip(ours, ref, lsbs, strict=True)]
    return "; ".join(e for e in errs if e)


def unfused_outputs(path: Path, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """onnxruntime without graph optimizations: the QDQ model's semantics node by node."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    return list(ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
                .run(None, inputs))


def run_seed(seed: int) -> Outcome:
    return run_case(random_spec(seed), options_for(seed), seed)


def explain(spec: Spec, options: str) -> str:
    """Where a mismatch starts (tests/fuzz/layercheck.py), as a class suffix: a 1-LSB
    rounding flip that later layers amplify groups apart from a layer that is really off."""
    from layercheck import first_difference

    with tempfile.TemporaryDirectory() as tmp:
        q = quantize(spec, options, Path(tmp) / "m.int8.onnx")
        batch = spec.batch if isinstance(spec.batch, int) else RUN_BATCH
        d = first_difference(q, feeds(spec, batch, 7), SIZE_HINT)
    if d is None:
        return "no activation differs from unfused onnxruntime"
    where = f"{'NPU' if d.on_npu else 'host'} {d.op}"
    if d.max_lsb <= 1.0 + 1e-3:
        return f"starts as 1-LSB flips at {where}"
    return f"starts {d.max_lsb:.0f} LSB off at {where}"
