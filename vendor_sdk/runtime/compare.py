"""Run a compiled model on an NPU backend and compare it with onnxruntime.

Agreement is measured in the output's quantization step (1 LSB = the scale of
the final DequantizeLinear): max |ours - onnxruntime| and the share of
elements within 1 LSB. Performance: per region, and per layer when the target
takes counter snapshots, the backend's cycles (fsim: analytic estimate; rtl:
measured), the layers' multiply-accumulates, the ideal MAC-bound cycles
(MACs / the target's peak_macs_per_cycle) and utilization (ideal / cycles).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.builder import sanitize
from core.graph import Call, Constant, Module, Var
from vendor_sdk.compile import Compiled
from vendor_sdk.runtime.check import CHECKS, CheckReport, check_outputs, output_kinds
from vendor_sdk.runtime.npu import NpuSession, RegionStats, RunError, run_model
from vendor_sdk.runtime.perf import LayerStats, peak_macs_per_cycle


@dataclass(frozen=True)
class Agreement:
    name: str
    max_abs: float
    lsb: float | None        # output scale, when the output is a DequantizeLinear
    within_1lsb: float       # fraction of elements
    exact: float             # fraction bit-identical


@dataclass(frozen=True)
class RunResult:
    outputs: list[np.ndarray]
    reference: list[np.ndarray]
    agreement: list[Agreement]
    stats: list[RegionStats]
    peak: int | None  # the target's peak_macs_per_cycle (None: no utilization)
    backend: str
    check: CheckReport = field(default_factory=lambda: CheckReport("none"))
    # against onnxruntime at its default optimization level (fused QLinear kernels): what
    # a deployment computes; information, the verdict is `check`'s
    deployed: list[Agreement] = field(default_factory=list)

    @property
    def cycles(self) -> int:
        return sum(s.cycles for s in self.stats)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.stats)

    @property
    def ideal(self) -> float:
        """MAC-bound cycles of the offloaded layers (0 when the target declares no peak)."""
        return self.macs / self.peak if self.peak else 0.0

    @property
    def layers(self) -> list[tuple[str, LayerStats]] | None:
        """(region, layer) in execution order; None when a region has no per-layer counters
        (the target takes no snapshots)."""
        if any(s.layers is None for s in self.stats):
            return None
        return [(s.name, ls) for s in self.stats for ls in s.layers or ()]


def output_lsbs(module: Module) -> list[float | None]:
    main = module[module.entry]
    defs = {b.var.name: b.value for blk in main.blocks for b in blk.bindings}
    out: list[float | None] = []
    for o in main.outputs:
        v = defs.get(o.name) if isinstance(o, Var) else None
        if isinstance(v, Call) and v.op == "DequantizeLinear" and isinstance(v.args[1], Constant) \
                and v.args[1].value.size == 1:
            out.append(float(v.args[1].value.reshape(-1)[0]))
        else:
            out.append(None)
    return out


def model_inputs(path: Path, batch: int = 1, seed: int = 0,
                 npz: Path | None = None,
                 sizes: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """The model's data inputs, each in its own ONNX dtype (float32, float16, int64 token
    ids, ...): read from ``npz`` (by input name), or random (floats in [0, 1), integers
    in [0, 8); symbolic dims ``batch``, or their value in ``sizes``). A missing, extra or
    unconvertible array in ``npz`` is a RunError."""
    import onnx

    from vendor_sdk.runtime.quantize import input_shapes

    try:
        model = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise
    except Exception as e:  # protobuf's DecodeError and friends: not a model file
        raise RunError(f"{path}: not an ONNX model ({type(e).__name__}: {e})") from None
    try:
        shapes = input_shapes(model, batch, sizes)
    except ValueError as e:
        raise RunError(f"{path}: {e}") from None
    dtypes = {vi.name: np.dtype(onnx.helper.tensor_dtype_to_np_dtype(
        vi.type.tensor_type.elem_type)) for vi in model.graph.input if vi.name in shapes}
    if npz is not None:
        dims = {vi.name: [d.dim_value if d.HasField("dim_value") else None
                          for d in vi.type.tensor_type.shape.dim]
                for vi in model.graph.input if vi.name in shapes}
        return _npz_inputs(npz, shapes, dtypes, dims)
    rng = np.random.default_rng(seed)
    return {k: rng.random(s).astype(dtypes[k]) if dtypes[k].kind == "f" else
            rng.integers(0, 8, s).astype(dtypes[k]) for k, s in shapes.items()}


def _npz_inputs(npz: Path, shapes: Mapping[str, tuple[int, ...]],
                dtypes: Mapping[str, np.dtype],
                dims: Mapping[str, list[int | None]]) -> dict[str, np.ndarray]:
    """``dims``: each input's ONNX dims, None where symbolic (any extent)."""
    want = ", ".join(f"'{k}' {dtypes[k]}{['?' if d is None else d for d in dims[k]]}"
                     for k in shapes)
    if npz.is_dir():
        raise RunError(f"--inputs {npz}: is a directory; expected an .npz of arrays {want}")
    try:
        z = np.load(npz)
    except FileNotFoundError:
        raise RunError(f"--inputs {npz}: no such file; expected an .npz of arrays {want}"
                       ) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        reason = "an empty file" if isinstance(e, EOFError) else f"{type(e).__name__}: {e}"
        raise RunError(f"{npz}: not a readable .npz ({reason}); expected arrays {want} "
                       "(hint: write it with numpy.savez)") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise RunError(f"{npz}: a single array, not an .npz of named arrays; expected {want}")
    with z:
        missing = [k for k in shapes if k not in z.files]
        extra = [k for k in z.files if k not in shapes]
        if missing or extra:
            raise RunError(f"{npz}: has arrays {z.files}; the model's inputs are {want}"
                           + (f" (missing {missing})" if missing else "")
                           + (f" (unknown {extra})" if extra else ""))
        out = {}
        for k in shapes:
            try:
                a = z[k]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise RunError(f"{npz}: array '{k}' does not load ({type(e).__name__}: {e}); "
                               "inputs are numeric arrays (hint: numpy.savez, no objects)"
                               ) from None
            if not isinstance(a, np.ndarray) or a.dtype.kind not in "biufc":
                what = a.dtype if isinstance(a, np.ndarray) else "not an array"
                raise RunError(f"{npz}: '{k}' is {what}, the model takes {dtypes[k]}")
            same_kind = a.dtype.kind == dtypes[k].kind or \
                (a.dtype.kind in "iu" and dtypes[k].kind in "iu")
            if not same_kind and not (a.dtype.kind in "iub" and dtypes[k].kind == "f"):
                raise RunError(f"{npz}: '{k}' is {a.dtype}, the model takes {dtypes[k]}")
            if a.ndim != len(dims[k]) or any(d is not None and d != n
                                             for d, n in zip(dims[k], a.shape, strict=False)):
                raise RunError(f"{npz}: '{k}' has shape {list(a.shape)}; the model's inputs "
                               f"are {want} (? = any extent)")
            out[k] = a.astype(dtypes[k])
        return out


def onnxruntime_outputs(path: Path, feeds: Mapping[str, np.ndarray],
                        deployed: bool = False) -> list[np.ndarray]:
    """The model's outputs by onnxruntime without graph optimizations: the QDQ graph node
    by node (DequantizeLinear -> float op -> QuantizeLinear), which is what the compiler
    implements. The optimized session fuses such chains into QLinear kernels that round
    differently (QLinearSoftmax is a lookup table): a check against it raised false alarms
    (tests/fuzz/test_regressions.py, the all-host attention block).

    ``deployed``: onnxruntime at its default optimization level instead, what a user's
    ``InferenceSession`` computes; reported next to the verdict, never judged."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    so = ort.SessionOptions()
    if not deployed:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return list(sess.run(None, dict(feeds)))


def agree(names: Sequence[str], ours: Sequence[np.ndarray], ref: Sequence[np.ndarray],
          lsbs: Sequence[float | None]) -> list[Agreement]:
    out = []
    for n, a, b, lsb in zip(names, ours, ref, lsbs, strict=True):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        tol = lsb * (1 + 1e-4) if lsb else 1e-5
        out.append(Agreement(n, float(d.max(initial=0.0)), lsb,
                             float(np.mean(d <= tol)) if d.size else 1.0,
                             float(np.mean(d == 0)) if d.size else 1.0))
    return out


def run_compiled(c: Compiled, path: Path, feeds: Mapping[str, np.ndarray], backend: str,
                 session: NpuSession | None = None, check: str = "output",
                 dump: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> RunResult:
    """Run ``c`` on ``backend`` and compare with onnxruntime; ``check`` (docs/compile.md,
    "Numerics check"): ``output`` checks the outputs against onnxruntime, ``layers`` also
    every layer against its reference (a divergence's inputs go to ``dump``, if given),
    ``none`` only measures. ``result.check.ok`` is the verdict; ``raise_if_failed()``
    raises CheckError. ``progress`` hears the region being run and the check's stages."""
    if check not in CHECKS:
        raise RunError(f"unknown check '{check}' (known: {', '.join(CHECKS)})")
    regions = {r.name: r for r in c.cmodel.regions}
    own = session is None
    sess = session or NpuSession(c.library, regions, c.target, backend, progress=progress)
    say = progress or (lambda _s: None)
    try:
        # feeds use the model's tensor names ('gpu_0/data_0'); params their SSA names.
        by_name = {sanitize(k): v for k, v in feeds.items()} | dict(feeds)
        params = c.module[c.module.entry].params
        missing = [p.name for p in params if p.name not in by_name]
        if missing:
            raise RunError(f"missing inputs {missing}; the model takes "
                           f"{[p.name for p in params]}")
        inputs = [by_name[p.name] for p in params]
        trace = None
        if check == "layers":
            from vendor_sdk.runtime.layer_check import run_traced

            ours, trace = run_traced(c.module, sess, inputs)
        else:
            ours = run_model(c.module, sess, inputs)
        stats = [sess.stats[r] for r in regions]
    finally:
        if own:
            sess.close()
    say("onnxruntime (the reference)")
    ref = onnxruntime_outputs(path, feeds)
    names = [o.name if isinstance(o, Var) else "const"
             for o in c.module[c.module.entry].outputs]
    try:
        peak = peak_macs_per_cycle(c.target)
    except ValueError as e:
        raise RunError(str(e)) from None
    report = CheckReport(check)
    if check != "none":
        outs = tuple(check_outputs(names, ours, ref, output_kinds(c.module)))
        layers = None
        if trace is not None:
            from vendor_sdk.runtime.layer_check import check_trace, npz_writer

            say("check every layer against its reference")

            ctx = {"model": str(Path(path).resolve()), "target": c.cmodel.target,
                   "backend": backend, "batch": _batch(inputs)}
            layers = check_trace(c.module, regions, trace,
                                 npz_writer(dump, ctx) if dump is not None else None)
        report = CheckReport(check, outs, layers)
    lsbs = output_lsbs(c.module)
    deployed = agree(names, ours, onnxruntime_outputs(path, feeds, deployed=True), lsbs)
    return RunResult(ours, ref, agree(names, ours, ref, lsbs), stats, peak, backend, report,
                     deployed)


def _batch(inputs: Sequence[np.ndarray]) -> int:
    return int(inputs[0].shape[0]) if inputs and np.ndim(inputs[0]) else 1
