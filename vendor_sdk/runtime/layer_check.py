"""`run --check layers`: every layer of a run against its reference, on the inputs it got.

The run itself is observed, not repeated: the host part runs as usual (llvmlite machine
code) and keeps every value it computes; each region call keeps its inputs (as the host
wrote them) and every layer's output, read back from the region's DRAM after the call
(each binding of a region has its own DRAM slot, so the intermediates are still there).
Then:

- each NPU layer's int8 output must equal, bit for bit, its integer reference
  (vendor_sdk.runtime.layer_refs) on the int8 inputs that layer read;
- each host op's value must be within 1 (integer values: one LSB) or a relative 1e-4
  (float values: reassociated sums) of the reference executor's op (``core.ops``, numpy)
  on the same inputs.

The first diverging layer is named, and its inputs are written to an .npz that
``vendor-sdk replay`` runs again (vendor_sdk.runtime.replay).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from core.executor import Executor
from core.graph import Call, CallExtern, CallFunc, Constant, Module, TupleGetItem, Var
from core.ops import get_op
from vendor_sdk.codegen.code import LayerCode, RegionCode
from vendor_sdk.runtime.layer_refs import NoReference, layer_reference
from vendor_sdk.runtime.npu import NpuSession, host_module

HOST_FLOAT_RTOL = 1e-4   # host float values vs the numpy reference, relative to max |ref|
HOST_INT_TOL = 1         # host integer values (QuantizeLinear outputs): one LSB


@dataclass(frozen=True)
class LayerResult:
    where: str                 # "npu" or "host"
    name: str                  # composite (NPU) or the graph variable (host)
    op: str
    onnx_nodes: tuple[str, ...]
    region: str = ""
    pattern: str = ""
    lowering: str = ""
    size: int = 0
    mismatches: int = 0        # elements beyond the tolerance (NPU: any difference)
    max_diff: float = 0.0
    first: tuple[int, ...] | None = None
    expected: float = 0.0
    got: float = 0.0
    replay: Path | None = None
    # NPU layers: elements more than 1 LSB from the composite's float QDQ semantics (the
    # reference executor on the same int8 inputs), which the integer analysis must keep
    qdq_off: int = 0
    qdq_max: float = 0.0
    note: str = ""             # why the layer could not be checked (a failure too)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.qdq_off == 0 and not self.note

    def describe(self) -> str:
        nodes = ", ".join(self.onnx_nodes) or "-"
        head = (f"{self.where} layer {self.name} ({self.op}, ONNX node(s) {nodes}"
                + (f", region {self.region}, pattern {self.pattern}, lowering {self.lowering}"
                   if self.where == "npu" else "") + ")")
        if self.ok:
            return f"{head}: ok"
        if self.note:
            return f"{head}: {self.note}"
        tol = "bit-exact" if self.where == "npu" else "tolerance"
        parts = [f"{self.mismatches} of {self.size} elements differ from the integer "
                 f"reference ({tol}), max |diff| {self.max_diff:.4g}; first at index "
                 f"{list(self.first or ())}: expected {self.expected:.6g}, got {self.got:.6g}"
                 if self.where == "npu" else
                 f"{self.mismatches} of {self.size} elements beyond the {tol}, max |diff| "
                 f"{self.max_diff:.4g}; first at index {list(self.first or ())}: expected "
                 f"{self.expected:.6g}, got {self.got:.6g}"] if self.mismatches else []
        if self.qdq_off:
            parts.append(f"{self.qdq_off} elements more than 1 LSB from the composite's float "
                         f"QDQ semantics (max {self.qdq_max:.4g} LSB): the layer's integer "
                         "analysis is off")
        return f"{head}: " + "; ".join(parts)


@dataclass(frozen=True)
class LayerReport:
    layers: tuple[LayerResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.layers)

    @property
    def first_divergence(self) -> LayerResult | None:
        return next((r for r in self.layers if not r.ok), None)

    def failures(self) -> list[str]:
        bad = [r for r in self.layers if not r.ok]
        if not bad:
            return []
        first = bad[0]
        out = [f"first diverging layer: {first.describe()}"]
        if first.replay:
            out.append(f"its inputs: {first.replay} (vendor-sdk replay {first.replay})")
        if len(bad) > 1:
            out.append(f"{len(bad) - 1} later layers diverge too: "
                       + ", ".join(r.name for r in bad[1:6]) + (" ..." if len(bad) > 6 else ""))
        return out


@dataclass
class Trace:
    """What a run computed: main's values, and per region call its layers' DRAM values."""

    values: dict[str, Any] = field(default_factory=dict)
    regions: list[tuple[str, dict[str, np.ndarray]]] = field(default_factory=list)
    host: Module | None = None  # the host program that ran (npu.host_module)


class Recording(Executor):
    """The host executor, keeping every value the entry function computes."""

    def __init__(self, module: Module, externs: Mapping[str, Callable[..., Any]],
                 values: dict[str, Any]) -> None:
        super().__init__(module, externs, "llvm")
        self.values = values

    def _eval(self, expr: Any, get: Callable[[Any], Any], where: Any) -> Any:
        out = super()._eval(expr, get, where)
        if where.func == self.module.entry:
            self.values[where.var] = out
        return out


def run_traced(module: Module, session: NpuSession,
               inputs: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Trace]:
    """Run as ``npu.run_model`` does, keeping what every layer computed."""
    trace = Trace()
    main = module[module.entry]
    trace.values.update({p.name: np.asarray(x) for p, x in zip(main.params, inputs,
                                                                strict=True)})

    def extern(name: str) -> Callable[..., Any]:
        rf = module[name]
        layer_outs = [b.var.name for b in rf.bindings]

        def run(*xs: np.ndarray) -> Any:
            y = session.run_region(name, *xs)
            vals = {p.name: x for p, x in zip(rf.params, xs, strict=True)}
            trace.regions.append((name, vals | session.slot_values(name, layer_outs)))
            return y
        return run

    hm = trace.host = host_module(module, list(session.regions))
    rec = Recording(hm, {n: extern(n) for n in session.regions}, trace.values)
    return rec.run(list(inputs)), trace


def _first(bad: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))


def compare_npu(lc: LayerCode, region: str, ins: Sequence[np.ndarray], got: np.ndarray,
                qdq: np.ndarray | None = None) -> tuple[LayerResult, np.ndarray]:
    """One NPU layer's output against its integer reference (bit for bit) and, given
    ``qdq`` (the composite run by the reference executor), within 1 LSB of that."""
    layer = lc.layer
    common: dict[str, Any] = dict(
        where="npu", name=layer.name, op=layer.op, onnx_nodes=lc.onnx_nodes, region=region,
        pattern=layer.pattern, size=int(got.size),
        lowering=lc.explain.splitlines()[0] if lc.explain else str(layer.lower))
    try:
        want = layer_reference(layer, ins)
    except NoReference as e:
        return LayerResult(**common, note=str(e)), got
    if qdq is not None and qdq.shape == got.shape:
        dq = np.abs(qdq.astype(np.int64) - got.astype(np.int64))
        common |= {"qdq_off": int((dq > 1).sum()), "qdq_max": float(dq.max(initial=0))}
    elif qdq is not None:
        common |= {"qdq_off": int(got.size), "qdq_max": float("inf")}
    if want.shape != got.shape:
        return LayerResult(**common, mismatches=int(want.size), max_diff=float("inf")), want
    d = np.abs(want.astype(np.int64) - got.astype(np.int64))
    bad = d != 0
    if not bad.any():
        return LayerResult(**common), want
    i = _first(bad)
    return LayerResult(**common, mismatches=int(bad.sum()), max_diff=float(d.max()), first=i,
                       expected=float(want[i]), got=float(got[i])), want


def compare_host(name: str, op: str, source: str, want: np.ndarray,
                 got: np.ndarray) -> LayerResult:
    """One host value against the reference executor's, within 1 LSB / relative 1e-4."""
    want, got = np.asarray(want), np.asarray(got)
    result = partial(LayerResult, "host", name, op, (source,) if source else (),
                     size=int(want.size))
    if want.shape != got.shape:
        return result(mismatches=int(want.size), max_diff=float("inf"))
    w, g = want.astype(np.float64), got.astype(np.float64)
    d = np.abs(w - g)
    if want.dtype.kind == "f":
        tol = HOST_FLOAT_RTOL * max(float(np.abs(w).max(initial=0.0)), 1e-30)
        bad = (d > tol) | (np.isnan(w) != np.isnan(g))
    else:
        bad = d > HOST_INT_TOL
    if not bad.any():
        return result(max_diff=float(np.nanmax(d, initial=0.0)))
    i = _first(bad)
    return result(mismatches=int(bad.sum()), max_diff=float(np.nanmax(d)), first=i,
                  expected=float(w[i]), got=float(g[i]))


def host_reference(module: Module, var: str, values: Mapping[str, Any]) -> Any:
    """``var`` of the entry function by the reference executor's ops (numpy), from the
    values the run computed; values the host program fused away are recomputed."""
    main = module[module.entry]
    defs = {b.var.name: b.value for b in main.bindings}
    memo: dict[str, Any] = {}

    def value(arg: Any) -> Any:
        if arg is None:
            return None
        if isinstance(arg, Constant):
            return arg.value
        if arg.name in values and arg.name != var:
            return values[arg.name]
        if arg.name not in memo:
            memo[arg.name] = compute(defs[arg.name])
        return memo[arg.name]

    def compute(expr: Any) -> Any:
        if isinstance(expr, Call):
            return get_op(expr.op).compute([value(a) for a in expr.args], expr.attrs)
        if isinstance(expr, TupleGetItem):
            return value(expr.value)[expr.index]
        if isinstance(expr, CallFunc):  # a host composite: the reference executor runs it
            outs = Executor(module, host="interp").run([np.asarray(value(a))
                                                        for a in expr.args], expr.func)
            return outs[0] if len(outs) == 1 else tuple(outs)
        raise TypeError(f"{var}: cannot compute {type(expr).__name__} on the host reference")

    return compute(defs[var])


def check_trace(module: Module, regions: Mapping[str, RegionCode], trace: Trace,
                dump: Callable[[LayerResult, dict[str, Any]], Path] | None = None
                ) -> LayerReport:
    """Every layer in execution order; ``dump`` writes the first divergence's inputs."""
    hm_main = (trace.host or host_module(module, list(regions)))[module.entry]
    calls = iter(trace.regions)
    out: list[LayerResult] = []
    for b in hm_main.bindings:
        if isinstance(b.value, CallExtern) and b.value.symbol in regions:
            name, vals = next(calls)
            out += _check_region(module, regions[name], vals, dump if _clean(out) else None)
            continue
        if isinstance(b.value, TupleGetItem):  # its tuple was checked element by element
            continue
        out += _check_host(module, b, trace, dump if _clean(out) else None)
    return LayerReport(tuple(out))


def _clean(out: list[LayerResult]) -> bool:
    return all(r.ok for r in out)


def _check_host(module: Module, b: Any, trace: Trace,
                dump: Callable[[LayerResult, dict[str, Any]], Path] | None
                ) -> list[LayerResult]:
    """One binding of the host program against the reference executor (each element of a
    tuple value on its own)."""
    v = next((x.value for x in module[module.entry].bindings if x.var.name == b.var.name),
             None)
    op = v.op if isinstance(v, Call) else type(v).__name__
    got = trace.values[b.var.name]
    try:
        want = host_reference(module, b.var.name, trace.values)
    except Exception as e:  # the reference op itself failed: nothing vouches for the value
        return [LayerResult("host", b.var.name, op, (b.source,) if b.source else (),
                            note=f"the reference executor failed: {type(e).__name__}: {e}")]
    pairs = list(zip(want, got, strict=True)) if isinstance(got, tuple) else [(want, got)]
    out: list[LayerResult] = []
    for i, (w, g) in enumerate(pairs):
        name = f"{b.var.name}[{i}]" if isinstance(got, tuple) else b.var.name
        res = compare_host(name, op, b.source, w, g)
        if not res.ok and dump is not None and _clean(out):
            args = [a.name for a in getattr(b.value, "args", ()) if isinstance(a, Var)]
            res = _with_replay(res, dump, {"kind": "host", "var": b.var.name, "op": op,
                                           "args": args, "element": i},
                               {"in": [np.asarray(trace.values[a]) for a in args],
                                "expected": [np.asarray(w)], "got": [np.asarray(g)]})
        out.append(res)
    return out


def _check_region(module: Module, rc: RegionCode, vals: dict[str, np.ndarray],
                  dump: Callable[[LayerResult, dict[str, Any]], Path] | None
                  ) -> list[LayerResult]:
    codes = {lc.layer.name: lc for lc in rc.layers}
    rf = module[rc.name]
    out: list[LayerResult] = []
    for b in rf.bindings:
        assert isinstance(b.value, CallFunc)
        comp = module[b.value.func]
        lc = codes[comp.name]
        ins = layer_inputs(lc, comp, b.value.args, vals)
        qdq = composite_reference(module, comp.name, b.value.args, vals)
        res, want = compare_npu(lc, rc.name, ins, vals[b.var.name], qdq)
        if not res.ok and dump is not None and _clean(out):
            res = _with_replay(res, dump, {"kind": "npu", "region": rc.name,
                                           "layer": comp.name},
                               {"region_in": [vals[p.name] for p in rf.params], "in": ins,
                                "expected": [want], "got": [vals[b.var.name]]})
        out.append(res)
    return out


def composite_reference(module: Module, comp: str, args: Sequence[Any],
                        vals: Mapping[str, np.ndarray]) -> np.ndarray:
    """The composite as the model says (DequantizeLinear, float op, QuantizeLinear) run
    by the reference executor on the int8 values the layer read."""
    xs = [a.value if isinstance(a, Constant) else vals[a.name] for a in args]
    return np.asarray(Executor(module, host="interp").run(xs, comp)[0])


def layer_inputs(lc: LayerCode, comp: Any, args: Sequence[Any],
                 vals: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """The values a layer read, in its analysis's operand order (an Add's ``inputs`` name
    the composite's parameters; a GEMM layer reads its one variable input)."""
    by_param = {p.name: vals[a.name] for p, a in zip(comp.params, args, strict=True)
                if isinstance(a, Var)}
    names = getattr(lc.layer, "inputs", None)
    if names:
        return [by_param[n] for n in names]
    return [next(iter(by_param.values()))]


def _with_replay(res: LayerResult, dump: Callable[[LayerResult, dict[str, Any]], Path],
                 meta: dict[str, Any], arrays: dict[str, list[np.ndarray]]) -> LayerResult:
    from dataclasses import replace

    flat: dict[str, Any] = {f"{k}_{i}": a for k, v in arrays.items() for i, a in enumerate(v)}
    flat["meta"] = meta | {"result": res.describe()}
    return replace(res, replay=dump(res, flat))


def npz_writer(directory: Path, context: Mapping[str, Any]
               ) -> Callable[[LayerResult, dict[str, Any]], Path]:
    """Writes a divergence as ``directory/<layer>.npz``: the arrays, and under ``meta`` a
    JSON of ``context`` (model, target, backend, ...) and what diverged."""
    def write(res: LayerResult, flat: dict[str, Any]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{res.name}.npz"
        meta = dict(context) | flat.pop("meta")
        np.savez(path, meta=np.array(json.dumps(meta)), **flat)
        return path
    return write
