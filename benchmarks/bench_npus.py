"""Both bundled NPUs side by side: utilization on the same layers and the same models.

    .venv/bin/python benchmarks/bench_npus.py [--targets reference_npu example_npu]
        [--backends fsim rtl] [--layers dense conv3x3 ...] [--models mlp cnn ...]
        [--json build/bench_npus.json]

Every workload is a float ONNX model (seeded weights) quantized by onnxruntime (QDQ, int8,
per-channel weights, 2 random calibration samples: `vendor-sdk quantize --random 2`),
compiled once per target and run batch 1 on each backend with `--check layers`: every NPU
layer bit for bit against its integer reference, every host op against the reference
executor, the outputs against onnxruntime. Figures come from simulated counters, so they
are deterministic (wall times are printed, not compared):

- cycles: fsim's (reference_npu: an analytic estimate; example_npu: exact for its RTL)
  or the Verilator RTL's;
- ideal: the MAC-bound count of the offloaded layers, MACs / the target's
  peak_macs_per_cycle, read from the same run (both default to 64 MACs/cycle);
- x ideal = cycles / ideal, util = ideal / cycles; 2nd/1st = the second target's cycles
  over the first's (on the same backend).

Checked, and any failure is exit 1 after the table (a run that fails is marked FAIL):
the layer check's verdict; >= 99.9% of the output elements within 1 LSB of onnxruntime;
a single-layer workload offloaded whole; fsim and RTL outputs bit-identical when both ran.
Whether fsim's cycles equal the RTL's is reported (`fsim_equals_rtl` in the JSON), not judged:
only example_npu promises it.

Models: mlp and cnn (vendor_sdk.runtime.examples), squeezenet and resnet50 (the graphs in
the onnx package, vendor_sdk.zoo), mobilenetv2 (tests/torch_models.py's mobilenetv2_tiny,
exported by torch: `pip install torch`; a depthwise network). The default set (five
layers, four models, both targets, fsim and RTL) takes about 3 minutes on a loaded 2-core
machine. ResNet-50 is not in it: `vendor-sdk run` took 51 s (reference_npu) and 123 s
(example_npu) on fsim, 282 s and 169 s on the RTL, compile included.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from vendor_sdk.compile import Compiled, compile_model  # noqa: E402
from vendor_sdk.plugins import resolve_target  # noqa: E402
from vendor_sdk.runtime.compare import RunResult, model_inputs, run_compiled  # noqa: E402
from vendor_sdk.runtime.examples import cnn, conv_model, dense_model, light_float, mlp  # noqa: E402
from vendor_sdk.runtime.quantize import quantize  # noqa: E402

MIN_WITHIN_1LSB = 0.999


def depthwise_model(path: Path, c: int, hw: int, k: int, stride: int) -> Path:
    """One depthwise Conv k x k (group = channels, pad k // 2) + bias + ReLU6, [1, c, hw, hw]:
    MobileNet's layer, which a dot-product unit and a systolic array map differently."""
    rng = np.random.default_rng(0)
    oh = (hw + 2 * (k // 2) - k) // stride + 1
    bound = np.sqrt(3.0 / (k * k))  # He-uniform: the output keeps the input's scale
    inits = {"w": rng.uniform(-bound, bound, (c, 1, k, k)).astype(np.float32),
             "b": rng.uniform(0.0, 0.2, c).astype(np.float32),
             "lo": np.float32(0.0), "hi": np.float32(6.0)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="dwconv", group=c,
                              kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4),
             helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="relu6")]
    graph = helper.make_graph(
        nodes, "dwconv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, oh, oh])],
        [numpy_helper.from_array(v, n) for n, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _mobilenetv2(path: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from torch_models import export
    except ImportError as e:  # torch is a test-only dependency
        raise SystemExit(f"--models mobilenetv2 exports a torch module: {e} "
                         "(hint: .venv/bin/pip install torch, or leave mobilenetv2 out)") from None
    return export("mobilenetv2_tiny", path)


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    build: Callable[[Path], Path]
    single_layer: bool


LAYERS = (
    Workload("dense", "dense 256x256x256", lambda p: dense_model(p, 256, 256, 256), True),
    Workload("conv3x3", "conv 3x3 28x28 64->64", lambda p: conv_model(p, 64, 28, 64, 3, 1), True),
    Workload("conv3x3s2", "conv 3x3/2 28x28 128->128",
             lambda p: conv_model(p, 128, 28, 128, 3, 2), True),
    Workload("conv1x1", "conv 1x1 14x14 256->256", lambda p: conv_model(p, 256, 14, 256, 1, 1),
             True),
    Workload("dwconv", "depthwise 3x3 28x28 96", lambda p: depthwise_model(p, 96, 28, 3, 1),
             True),
)
MODELS = (
    Workload("mlp", "MLP 64-48-32-10", mlp, False),
    Workload("cnn", "CNN (3 conv, pool, fc)", cnn, False),
    Workload("mobilenetv2", "MobileNet-V2-style (torch)", _mobilenetv2, False),
    Workload("squeezenet", "SqueezeNet 1.0", lambda p: light_float("squeezenet", p), False),
    Workload("resnet50", "ResNet-50", lambda p: light_float("resnet50", p), False),
)
DEFAULT_MODELS = ("mlp", "cnn", "mobilenetv2", "squeezenet")


@dataclass(frozen=True)
class Row:
    """One workload on one target and backend (the JSON record)."""

    workload: str
    title: str
    target: str
    backend: str
    offloaded: int
    compute_ops: int
    macs: int
    peak_macs_per_cycle: int | None
    cycles: int
    ideal: float
    utilization: float
    within_1lsb: float
    check: str                 # "ok" or the failures
    compile_seconds: float
    run_seconds: float
    fsim_equals_rtl: bool | None = None   # cycles equal; None unless both backends ran

    @property
    def ok(self) -> bool:
        return self.check == "ok"


def _verdict(w: Workload, c: Compiled, r: RunResult) -> str:
    bad = list(r.check.failures()) if not r.check.ok else []
    low = [a for a in r.agreement if a.within_1lsb < MIN_WITHIN_1LSB]
    bad += [f"{a.name}: {100 * a.within_1lsb:.3f}% within 1 LSB of onnxruntime "
            f"(< {100 * MIN_WITHIN_1LSB}%)" for a in low]
    off, total = c.report.coverage
    if w.single_layer and (off != total or not r.macs):
        bad.append(f"not offloaded whole ({off}/{total} ops; host: {dict(c.host_reasons)})")
    return "; ".join(bad) or "ok"


def measure(w: Workload, qpath: Path, target: str, backends: list[str]) -> list[Row]:
    """Compile once, run on each backend; a compile or run that raises is a failed row."""
    t0 = time.perf_counter()
    try:
        c = compile_model(qpath, resolve_target(target), {"N": 1}, name=w.key)
    except Exception as e:  # reported as this workload's failure, the others still run
        return [Row(w.key, w.title, target, b, 0, 0, 0, None, 0, 0.0, 0.0, 0.0,
                    f"compile failed: {type(e).__name__}: {e}", time.perf_counter() - t0, 0.0)
                for b in backends]
    tc = time.perf_counter() - t0
    off, total = c.report.coverage
    feeds = model_inputs(qpath, 1, 0)
    runs: dict[str, tuple[RunResult | None, str, float]] = {}
    for b in backends:
        t0 = time.perf_counter()
        try:
            r: RunResult | None = run_compiled(c, qpath, feeds, b, check="layers")
            verdict = _verdict(w, c, r)
        except Exception as e:  # a crash is this run's failure
            r, verdict = None, f"run failed: {type(e).__name__}: {e}"
        runs[b] = (r, verdict, time.perf_counter() - t0)
    fr, rr = runs.get("fsim", (None,))[0], runs.get("rtl", (None,))[0]
    same_cycles = fr.cycles == rr.cycles if fr and rr else None
    if fr and rr and not all(np.array_equal(x, y)
                             for x, y in zip(fr.outputs, rr.outputs, strict=True)):
        runs["rtl"] = (rr, "; ".join(v for v in (runs["rtl"][1], "fsim and RTL outputs differ")
                                     if v != "ok"), runs["rtl"][2])
    rows = []
    for b, (r, verdict, tr) in runs.items():
        if r is None:
            rows.append(Row(w.key, w.title, target, b, off, total, 0, None, 0, 0.0, 0.0, 0.0,
                            verdict, tc, tr))
            continue
        rows.append(Row(w.key, w.title, target, b, off, total, r.macs, r.peak, r.cycles,
                        r.ideal, r.ideal / r.cycles if r.cycles else 0.0,
                        min(a.within_1lsb for a in r.agreement), verdict, tc, tr,
                        same_cycles))
    return rows


def print_table(rows: list[Row], targets: list[str], backends: list[str]) -> None:
    by = {(r.workload, r.target, r.backend): r for r in rows}
    keys = list(dict.fromkeys(r.workload for r in rows))
    titles = {r.workload: r.title for r in rows}
    head = f"{'backend':7} {'workload':28} {'MACs':>13}"
    for t in targets:
        head += f" | {t[:13] + ' off':>17} {'cycles':>12} {'x ideal':>7} {'util':>6}"
    if len(targets) == 2:
        head += f" | {'2nd/1st':>7}"
    print(head)
    for b in backends:
        for k in keys:
            got = [by.get((k, t, b)) for t in targets]
            macs = max((r.macs for r in got if r), default=0)
            line = f"{b:7} {titles[k][:28]:28} {macs:13,}"
            for r in got:
                if r is None:
                    line += f" | {'-':>17} {'-':>12} {'-':>7} {'-':>6}"
                    continue
                ratio = f"{r.cycles / r.ideal:7.2f}" if r.ideal else f"{'-':>7}"
                util = f"{100 * r.utilization:5.1f}%" if r.ideal else f"{'-':>6}"
                mark = "" if r.ok else " FAIL"
                line += f" | {f'{r.offloaded}/{r.compute_ops}' + mark:>17} {r.cycles:12,} " \
                        f"{ratio} {util}"
            if len(targets) == 2:
                a, z = got
                line += f" | {z.cycles / a.cycles:7.2f}" if a and z and a.cycles else \
                    f" | {'-':>7}"
            print(line)
    peaks = ", ".join(f"{t} {next((r.peak_macs_per_cycle for r in rows if r.target == t), None)}"
                      for t in targets)
    print(f"peak MACs/cycle: {peaks}; ideal = offloaded MACs / peak, x ideal = cycles / ideal, "
          "util = ideal / cycles; off = compute ops offloaded")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=["reference_npu", "example_npu"])
    ap.add_argument("--backends", nargs="+", default=["fsim", "rtl"], choices=["fsim", "rtl"])
    ap.add_argument("--layers", nargs="*", default=[w.key for w in LAYERS],
                    choices=[w.key for w in LAYERS])
    ap.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS),
                    choices=[w.key for w in MODELS])
    ap.add_argument("--json", type=Path, default=Path("build/bench_npus.json"),
                    help="where to write the rows (default: build/bench_npus.json)")
    args = ap.parse_args()
    chosen = [w for w in LAYERS if w.key in args.layers] + \
        [w for w in MODELS if w.key in args.models]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for w in chosen:
            t0 = time.perf_counter()
            qpath = quantize(w.build(work / f"{w.key}.onnx"), work / f"{w.key}.int8.onnx",
                             random=2)
            print(f"{w.title}: quantized ({time.perf_counter() - t0:.1f} s)", flush=True)
            for t in args.targets:
                got = measure(w, qpath, t, args.backends)
                for r in got:
                    print(f"  {t} {r.backend}: {r.cycles:,} cycles, {r.offloaded}/"
                          f"{r.compute_ops} ops offloaded, {100 * r.within_1lsb:.2f}% within "
                          f"1 LSB, check {r.check} (compile {r.compile_seconds:.1f} s, run "
                          f"{r.run_seconds:.1f} s)", flush=True)
                rows += got
    print()
    print_table(rows, args.targets, args.backends)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    print(f"wrote {args.json}")
    failed = [r for r in rows if not r.ok]
    for r in failed:
        print(f"FAIL {r.title} on {r.target} {r.backend}: {r.check}", file=sys.stderr)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
