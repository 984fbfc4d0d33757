"""The example NPU's driver through its runtime library, on both backends: the encoders
emit snippets call (ex_vdot, ex_req, ex_valu, ex_load, ...), vsdk_device_run, and the
numerics checked against independent numpy/Python references, not against fsim."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from example_npu import target as target_path
from example_npu.bindings import Device, DeviceError, device_error, options, queue, run_queued
from example_npu.isa.table import load_isa

N, K = 4, 16
MEM = load_isa().memories
FN = load_isa().valu_fn
BACKENDS = ["fsim", "rtl"]


def put(dev: Device, array: np.ndarray) -> int:
    data = np.ascontiguousarray(array).tobytes()
    addr = dev.alloc(len(data))
    dev.write(addr, data)
    return addr


def run_ok(dev: Device) -> dict[str, int]:
    result = run_queued(dev)
    assert result.rc == 0 and result.error_code == 0, device_error(dev)
    return result.counters


@pytest.mark.parametrize("backend", BACKENDS)
def test_vdot_accumulates_int8_dot_products(backend: str) -> None:
    rng = np.random.default_rng(1)
    m = 37
    a = rng.integers(-128, 128, (m, K), dtype=np.int8)
    w = rng.integers(-128, 128, (2 * N, K), dtype=np.int8)   # two tiles: row n = lane n
    with Device(backend) as dev:
        a_at, w_at = put(dev, a), put(dev, w)
        out = dev.alloc(m * N * 4)
        assert queue(dev, "load", MEM["ACT"], 100, a_at, m, 0) == 0
        assert queue(dev, "load", MEM["WTS"], 0, w_at, 2 * N, 0) == 0
        # rows o*8 + i: two outer iterations of 4 rows... then the rest row by row
        assert queue(dev, "vdot", 1, 0, 100, 200, 1, m, 0, 1, 0, 1) == 0      # init, tile 0
        assert queue(dev, "vdot", 0, 1, 100, 200, 1, m, 0, 1, 0, 1) == 0      # += tile 1
        assert queue(dev, "store", MEM["PSUM"], 200, out, m) == 0
        counters = run_ok(dev)
        got = np.frombuffer(dev.read(out, m * N * 4), dtype=np.int32).reshape(m, N)
    want = a.astype(np.int64) @ w[:N].T.astype(np.int64) + a.astype(np.int64) @ w[N:].T
    assert np.array_equal(got, want.astype(np.int32))
    assert counters["dot_rows"] == 2 * m
    assert counters["insns"] == 5


def requant_ref(x: int, mult: int, shift: int, zp: int, lo: int, hi: int) -> int:
    """Python integers: round half up is floor((p + 2^(s-1)) / 2^s)."""
    p = x * mult
    r = p if shift == 0 else (p + (1 << (shift - 1))) >> shift
    v = zp + r
    v = min(max(v, lo), hi)   # the semantics' clamp: hi wins when lo > hi
    return max(-128, min(127, v))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("per_chan", [0, 1])
def test_req_rounds_half_up_and_clamps(backend: str, per_chan: int) -> None:
    rng = np.random.default_rng(2 + per_chan)
    m = 50
    x = rng.integers(-(1 << 20), 1 << 20, (m, N)).astype(np.int32)
    x[0] = [3, -3, 5, -5]                      # exact halves at shift 1
    mult = rng.integers(1, 1 << 31, N).astype(np.int32)
    shift = rng.integers(25, 45, N).astype(np.int32)
    mult[0], shift[0] = 1, 1
    clamp = np.array([rng.integers(-20, 20), -100, 90, 0], dtype=np.int32)  # zp, lo, hi
    desc = np.stack([mult, shift, clamp])
    with Device(backend) as dev:
        x_at, d_at = put(dev, x), put(dev, desc)
        out = dev.alloc(m * N)
        assert queue(dev, "load", MEM["PSUM"], 7, x_at, m, 0) == 0
        assert queue(dev, "load", MEM["PRM"], 30, d_at, 3, 0) == 0
        # stride 2 on the destination, read back as every other row
        assert queue(dev, "req", per_chan, 30, 7, 1000, 1, m, 0, 1, 0, 2) == 0
        for i in range(m):
            assert queue(dev, "store", MEM["RES"], 1000 + 2 * i, out + i * N, 1) == 0
        run_ok(dev)
        got = np.frombuffer(dev.read(out, m * N), dtype=np.int8).reshape(m, N)
    q = range(N) if per_chan else [0] * N
    want = [[requant_ref(int(x[i, c]), int(mult[qc]), int(shift[qc]), *map(int, clamp[:3]))
             for c, qc in enumerate(q)] for i in range(m)]
    assert np.array_equal(got, np.array(want, dtype=np.int8))
    if not per_chan:
        # halves round up: 1.5 -> 2, -1.5 -> -1, 2.5 -> 3, -2.5 -> -2
        assert (got[0] - clamp[0]).tolist() == [2, -1, 3, -2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_valu_functions_and_widening_load(backend: str) -> None:
    rng = np.random.default_rng(4)
    m = 9
    d = rng.integers(-(1 << 31), 1 << 31, (m, N)).astype(np.int32)
    s8 = rng.integers(-128, 128, (m, N), dtype=np.int8)        # widened into psum
    s = s8.astype(np.int32)
    results = {}
    with Device(backend) as dev:
        d_at, s_at = put(dev, d), put(dev, s8)
        for fn, imm in [("ADD", 0), ("SUB", 0), ("MUL", 0), ("MAX", 0), ("MIN", 0), ("MOV", 0),
                        ("ADDI", -1234), ("MAXI", 0)]:
            out = dev.alloc(m * N * 4)
            assert queue(dev, "load", MEM["PSUM"], 0, d_at, m, 0) == 0
            assert queue(dev, "load", MEM["PSUM"], 500, s_at, m, 1) == 0   # widen
            assert queue(dev, "valu", FN[fn], 0, 500, imm, 1, m, 0, 1, 0, 1) == 0
            assert queue(dev, "store", MEM["PSUM"], 0, out, m) == 0
            results[fn] = out
        run_ok(dev)
        got = {fn: np.frombuffer(dev.read(at, m * N * 4), dtype=np.int32).reshape(m, N)
               for fn, at in results.items()}
    d64, s64 = d.astype(np.int64), s.astype(np.int64)
    want = {"ADD": d64 + s64, "SUB": d64 - s64, "MUL": d64 * s64, "MAX": np.maximum(d, s),
            "MIN": np.minimum(d, s), "MOV": s, "ADDI": d64 - 1234, "MAXI": np.maximum(d, 0)}
    for fn, value in want.items():
        wrapped = ((np.asarray(value, dtype=np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)
        assert np.array_equal(got[fn], wrapped.astype(np.int32)), fn


def test_encoders_split_long_loops_and_refuse_fields_that_do_not_fit() -> None:
    with Device("fsim") as dev:
        assert queue(dev, "load", MEM["ACT"], 0, 64, 600, 0) == 0          # 255 + 255 + 90
        assert dev.program_size() == 3
        assert queue(dev, "vdot", 1, 0, 0, 0, 3, 2000, 1, 0, 1, 0) == 0   # inner > 1023 rows
        assert dev.program_size() == 3 + 3 * 2000
        assert queue(dev, "valu", FN["ADD"], 0, 100, 0, 2, 5, 10, 2, 10, 1) == 0  # stride 2
        assert dev.program_size() == 3 + 6000 + 10
        before = dev.program_size()
        assert queue(dev, "vdot", 1, 256, 0, 0, 1, 4, 0, 1, 0, 1) == -1   # tile is 8 bits
        assert "tile = 256" in device_error(dev)
        assert queue(dev, "valu", FN["ADDI"], 0, 0, 40000, 1, 1, 0, 1, 0, 1) == -1
        assert "imm = 40000" in device_error(dev)
        assert dev.program_size() == before                 # nothing queued


@pytest.mark.parametrize("backend", BACKENDS)
def test_machine_error_is_reported_with_its_instruction(backend: str) -> None:
    with Device(backend) as dev:
        assert queue(dev, "nop") == 0
        assert queue(dev, "fill", MEM["RES"], 4090, 10, 0) == 0     # rows 4090..4099 of 4096
        result = run_queued(dev)
        assert (result.rc, result.error_code, result.error_insn) == (3, 3, 1)
        assert "ROW_RANGE" in device_error(dev) and "instruction 1" in device_error(dev)
        assert result.cycles_estimated == (backend == "fsim")
        assert result.counters["insns"] == 1


def test_counter_record_and_params_agree_with_target_yaml() -> None:
    spec = yaml.safe_load(target_path().read_text())
    isa = load_isa()
    assert list(spec["counters"]) == list(isa.counters)
    assert {k: v for k, v in spec["params"].items() if k != "DRAM_BYTES"} == {
        k: default for k, (default, _) in isa.params.items()}
    assert list(spec["sim"]["rtl"]["params"]) == list(isa.params)


@pytest.mark.parametrize(("backend", "opts", "message"), [
    ("gpu", "", "unknown backend 'gpu'"),
    ("fsim", "n=5", "n must be 4, 8 or 16"),
    ("fsim", "k=16,dram_bytes=lots", "dram_bytes=lots is not a number"),
    ("fsim", "wts_rows=1030", "wts_rows must be a multiple of n"),
    ("rtl", "n=4", "needs the option rtl_lib="),
    ("rtl", "rtl_lib=/nonexistent.so", "cannot load the RTL library"),
])
def test_bad_options_are_refused_with_the_reason(backend: str, opts: str, message: str) -> None:
    with pytest.raises(DeviceError, match=message):
        Device(backend, option_string=opts)


def test_rtl_library_of_another_configuration_is_refused() -> None:
    opts = options("rtl") + ",n=8"   # the library is N=4; a later key wins
    with pytest.raises(DeviceError, match=r"built for n=4 .* ask for n=8"):
        Device("rtl", option_string=opts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_snap_writes_the_counter_record_of_the_work_before_it(backend: str) -> None:
    names = list(load_isa().counters)
    with Device(backend) as dev:
        data = put(dev, np.ones((8, K), np.int8))
        rec = dev.alloc(2 * 8 * len(names))
        assert queue(dev, "load", MEM["ACT"], 0, data, 8, 0) == 0
        assert queue(dev, "snap", rec) == 0
        assert queue(dev, "vdot", 1, 0, 0, 0, 1, 8, 0, 1, 0, 1) == 0
        assert queue(dev, "snap", rec + 8 * len(names)) == 0
        final = run_ok(dev)
        raw = np.frombuffer(dev.read(rec, 2 * 8 * len(names)), dtype="<u8").reshape(2, -1)
    first, second = (dict(zip(names, map(int, r), strict=True)) for r in raw)
    assert (first["insns"], first["dma_rd_bytes"], first["dot_rows"]) == (1, 8 * K, 0)
    assert (second["insns"], second["dot_rows"]) == (3, 8)
    assert second["dma_wr_bytes"] == 0 and final["dma_wr_bytes"] == 0  # SNAP is no STORE
    assert 0 < first["cycles"] < second["cycles"] < final["cycles"]
    assert final["insns"] == 4


def test_rtl_watchdog_is_the_max_cycles_option() -> None:
    """check-intrinsics bounds each RTL case with max_cycles= (vsdk_device.h); a program
    longer than the budget stops with the watchdog's reason, not after 4e9 cycles."""
    a = np.zeros((64, K), dtype=np.int8)
    with Device("rtl", option_string=options("rtl") + ",max_cycles=20") as dev:
        assert queue(dev, "load", MEM["ACT"], 0, put(dev, a), 64, 0) == 0
        result = run_queued(dev)
        assert result.rc != 0 and "watchdog" in device_error(dev), device_error(dev)
    with pytest.raises(DeviceError, match="max_cycles=0 is not a positive number"):
        Device("rtl", option_string=options("rtl") + ",max_cycles=0")
