"""Run a compiled model on an NPU backend and compare it with onnxruntime.

Agreement is measured in the output's quantization step (1 LSB = the scale of
the final DequantizeLinear): max |ours - onnxruntime| and the share of
elements within 1 LSB. Performance: per region, and per layer when the target
takes counter snapshots, the backend's cycles (fsim: analytic estimate; rtl:
measured), the layers' multiply-accumulates, the ideal MAC-bound cycles
(MACs / DIM^2) and utilization (ideal / cycles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.builder import sanitize
from core.graph import Call, Constant, Module, Var
from vendor_sdk.compile import Compiled
from vendor_sdk.runtime.npu import NpuSession, RegionStats, backend_options, run_model
from vendor_sdk.runtime.perf import LayerStats


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
    dim: int
    backend: str

    @property
    def cycles(self) -> int:
        return sum(s.cycles for s in self.stats)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.stats)

    @property
    def ideal(self) -> float:
        return self.macs / (self.dim * self.dim)

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
                 npz: Path | None = None) -> dict[str, np.ndarray]:
    import onnx

    from vendor_sdk.runtime.quantize import input_shapes

    shapes = input_shapes(onnx.load(str(path), load_external_data=False), batch)
    if npz is not None:
        with np.load(npz) as z:
            return {k: z[k].astype(np.float32) for k in shapes}
    rng = np.random.default_rng(seed)
    return {k: rng.random(s, np.float32) for k, s in shapes.items()}


def onnxruntime_outputs(path: Path, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    so = ort.SessionOptions()
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
                 session: NpuSession | None = None) -> RunResult:
    regions = {r.name: r for r in c.cmodel.regions}
    own = session is None
    sess = session or NpuSession(c.library, regions, backend, backend_options(c.target, backend))
    try:
        # feeds use the model's tensor names ('gpu_0/data_0'); params their SSA names.
        by_name = {sanitize(k): v for k, v in feeds.items()} | dict(feeds)
        ours = run_model(c.module, sess,
                         [by_name[p.name] for p in c.module[c.module.entry].params])
        stats = [sess.stats[r] for r in regions]
    finally:
        if own:
            sess.close()
    ref = onnxruntime_outputs(path, feeds)
    names = [o.name if isinstance(o, Var) else "const"
             for o in c.module[c.module.entry].outputs]
    dim = int(c.target.params["DIM"])  # type: ignore[attr-defined]
    return RunResult(ours, ref, agree(names, ours, ref, output_lsbs(c.module)), stats, dim,
                     backend)
