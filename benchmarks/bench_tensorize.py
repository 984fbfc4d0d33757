"""Auto-tensorized conv/dense layers on the reference NPU: MEASURED cycles vs the ideal.

    .venv/bin/python benchmarks/bench_tensorize.py [--dim 8] [--backends fsim rtl]
                                                   [--layers dense1 conv1 ...]

Per layer, a single-layer float ONNX model (seeded weights, bias) is quantized by
onnxruntime's static quantizer (QDQ, int8, per-channel weights: what `vendor-sdk
quantize` does), compiled with ``compile_model`` for the bundled reference NPU (DIM from
reference_npu/target.yaml unless ``--dim``), and run batch 1 on fsim and on the
Verilator RTL. Checked: fsim and RTL outputs bit-identical, and every output element
within 1 LSB of onnxruntime (the run fails loudly otherwise). Printed:

- fsim: the functional model's cycles (its analytic per-instruction timing, with the
  real instruction stream and dependency tokens), rtl: cycles measured on the RTL;
- model: the tensorizer's cost-model estimate (vendor_sdk/intrinsics/cost.py) of the
  schedule it chose;
- ideal: the MAC-bound count, MACs / DIM^2 (the array does DIM x DIM MACs a cycle);
- the ratios measured / ideal, and whether the 1.15x target is met on each backend
  (the target applies to layers larger than the DIM x DIM array: all of these).

The dense layers are ONNX ``Gemm`` nodes with a bias: the reference target's
``gemm_bias`` pattern lowers them by auto-tensorization (no vendor kernel). A quantized
``MatMul`` + ``Add`` takes the vendor's hand-written ``dense.c.j2`` template and a
separate Add layer instead, so it is not benchmarked here.
Where the cycles beyond the ideal go, and why a layer misses: docs/tensorize.md.

Runtime: about 15 s at DIM 8 and 10 s at DIM 16 on one core (RTL simulation most of
it), plus the Verilator build of the RTL on the first run for a DIM (minutes, cached).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_e2e import target_with_dim  # noqa: E402

from vendor_sdk.compile import compile_model  # noqa: E402
from vendor_sdk.plugins import resolve_target  # noqa: E402
from vendor_sdk.runtime.compare import RunResult, model_inputs, run_compiled  # noqa: E402
from vendor_sdk.runtime.examples import conv_model, dense_model  # noqa: E402
from vendor_sdk.runtime.quantize import quantize  # noqa: E402

TARGET_RATIO = 1.15


@dataclass(frozen=True)
class BenchLayer:
    key: str
    title: str
    build: Callable[[Path], Path]


LAYERS = (
    BenchLayer("dense1", "dense 256x256x256", lambda p: dense_model(p, 256, 256, 256)),
    BenchLayer("dense2", "dense 512x1024x128", lambda p: dense_model(p, 512, 1024, 128)),
    BenchLayer("conv1", "conv 3x3 56x56 64->64", lambda p: conv_model(p, 64, 56, 64, 3, 1)),
    BenchLayer("conv2", "conv 3x3/2 28x28 128->128",
               lambda p: conv_model(p, 128, 28, 128, 3, 2)),
    BenchLayer("conv3", "conv 1x1 14x14 256->256", lambda p: conv_model(p, 256, 14, 256, 1, 1)),
)


@dataclass(frozen=True)
class Measured:
    layer: BenchLayer
    runs: dict[str, RunResult]
    estimate: float | None
    ideal: float
    lowering: str
    seconds: float


def measure(bl: BenchLayer, target: object, backends: list[str], work: Path) -> Measured:
    t0 = time.perf_counter()
    qpath = quantize(bl.build(work / f"{bl.key}.onnx"), work / f"{bl.key}.int8.onnx", random=2)
    c = compile_model(qpath, target, {"N": 1}, name=bl.key)
    layers = [lc for r in c.cmodel.regions for lc in r.layers]
    if c.report.coverage[0] != c.report.coverage[1] or len(layers) != 1:
        raise SystemExit(f"{bl.title}: not one offloaded layer ({len(layers)} layers, "
                         f"(coverage {c.report.coverage}, host: {dict(c.host_reasons)})")
    feeds = model_inputs(qpath, 1, 0)
    runs = {b: run_compiled(c, qpath, feeds, b) for b in backends}
    for b, r in runs.items():
        a = r.agreement[0]
        if a.within_1lsb < 1.0:
            raise SystemExit(f"{bl.title} on {b}: {100 * (1 - a.within_1lsb):.3f}% of the "
                             f"outputs differ from onnxruntime by more than 1 LSB")
    if "fsim" in runs and "rtl" in runs and not all(
            np.array_equal(x, y) for x, y in zip(runs["fsim"].outputs, runs["rtl"].outputs,
                                                 strict=True)):
        raise SystemExit(f"{bl.title}: fsim and RTL outputs differ")
    first = next(iter(runs.values()))
    return Measured(bl, runs, layers[0].estimate, first.ideal,
                    layers[0].explain.splitlines()[0].split(": ", 1)[-1],
                    time.perf_counter() - t0)


def verdict(ratio: float) -> str:
    return "met" if ratio <= TARGET_RATIO else "missed"


def print_table(rows: list[Measured], backends: list[str], dim: int) -> None:
    head = f"{'layer (DIM ' + str(dim) + ')':36} {'ideal':>9} {'model':>9}"
    for b in backends:
        head += f" {b:>9} {b + '/id':>8} {'target':>7}"
    print(head)
    for m in rows:
        est = f"{m.estimate:9.0f}" if m.estimate is not None else f"{'-':>9}"
        line = f"{m.layer.title:36} {m.ideal:9.0f} {est}"
        for b in backends:
            r = m.runs[b]
            line += f" {r.cycles:9d} {r.cycles / m.ideal:8.3f} " \
                    f"{verdict(r.cycles / m.ideal):>7}"
        print(line)
    print(f"target: measured / ideal <= {TARGET_RATIO} (ideal = MACs / DIM^2); "
          "every output bit-identical fsim vs RTL and within 1 LSB of onnxruntime")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=None,
                    help="array size (default: the DIM of reference_npu/target.yaml)")
    ap.add_argument("--backends", nargs="+", default=["fsim", "rtl"], choices=["fsim", "rtl"])
    ap.add_argument("--layers", nargs="+", default=[bl.key for bl in LAYERS],
                    choices=[bl.key for bl in LAYERS])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        target = resolve_target("reference_npu")
        dim = int(target.params["DIM"])  # type: ignore[attr-defined]
        if args.dim is not None and args.dim != dim:
            target, dim = target_with_dim(args.dim, work), args.dim
        rows = []
        for bl in LAYERS:
            if bl.key in args.layers:
                m = measure(bl, target, args.backends, work)
                print(f"{bl.title}: {m.lowering} ({m.seconds:.1f} s)", flush=True)
                rows.append(m)
        print()
        print_table(rows, args.backends, dim)


if __name__ == "__main__":
    main()
