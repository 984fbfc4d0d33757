"""`vendor-sdk replay LAYER.npz`: run the layer `run --check layers` named again.

The .npz (vendor_sdk.runtime.layer_check.npz_writer) holds the run's context (model,
target, backend, batch), what diverged, and the inputs: for an NPU layer its region's
inputs (``region_in_*``) and the layer's own (``in_*``); for a host op its arguments.
Replaying recompiles the model (the code that diverged is regenerated, with today's
compiler), then

- NPU layer: runs its region on the saved region inputs, reads the layer's inputs and
  output back from DRAM and compares the output bit for bit with the layer's integer
  reference; it also says whether the layer read the same inputs as in the saved run
  (the layers before it in the region may have changed since);
- host op: runs that one binding of the host program (llvmlite) on the saved arguments
  and compares it with the reference executor's op.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.graph import Block, Function, Var
from vendor_sdk.runtime.layer_check import (
    LayerResult,
    Recording,
    compare_host,
    compare_npu,
    host_reference,
    layer_inputs,
)
from vendor_sdk.runtime.npu import NpuSession, RunError, host_module


@dataclass(frozen=True)
class Replay:
    result: LayerResult
    same_inputs: bool      # the layer read what it read in the saved run
    saved: str             # the saved run's verdict


def load(npz: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    try:
        z = np.load(npz)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # EOFError: empty
        raise RunError(f"{npz}: not a readable .npz ({e or 'empty file'})") from None
    if not isinstance(z, np.lib.npyio.NpzFile) or "meta" not in z.files:
        raise RunError(f"{npz}: not written by `vendor-sdk run --check layers` (no 'meta')")
    with z:
        try:
            meta = json.loads(str(z["meta"]))
            need = ("model", "target", "kind") + (
                ("var", "args") if meta["kind"] == "host" else ("region", "layer"))
            missing = [k for k in need if k not in meta]
        except (ValueError, KeyError, TypeError) as e:
            raise RunError(f"{npz}: its 'meta' is not a check record ({e})") from None
        if missing:
            raise RunError(f"{npz}: its 'meta' lacks {missing}")
        parts: dict[str, dict[int, np.ndarray]] = {}
        for k in z.files:
            base, _, i = k.rpartition("_")
            if k != "meta" and i.isdigit():
                parts.setdefault(base, {})[int(i)] = z[k]
    arrays = {b: [d[i] for i in sorted(d)] for b, d in parts.items()}
    return meta, arrays


def replay(npz: Path, target: str | None = None, backend: str | None = None,
           model: Path | None = None) -> Replay:
    from vendor_sdk.compile import compile_model

    meta, arrays = load(npz)
    path = Path(model or meta["model"])
    if not path.exists():
        raise RunError(f"{npz}: its model {path} does not exist; pass --model")
    c = compile_model(path, target or meta["target"], {"N": int(meta.get("batch", 1))})
    regions = {r.name: r for r in c.cmodel.regions}
    if meta["kind"] == "host":
        return _host(c, meta, arrays, regions)
    if meta["region"] not in regions:
        raise RunError(f"{npz}: region {meta['region']} is not in today's compilation of "
                       f"{path} (regions: {', '.join(regions)}); the partition changed")
    be = backend or meta.get("backend", "fsim")
    sess = NpuSession(c.library, regions, c.target, be)
    try:
        rc = regions[meta["region"]]
        rf = c.module[rc.name]
        sess.run_region(rc.name, *arrays["region_in"])
        vals = {p.name: x for p, x in zip(rf.params, arrays["region_in"], strict=True)}
        vals |= sess.slot_values(rc.name, [b.var.name for b in rf.bindings])
    finally:
        sess.close()
    binding = next((b for b in rf.bindings if b.value.func == meta["layer"]), None)
    if binding is None:
        raise RunError(f"{npz}: layer {meta['layer']} is not in region {rc.name} any more")
    lc = next(lc for lc in rc.layers if lc.layer.name == meta["layer"])
    comp = c.module[meta["layer"]]
    ins = layer_inputs(lc, comp, binding.value.args, vals)
    same = len(ins) == len(arrays["in"]) and all(
        np.array_equal(a, b) for a, b in zip(ins, arrays["in"], strict=True))
    res, _ = compare_npu(lc, rc.name, ins, vals[binding.var.name])
    return Replay(res, same, meta.get("result", ""))


def _host(c: Any, meta: dict[str, Any], arrays: dict[str, list[np.ndarray]],
          regions: dict[str, Any]) -> Replay:
    hm = host_module(c.module, list(regions))
    main = hm[hm.entry]
    b = next((b for b in main.bindings if b.var.name == meta["var"]), None)
    if b is None:
        raise RunError(f"host value {meta['var']} is not in today's host program")
    args = [a for a in getattr(b.value, "args", ()) if isinstance(a, Var)]
    if [a.name for a in args] != meta["args"]:
        raise RunError(f"{meta['var']}: its arguments are {[a.name for a in args]} today, "
                       f"{meta['args']} in the saved run")
    # The one binding as the entry of a module with the host program's tensor programs;
    # the recording executor keeps its value (a tuple too).
    one = Function(hm.entry, tuple(args), (Block((b,)),), ())
    kept: dict[str, Any] = {}
    Recording(hm.with_function(one), {}, kept).run(arrays["in"])
    got, element = kept[b.var.name], meta.get("element", 0)
    values = dict(zip(meta["args"], arrays["in"], strict=True))
    want = host_reference(c.module, meta["var"], values)
    if isinstance(got, tuple):
        got, want = got[element], want[element]
    res = compare_host(meta["var"], str(meta.get("op", "")), b.source, want, got)
    return Replay(res, True, meta.get("result", ""))
