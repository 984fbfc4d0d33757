"""Partitioner speed: ours (match + merge + module rebuild) against apache-tvm's
FuseOpsByPattern + MergeCompositeFunctions with equivalent patterns, in one run.

    .venv/bin/pip install -e '.[bench]'     # apache-tvm 0.27, kept out of the runtime deps
    .venv/bin/python benchmarks/bench_partition.py [--links 5000] [--skip-tvm]

(a) a chain of matmul -> add -> relu links, (b) as many parallel one-link chains,
(c) ResNet-50 (light, float: conv2d(+relu) patterns), then our scaling 1k..100k nodes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from core.builder import FunctionBuilder, single_function_module
from core.graph import Module
from core.types import TensorType
from vendor_sdk.patterns.lang import Pattern, is_const, is_op, pattern, wildcard
from vendor_sdk.patterns.partition import partition, prepare

D = 8


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def ours_graph(links: int, parallel: bool) -> Module:
    b = FunctionBuilder("main")
    x = b.param("x", TensorType("float32", (1, D)))
    w, bias = np.ones((D, D), np.float32), np.ones(D, np.float32)
    v, outs = x, []
    for _ in range(links):
        v = b.op("Relu", b.op("Add", b.op("MatMul", x if parallel else v, w), bias))
        outs.append(v)
    return single_function_module(b.finish(outs if parallel else [v]))


def ours_patterns() -> list[Pattern]:
    mm = is_op("MatMul", name="mm")(wildcard("x"), is_const("w"))
    add = is_op("Add", name="add")(mm, is_const("b"))
    return [pattern("mm_add_relu", is_op("Relu", name="relu")(add), 10, target="npu")]


def tvm_graph(links: int, parallel: bool):  # type: ignore[no-untyped-def]
    from tvm import relax

    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape=[1, D], dtype="float32"))
    w = relax.Var("w", relax.TensorType(shape=[D, D], dtype="float32"))
    bias = relax.Var("b", relax.TensorType(shape=[D], dtype="float32"))
    with bb.function("main", [x, w, bias]):
        with bb.dataflow():
            v, outs = x, []
            for _ in range(links):
                mm = bb.emit(relax.op.matmul(x if parallel else v, w))
                v = bb.emit(relax.op.nn.relu(bb.emit(relax.op.add(mm, bias))))
                outs.append(v)
            out = bb.emit_output(relax.Tuple(outs) if parallel else v)
        bb.emit_func_output(out)
    return bb.get()


def tvm_partition(mod, patterns):  # type: ignore[no-untyped-def]
    from tvm import relax

    mod = relax.transform.FuseOpsByPattern(patterns, bind_constants=False,
                                           annotate_codegen=False)(mod)
    return relax.transform.MergeCompositeFunctions()(mod)


def tvm_chain_patterns():  # type: ignore[no-untyped-def]
    from tvm.relax.dpl import is_op as t_is_op
    from tvm.relax.dpl import wildcard as t_wildcard

    mm = t_is_op("relax.matmul")(t_wildcard(), t_wildcard())
    return [("npu.mm_add_relu", t_is_op("relax.nn.relu")(t_is_op("relax.add")(mm,
                                                                              t_wildcard())))]


def row(label: str, ours: float, tvm: float | None) -> None:
    ratio = f"{tvm / ours:6.1f}x" if tvm is not None else "   n/a"
    tvm_s = f"{tvm:8.3f} s" if tvm is not None else "       -"
    print(f"{label:<34}{ours:8.3f} s   {tvm_s}   {ratio}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=5000)
    ap.add_argument("--skip-tvm", action="store_true")
    args = ap.parse_args()
    pats = ours_patterns()
    print(f"{'case':<34}{'ours':>10}   {'tvm':>10}   tvm/ours")
    for label, parallel in (("(a) chain", False), ("(b) parallel chains", True)):
        m = ours_graph(args.links, parallel)
        ours = _best(lambda m=m: partition(m, pats))
        tvm = None
        if not args.skip_tvm:
            mod, tp = tvm_graph(args.links, parallel), tvm_chain_patterns()
            tvm = _best(lambda mod=mod, tp=tp: tvm_partition(mod, tp), repeat=1)
        row(f"{label}, {args.links} links", ours, tvm)
    resnet(args.skip_tvm)
    print("\nscaling, ours (chain; nodes = 3 x links):")
    for nodes in (1_000, 10_000, 100_000):
        m = ours_graph(nodes // 3, False)
        t = _best(lambda m=m: partition(m, pats), repeat=1)
        print(f"  {nodes:>7} nodes  {t:7.3f} s  {1e6 * t / nodes:6.2f} us/node")


def resnet(skip_tvm: bool) -> None:
    import sys
    from pathlib import Path

    from vendor_sdk.frontend.onnx import from_onnx

    # ConstantOfShape weights become initializers (as in the partition tests), so both
    # importers see ordinary constants.
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "partition"))
    from qdq_models import materialized

    model = materialized("resnet50")
    m = prepare(from_onnx(model))
    conv = is_op("Conv", name="conv")(wildcard("x"), is_const("w"), is_const("b"))
    pats = [pattern("conv2d_relu", is_op("Relu", name="relu")(conv), 2, target="npu"),
            pattern("conv2d", conv, 1, target="npu")]
    ours = _best(lambda: partition(m, pats))
    tvm = None
    if not skip_tvm:
        from tvm.relax.dpl import is_op as t_is_op
        from tvm.relax.dpl import wildcard as t_wildcard
        from tvm.relax.frontend.onnx import from_onnx as tvm_from_onnx

        mod = tvm_from_onnx(model, keep_params_in_input=True)
        c = t_is_op("relax.nn.conv2d")(t_wildcard(), t_wildcard())
        tp = [("npu.conv2d_relu", t_is_op("relax.nn.relu")(c)), ("npu.conv2d", c)]
        tvm = _best(lambda: tvm_partition(mod, tp), repeat=1)
    row("(c) ResNet-50", ours, tvm)


if __name__ == "__main__":
    main()
