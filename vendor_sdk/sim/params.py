"""Parameters of an RTL model build: the hardware configuration plus the
simulation-only memory model (bus width, latency)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RtlParams:
    """Parameters of `npu_sim_top`; every field becomes a Verilator -G override."""

    dim: int = 8
    bus_bytes: int = 16
    latency: int = 16
    inp_rows: int = 2048
    wgt_rows: int = 1024
    acc_rows: int = 2048
    out_rows: int = 2048
    qp_rows: int = 192
    lut_rows: int = 128
    queue_depth: int = 16
    token_depth: int = 16

    def __post_init__(self) -> None:
        if self.dim not in (4, 8, 16):
            raise ValueError(f"dim must be 4, 8 or 16, not {self.dim}")
        if self.bus_bytes not in (16, 32, 64):
            raise ValueError(f"bus_bytes must be 16, 32 or 64, not {self.bus_bytes}")
        if self.latency < 1:
            raise ValueError("latency must be at least 1 cycle")
        if self.queue_depth < 1 or self.queue_depth & (self.queue_depth - 1):
            raise ValueError("queue_depth must be a power of two")
        if self.token_depth + self.queue_depth > 255:
            raise ValueError("token_depth + queue_depth must stay below 256")
        if min(self.inp_rows, self.wgt_rows, self.acc_rows, self.out_rows, self.qp_rows) < 1:
            raise ValueError("every SRAM but LUT needs at least one row")

    def verilator_args(self) -> list[str]:
        """-G overrides in a stable order (they are part of the cache key)."""
        return [f"-G{f.name.upper()}={getattr(self, f.name)}" for f in dataclasses.fields(self)]

    def key(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self))

DEFAULT_PARAMS = RtlParams()
