"""Partitioner speed: ours (match + merge + module rebuild) against apache-tvm's
FuseOpsByPattern + MergeCompositeFunctions with equivalent patterns, in one run.

    .venv/bin/pip install -e '.[bench]'     # apache-tvm 0.27, kept out of the runtime deps
    .venv/bin/python benchmarks/bench_partition.py [--links 5000] [--repeat 5] [--skip-tvm]

(a) a chain of matmul -> add -> relu links, (b) as many parallel one-link chains,
(c) ResNet-50 (light, float: conv2d(+relu) patterns), then our scaling 1k..100k nodes.
Times are medians of ``--repeat`` runs, ours and TVM's interleaved so that load from
other processes on a shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from core.graph import Attrs, Binding, Block, Call, Constant, Function, Module, Var
from core.types import TensorType
from vendor_sdk.patterns.lang import Pattern, is_const, is_op, pattern, wildcard
from vendor_sdk.patterns.partition import partition, prepare

D = 8


def _seconds(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    result = fn()
    t = time.perf_counter() - t0
    del result  # freeing the result is the caller's business, not the partitioner's
    return t


def _medians(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median time of each function, the functions interleaved run by run, after one
    untimed warm-up run each (first-touch page faults of a new heap size are not the
    algorithm's cost)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for ts, fn in zip(times, fns, strict=True):
            ts.append(_seconds(fn))
    return [statistics.median(ts) for ts in times]


def ours_graph(links: int, parallel: bool) -> Module:
    """Built from IR nodes directly: the types are known, and FunctionBuilder's type
    inference per op would dominate the setup of a 100k-node graph."""
    t = TensorType("float32", (1, D))
    x = Var("x", t)
    w = Constant(np.ones((D, D), np.float32), "w")
    bias = Constant(np.ones(D, np.float32), "b")
    v, outs, body = x, [], []
    for k in range(links):
        mm, add, relu = Var(f"mm{k}", t), Var(f"add{k}", t), Var(f"relu{k}", t)
        body += [Binding(mm, Call("MatMul", (x if parallel else v, w))),
                 Binding(add, Call("Add", (mm, bias))), Binding(relu, Call("Relu", (add,)))]
        v = relu
        outs.append(relu)
    f = Function("main", (x,), (Block(tuple(body)),), tuple(outs if parallel else [v]), Attrs())
    return Module((f,), "main")


def mixed_graph(units: int, fan_in: bool) -> Module:
    """Region and host ops interleaved (2 x units nodes): ``fan_in`` makes one host chain
    that every region feeds (Sub(h, Relu(x))); otherwise Relu (NPU) and Neg (host)
    alternate along one chain. Both grow the merge's ancestor sets with every region."""
    t = TensorType("float32", (1, D))
    x = Var("x", t)
    h, body = x, []
    for k in range(units):
        r, s = Var(f"r{k}", t), Var(f"s{k}", t)
        body += [Binding(r, Call("Relu", (x if fan_in else h,))),
                 Binding(s, Call("Sub", (h, r)) if fan_in else Call("Neg", (r,)))]
        h = s
    return Module((Function("main", (x,), (Block(tuple(body)),), (h,), Attrs()),), "main")


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
    print(f"{label:<34}{ours:8.3f} s   {tvm_s}   {ratio}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-tvm", action="store_true")
    args = ap.parse_args()
    pats = ours_patterns()
    print(f"{'case':<34}{'ours':>10}   {'tvm':>10}   tvm/ours")
    for label, parallel in (("(a) chain", False), ("(b) parallel chains", True)):
        m = ours_graph(args.links, parallel)
        fns: list[Callable[[], object]] = [lambda m=m: partition(m, pats)]
        if not args.skip_tvm:
            mod, tp = tvm_graph(args.links, parallel), tvm_chain_patterns()
            fns.append(lambda mod=mod, tp=tp: tvm_partition(mod, tp))
        times = _medians(fns, args.repeat)
        row(f"{label}, {args.links} links", times[0], times[1] if len(times) > 1 else None)
    resnet(args.skip_tvm, args.repeat)
    print("\nscaling, ours (chain and parallel chains; nodes = 3 x links):")
    for nodes in (1_000, 10_000, 100_000):
        per = []
        for parallel in (False, True):
            m = ours_graph(nodes // 3, parallel)
            (t,) = _medians([lambda m=m: partition(m, pats)], args.repeat)
            per.append(f"{t:7.3f} s {1e6 * t / nodes:6.2f} us/node")
        print(f"  {nodes:>7} nodes  chain {per[0]}   parallel {per[1]}", flush=True)
    relu = [pattern("relu", is_op("Relu", name="r")(wildcard("x")), 1, target="npu")]
    print("\nscaling, ours (one region per Relu; nodes = 2 x regions):")
    for nodes in (1_000, 10_000, 100_000):
        per = []
        for fan_in in (False, True):
            m = mixed_graph(nodes // 2, fan_in)
            (t,) = _medians([lambda m=m: partition(m, relu)], args.repeat)
            per.append(f"{t:7.3f} s {1e6 * t / nodes:6.2f} us/node")
        print(f"  {nodes:>7} nodes  alternating {per[0]}   fan-in {per[1]}", flush=True)


def resnet(skip_tvm: bool, repeat: int) -> None:
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
    fns: list[Callable[[], object]] = [lambda: partition(m, pats)]
    if not skip_tvm:
        from tvm.relax.dpl import is_op as t_is_op
        from tvm.relax.dpl import wildcard as t_wildcard
        from tvm.relax.frontend.onnx import from_onnx as tvm_from_onnx

        mod = tvm_from_onnx(model, keep_params_in_input=True)
        c = t_is_op("relax.nn.conv2d")(t_wildcard(), t_wildcard())
        tp = [("npu.conv2d_relu", t_is_op("relax.nn.relu")(c)), ("npu.conv2d", c)]
        fns.append(lambda: tvm_partition(mod, tp))
    times = _medians(fns, repeat)
    row("(c) ResNet-50", times[0], times[1] if len(times) > 1 else None)


if __name__ == "__main__":
    main()
