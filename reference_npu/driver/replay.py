"""Read a trace run directory (written by the `trace` backend) and check a replay of it.

A testbench loads insns.bin and dram_in.bin into the design, runs it, and
hands the resulting DRAM image plus (error_code, error_pc) to
TraceRun.mismatches(); an empty list means the design matched fsim.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Region:
    offset: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class TraceRun:
    run_dir: pathlib.Path
    hw_config: dict[str, int]
    insns: bytes
    dram_in: bytes
    dram_out: bytes
    error_code: int
    error_pc: int
    exact_counters: dict[str, int] | None
    compare: tuple[Region, ...]

    @property
    def n_insns(self) -> int:
        return len(self.insns) // 16

    def mismatches(
        self, dram: bytes, error_code: int, error_pc: int,
        counters: dict[str, int] | None = None,
    ) -> list[str]:
        """What differs from the expected run; DRAM is only compared where STOREs wrote."""
        out = []
        if (error_code, error_pc) != (self.error_code, self.error_pc):
            out.append(
                f"stopped with (code {error_code}, pc {error_pc}), expected "
                f"(code {self.error_code}, pc {self.error_pc})"
            )
        if len(dram) != len(self.dram_out):
            out.append(f"DRAM image is {len(dram)} bytes, expected {len(self.dram_out)}")
            return out
        for region in self.compare:
            end = region.offset + region.nbytes
            got, want = dram[region.offset : end], self.dram_out[region.offset : end]
            if got != want:
                first = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
                out.append(
                    f"DRAM [{region.offset}, {end}) differs first at byte "
                    f"{region.offset + first}: {got[first]:#04x} != {want[first]:#04x}"
                )
        for name, want_value in (self.exact_counters or {}).items():
            if counters is not None and name in counters and counters[name] != want_value:
                out.append(f"counter {name} = {counters[name]}, expected {want_value}")
        return out


def load_trace(run_dir: pathlib.Path | str) -> TraceRun:
    run_dir = pathlib.Path(run_dir)
    manifest: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text())
    if manifest.get("format") != "reference_npu-trace-1":
        raise ValueError(f"{run_dir}: unknown trace format {manifest.get('format')!r}")
    expected = manifest["expected"]
    return TraceRun(
        run_dir=run_dir,
        hw_config=manifest["hw_config"],
        insns=(run_dir / manifest["insns"]["file"]).read_bytes(),
        dram_in=(run_dir / manifest["dram_in"]["file"]).read_bytes(),
        dram_out=(run_dir / expected["dram_out"]).read_bytes(),
        error_code=expected["error_code"],
        error_pc=expected["error_pc"],
        exact_counters=expected["exact_counters"],
        compare=tuple(Region(r["offset"], r["bytes"]) for r in manifest["compare"]),
    )


def trace_runs(trace_dir: pathlib.Path | str) -> list[pathlib.Path]:
    """Complete run directories under a trace directory, in run order."""
    return sorted(p.parent for p in pathlib.Path(trace_dir).glob("run_*/manifest.json"))
