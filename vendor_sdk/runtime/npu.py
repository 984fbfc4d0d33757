"""Execute a compiled model: host remainder as machine code, regions on the NPU.

The generated library builds each region's work (C, against the target's glue and emit
snippets); this module owns the DRAM (constants written once per device, activations per
batch size), converts region inputs and outputs between the graph layout (NCHW / [M, K])
and the NPU layout (channel-last, channels padded to the row width, or im2col patches
where the slot says so), runs the backend chosen at run time (``fsim`` or ``rtl``) through
the target's runtime library (vendor_sdk.runtime.device) and keeps each region call's
counters by the target's counter names.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import symbolic as sym
from core.errors import VendorSdkError
from core.executor import Executor
from core.graph import Binding, Block, CallExtern, CallFunc, Function, Module
from core.lower import lower_module
from vendor_sdk.codegen.cexpr import c_name
from vendor_sdk.codegen.code import RegionCode, Slot
from vendor_sdk.codegen.perf import record_bytes
from vendor_sdk.runtime.device import BACKENDS, Device
from vendor_sdk.runtime.fault import locate
from vendor_sdk.runtime.perf import CounterRoles, LayerStats, RegionStats, add, layer_deltas
from vendor_sdk.target.load import Target

__all__ = ["BACKENDS", "NpuSession", "RegionStats", "RunError", "host_module", "run_model"]


class RunError(VendorSdkError):
    """The NPU program failed to build or run (names the region and the reason)."""


def to_npu(x: np.ndarray, slot: Slot) -> np.ndarray:
    """Graph layout -> the slot's layout: channel-last, channels zero-padded (the padded
    weights are 0), or the im2col patches the codegen chose for a conv's input."""
    if slot.layout is not None:
        return np.ascontiguousarray(slot.layout.gather(x))
    y = x.transpose(0, 2, 3, 1) if x.ndim == 4 else x
    if x.ndim == 3 and len(slot.npu_shape) == 4:  # a 1-D conv's NCL as N, 1, L, C
        y = x.transpose(0, 2, 1)[:, None]
    c = slot.npu_shape[-1]
    if y.shape[-1] != c:
        pad = [(0, 0)] * (y.ndim - 1) + [(0, c - y.shape[-1])]
        y = np.pad(y, pad)
    return np.ascontiguousarray(y)


def from_npu(y: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if y.ndim == 4 and len(shape) == 3:  # a 1-D conv's N, 1, L, C back to NCL
        return np.ascontiguousarray(y[:, 0, :, :shape[1]].transpose(0, 2, 1))
    c = shape[1] if len(shape) == 4 else shape[-1]
    y = y[..., :c]
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2) if len(shape) == 4 else y)


def _concrete(shape: tuple, env: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(int(sym.evaluate(d, env)) if not isinstance(d, int) else d for d in shape)


@dataclass
class NpuSession:
    """One open device of the target's runtime library with a loaded model library."""

    library: Path
    regions: Mapping[str, RegionCode]
    target: Target
    backend: str
    options: Mapping[str, object] | None = None  # extra device options (they win)
    stats: dict[str, RegionStats] = field(default_factory=dict)
    # Progress: called before each region call with "region k of n (name)" and the cycles
    # of the calls so far (the device reports cycles only at the end of a call).
    progress: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.device = Device(self.target, self.backend, self.options)
        # After the device: the model library links the runtime library the device loaded.
        self.lib = ctypes.CDLL(str(self.library))
        self.roles = CounterRoles.of(self.target)
        self._record = record_bytes(self.target)
        self._consts: dict[str, int] = {}
        self._slots: dict[tuple[str, tuple[int, ...]], list[int]] = {}
        self._records: dict[str, int] = {}  # DRAM address of each region's counter records
        self._last: dict[str, tuple[list[int], dict[str, int]]] = {}
        for r in self.regions.values():
            self._consts[r.name] = self.device.put(np.frombuffer(r.consts, np.uint8)) \
                if r.consts else 0
            self.stats[r.name] = RegionStats(
                r.name, self.roles, layers=None if r.perf_records is None else
                [LayerStats.of(lc, self.roles) for lc in r.layers])
            if r.perf_records is not None:
                self._records[r.name] = self.device.alloc(
                    max(64, self._record * r.perf_records))

    def close(self) -> None:
        self.device.close()

    def _say(self, name: str) -> None:
        if self.progress is None:
            return
        k = list(self.regions).index(name) + 1
        cycles = sum(self.roles.get(s.counters, self.roles.cycles) for s in self.stats.values())
        self.progress(f"region {k} of {len(self.regions)} ({name})"
                      + (f", {cycles:,} cycles so far" if cycles else ""))

    def run_region(self, name: str, *inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        r = self.regions[name]
        self._say(name)
        env: dict[str, int] = {}
        for pname, x in zip(r.params, inputs, strict=True):
            slot = next(s for s in r.slots if s.name == pname)
            for d, n in zip(slot.shape, x.shape, strict=True):
                if not isinstance(d, int):
                    env.update({v: n for v in sym.free_vars(d)})
        sizes = tuple(env.get(s, 1) for s in r.sizes)
        key = (name, sizes)
        if key not in self._slots:  # DRAM is a bump allocator: allocate once per batch size
            addrs = [self._consts[name] or 0]
            for s in r.slots:
                shape = _concrete(s.npu_shape, env)
                addrs.append(self.device.alloc(max(64, int(np.prod(shape)))))
            self._slots[key] = addrs
        addrs = self._slots[key]
        self._last[name] = (addrs, env)  # slot_values reads this call's DRAM
        for pname, x in zip(r.params, inputs, strict=True):
            slot = next(s for s in r.slots if s.name == pname)
            self.device.write(addrs[r.slot_index(pname)], to_npu(x, slot))
        if name in self._records:  # addr[1 + len(slots)]; zeroed: a missed snapshot shows
            addrs = [*addrs, self._records[name]]
            self.device.write(self._records[name],
                              np.zeros(self._record * (r.perf_records or 0), np.uint8))
        fn = getattr(self.lib, c_name(name))
        fn.restype = ctypes.c_int
        arr = (ctypes.c_uint32 * len(addrs))(*addrs)
        rc = fn(ctypes.c_void_p(self.device.context), arr, *(ctypes.c_int64(s) for s in sizes))
        if rc != 0:
            raise RunError(f"{name}: queuing its work on the {self.target.name} device failed "
                           f"({rc}): {self.device.error() or 'no reason given'}")
        result = self.device.run()
        if result.error_code != 0:
            reason = self.device.error() or "no reason given"
            site = locate(self.lib, r, result.error_insn,
                          lambda: fn(ctypes.c_void_p(self.device.context), arr,
                                     *(ctypes.c_int64(s) for s in sizes)))
            raise RunError(f"{name}: the {self.target.name} NPU ({self.backend}) stopped with "
                           f"error {result.error_code} at instruction {result.error_insn}: "
                           f"{reason}\n  {site.describe()}")
        st = self.stats[name]
        st.calls += 1
        st.counters = add(st.counters, result.counters)
        st.estimate = result.cycles_estimated
        st.macs += sum(lc.layer.macs(sizes[0] if sizes else 1) for lc in r.layers)
        if st.layers is not None:
            self._add_layers(r, st.layers, result.counters, sizes[0] if sizes else 1)
        outs = []
        for oname in r.outputs:
            slot = next(s for s in r.slots if s.name == oname)
            shape = _concrete(slot.shape, env)
            raw = self.device.read(addrs[r.slot_index(oname)], _concrete(slot.npu_shape, env),
                                   np.int8)
            outs.append(from_npu(raw, shape))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def slot_values(self, name: str, values: Sequence[str]) -> dict[str, np.ndarray]:
        """Channel-last int8 tensors of the region's last call (graph variables, e.g. each
        layer's output) read back from DRAM in the graph layout, as the NPU stored them:
        every binding of a region has its own slot, so nothing has overwritten them."""
        r = self.regions[name]
        addrs, env = self._last[name]
        slots = {s.name: s for s in r.slots}
        return {v: from_npu(self.device.read(addrs[r.slot_index(v)],
                                             _concrete(slots[v].npu_shape, env), np.int8),
                            _concrete(slots[v].shape, env)) for v in values}

    def _add_layers(self, r: RegionCode, layers: list[LayerStats], final: Mapping[str, int],
                    batch: int) -> None:
        """Add this call's per-layer counters (from the region's records) to ``layers``."""
        names = self.roles.names
        records = self.device.read(self._records[r.name], (r.perf_records or 0, len(names)),
                                   np.uint64)
        try:
            deltas = layer_deltas(r, records, final, names)
        except ValueError as e:
            raise RunError(f"{e} (backend {self.backend})") from None
        for ls, lc, d in zip(layers, r.layers, deltas, strict=True):
            ls.calls += 1
            ls.macs += lc.layer.macs(batch)
            ls.counters = add(ls.counters, d)


def host_module(module: Module, regions: Sequence[str]) -> Module:
    """Main with region calls as externs and every lowerable host op as a tensor program."""
    main: Function = module[module.entry]
    blocks = []
    for blk in main.blocks:
        out = []
        for b in blk.bindings:
            v = b.value
            if isinstance(v, CallFunc) and v.func in regions:
                out.append(Binding(b.var, CallExtern(v.func, v.args, b.var.type), b.source))
            else:
                out.append(b)
        blocks.append(Block(tuple(out), blk.dataflow))
    new = Function(main.name, main.params, tuple(blocks), main.outputs, main.attrs)
    return lower_module(module.with_function(new))


def run_model(module: Module, session: NpuSession, inputs: Sequence[np.ndarray],
              host: str = "llvm") -> list[np.ndarray]:
    hm = host_module(module, list(session.regions))
    externs = {n: (lambda *xs, _n=n: session.run_region(_n, *xs)) for n in session.regions}
    return Executor(hm, externs, host).run(list(inputs))
