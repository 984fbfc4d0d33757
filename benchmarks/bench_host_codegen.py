"""Host code from llvmlite vs the numpy reference vs onnxruntime, on single-op models.

    .venv/bin/python benchmarks/bench_host_codegen.py [--repeat 20] [--only softmax]

Each case is one small ONNX model, imported with the project's frontend,
lowered to tensor programs (``core.lower``) and run three ways: the compiled
host code (``Executor(host="llvm")``, the path models take), the numpy
reference executor (op semantics in numpy) and onnxruntime with one thread
(the compiled code is single-threaded too). Outputs are checked against
onnxruntime first. Times are medians; llvm and onnxruntime are timed in turns
so that load from other jobs hits both; ratios are llvm time over the other
(below 1 is faster). Compile time is the first llvm run minus a warm run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from core.executor import Executor
from core.lower import lower_module
from vendor_sdk.frontend.onnx import from_onnx

TARGET = 1.5  # llvm / onnxruntime, from the issue


@dataclass(frozen=True)
class Case:
    name: str
    nodes: list[onnx.NodeProto]
    inputs: dict[str, tuple[int, ...]]
    output: str
    weights: dict[str, np.ndarray]
    # The 1.5x target covers elementwise, pooling and softmax; other cases
    # (conv: onnxruntime runs MLAS's hand-tuned kernels) are printed for information.
    targeted: bool = True


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def cases() -> list[Case]:
    big = (1, 64, 112, 112)
    w = (_rng().standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)
    node = helper.make_node
    return [
        Case("add_relu 1x64x112x112", [node("Add", ["a", "b"], ["s"]),
                                        node("Relu", ["s"], ["y"])],
             {"a": big, "b": big}, "y", {}),
        Case("add_bcast 1x64x112x112+64x1x1", [node("Add", ["a", "b"], ["y"])],
             {"a": big, "b": (64, 1, 1)}, "y", {}),
        Case("maxpool 3x3/2 1x64x112x112", [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                                 strides=[2, 2], pads=[1, 1, 1, 1])],
             {"x": big}, "y", {}),
        Case("avgpool 3x3/2 1x64x112x112", [node("AveragePool", ["x"], ["y"],
                                                 kernel_shape=[3, 3], strides=[2, 2],
                                                 pads=[1, 1, 1, 1])], {"x": big}, "y", {}),
        Case("globalavgpool 1x512x14x14", [node("GlobalAveragePool", ["x"], ["y"])],
             {"x": (1, 512, 14, 14)}, "y", {}),
        Case("softmax 128x1000", [node("Softmax", ["x"], ["y"], axis=-1)],
             {"x": (128, 1000)}, "y", {}),
        Case("softmax 8x128x128", [node("Softmax", ["x"], ["y"], axis=-1)],
             {"x": (8, 128, 128)}, "y", {}),
        Case("conv 3x3 1x64x56x56->64", [node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
             {"x": (1, 64, 56, 56)}, "y", {"w": w}, targeted=False),
    ]


def _model(case: Case) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(s))
           for k, s in case.inputs.items()]
    out = helper.make_tensor_value_info(case.output, TensorProto.FLOAT, None)
    inits = [onnx.numpy_helper.from_array(v, k) for k, v in case.weights.items()]
    graph = helper.make_graph(case.nodes, "bench", ins, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every onnxruntime release reads
    return model


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Medians of runs taken in turns (a, b, a, b, ...): a burst of load from other jobs on
    this shared machine then slows both sides of a ratio, not one."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def bench(case: Case, repeat: int) -> dict[str, float]:
    model = _model(case)
    rng = _rng()
    feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in case.inputs.items()}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    module = from_onnx(model)
    lowered = lower_module(module)
    host = Executor(lowered, host="llvm")
    t = time.perf_counter()
    got = host.run(feeds)[0]
    first = time.perf_counter() - t
    want = sess.run(None, feeds)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    reference = Executor(module)
    paired = _interleaved({"llvm": lambda: host.run(feeds),
                           "ort": lambda: sess.run(None, feeds)}, repeat)
    return {
        **paired,
        "numpy": _median(lambda: reference.run(feeds), max(3, repeat // 4)),
        "compile": first - paired["llvm"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    print(f"{'case':32} {'llvm':>9} {'numpy':>9} {'ort':>9} {'llvm/np':>8} {'llvm/ort':>8} "
          f"{'compile':>8}")
    missed = []
    for case in cases():
        if args.only not in case.name:
            continue
        r = bench(case, args.repeat)
        ratio = r["llvm"] / r["ort"]
        if ratio > TARGET and case.targeted:
            missed.append(case.name)
        print(f"{case.name:32} {r['llvm'] * 1e6:8.0f}u {r['numpy'] * 1e6:8.0f}u "
              f"{r['ort'] * 1e6:8.0f}u {r['llvm'] / r['numpy']:8.2f} {ratio:8.2f} "
              f"{r['compile'] * 1e3:6.0f}ms" + ("" if case.targeted else "  (information)"))
    print(f"target llvm/ort <= {TARGET} (elementwise, pooling, softmax): "
          + ("met" if not missed else f"missed by {', '.join(missed)}"))


if __name__ == "__main__":
    main()
