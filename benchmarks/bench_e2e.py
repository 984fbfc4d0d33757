"""End-to-end benchmark: compile time and NPU cycles / utilization of real int8 models.

    .venv/bin/python benchmarks/bench_e2e.py [--models resnet50 squeezenet] [--dim 16]
                                             [--backends fsim rtl] [--layers [N]]

Per model (a graph shipped in the onnx package, seeded weights, quantized by
onnxruntime: QDQ, per-channel): compile time split into import / partition /
tensorize + C / build (gcc), then one batch-1 run per backend (default fsim) of the
reference NPU configured with DIM (default 16): cycles (fsim: analytic estimate; rtl:
measured on the Verilator model; both: whether outputs are bit-identical), the ideal
MAC-bound cycle count (the offloaded layers' MACs / DIM^2) and utilization,
and agreement with onnxruntime. The target is the bundled reference_npu
target.yaml with DIM changed (copied to a temporary directory). --layers prints the
per-layer table (vendor-sdk run's) per backend: every layer, or the N with the most cycles.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import reference_npu
from vendor_sdk.cli.e2e import print_layers
from vendor_sdk.compile import compile_model
from vendor_sdk.plugins import resolve_target
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.runtime.examples import light_float
from vendor_sdk.runtime.quantize import quantize


def target_with_dim(dim: int, work: Path) -> object:
    src = Path(reference_npu.__file__).parent
    dst = work / "reference_npu"
    shutil.copytree(src / "templates", dst / "templates")
    shutil.copytree(src / "rtl", dst / "rtl")
    # the runtime library and RTL harness build from driver/ (target.yaml runtime:, sim.rtl)
    shutil.copytree(src / "driver", dst / "driver", ignore=shutil.ignore_patterns("__pycache__"))
    text = (src / "target.yaml").read_text()
    (dst / "target.yaml").write_text(re.sub(r"(?m)^  DIM: \d+", f"  DIM: {dim}", text))
    return resolve_target(dst / "target.yaml")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["resnet50", "squeezenet"])
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--backends", nargs="+", default=["fsim"], choices=["fsim", "rtl"])
    ap.add_argument("--layers", type=int, nargs="?", const=0, default=None, metavar="N",
                    help="print the per-layer table (only the N layers with the most cycles)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        target = target_with_dim(args.dim, work)
        for name in args.models:
            t0 = time.perf_counter()
            qpath = quantize(light_float(name, work / f"{name}.onnx"), work / f"{name}.q.onnx",
                             random=2)
            tq = time.perf_counter() - t0
            t0 = time.perf_counter()
            c = compile_model(qpath, target, {"N": 1}, name=name)
            tc = time.perf_counter() - t0
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in c.seconds.items())
            off, total = c.report.coverage
            print(f"{name}: quantize {tq:.1f} s; compile {tc:.1f} s ({stages}); "
                  f"{off}/{total} compute ops offloaded in {len(c.regions)} regions")
            feeds = model_inputs(qpath, 1, 0)
            outs = []
            for backend in args.backends:
                t0 = time.perf_counter()
                r = run_compiled(c, qpath, feeds, backend)
                tr = time.perf_counter() - t0
                outs.append(r.outputs)
                util = r.ideal / r.cycles if r.cycles else 0.0
                a = r.agreement[0]
                print(f"  {backend} DIM {args.dim}: {r.cycles:,} cycles, ideal (MAC-bound) "
                      f"{r.ideal:,.0f} ({r.macs / 1e6:,.0f} MMAC offloaded), utilization "
                      f"{100 * util:.1f}%, run {tr:.1f} s; vs onnxruntime: "
                      f"{100 * a.within_1lsb:.2f}% within 1 LSB")
                if args.layers is not None:
                    print_layers(r, c, args.layers)
            if len(outs) == 2:
                same = all(np.array_equal(x, y) for x, y in zip(*outs, strict=True))
                print(f"  fsim and rtl outputs bit-identical: {'yes' if same else 'NO'}")

if __name__ == "__main__":
    main()
