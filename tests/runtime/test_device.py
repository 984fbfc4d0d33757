"""vendor_sdk.runtime.device: a target's runtime library (vsdk_device.h) built from its
`runtime:` section and driven through ctypes, on the reference NPU and on a toy target
whose runtime is fifty lines of C written here (nothing in the SDK knows either)."""

from __future__ import annotations

import ctypes
import shutil
from pathlib import Path

import numpy as np
import pytest

from reference_npu.isa.encoding import ErrorCode, MemId
from vendor_sdk.plugins import resolve_target
from vendor_sdk.runtime.device import Device, DeviceError
from vendor_sdk.sim.errors import SimError
from vendor_sdk.target import load_target
from vendor_sdk.target.runtime_build import RuntimeBuildError, build_runtime

REFERENCE = resolve_target("reference_npu")


def _load_rows(dev: Device, dram: int, rows: int) -> None:
    """Queue one reference LOAD of `rows` INP rows through the driver the runtime carries."""
    lib = ctypes.CDLL(str(dev.library))
    lib.npu_load.restype = ctypes.c_int
    lib.npu_load.argtypes = [ctypes.c_void_p, *[ctypes.c_uint32] * 11, ctypes.c_int32]
    lib.npu_clear_insns.argtypes = [ctypes.c_void_p]
    lib.npu_clear_insns(dev.context)
    assert lib.npu_load(dev.context, 0, MemId.INP, 0, dram, rows, 1, 1, 0, 0, 0, 0, 0) == 0


def test_fsim_dram_round_trip_and_an_empty_run() -> None:
    with Device(REFERENCE, "fsim") as dev:
        x = np.arange(-60, 60, dtype=np.int32).reshape(3, 40)
        addr = dev.put(x)
        assert addr != 0 and addr % 64 == 0
        assert np.array_equal(dev.read(addr, x.shape, np.int32), x)
        dev.write(addr + 4, np.array([7], np.int32))
        assert dev.read(addr, 2, np.int32).tolist() == [-60, 7]
        result = dev.run()
    assert list(result.counters) == list(REFERENCE.spec.counters)  # target.yaml order
    assert set(result.counters.values()) == {0}
    assert result.error_code == 0 and result.cycles_estimated


def test_counters_by_name_and_machine_errors() -> None:
    dim = REFERENCE.params["DIM"]
    with Device(REFERENCE, "fsim") as dev:
        src = dev.put(np.arange(4 * dim, dtype=np.int8))
        _load_rows(dev, src, 3)
        ok = dev.run()
        assert ok.error_code == 0 and dev.error() == ""
        assert ok.counters["insns"] == 1 and ok.counters["dma_rd_bytes"] == 3 * dim
        assert ok.counters["cycles"] >= ok.counters["ld_busy"] > 0
        _load_rows(dev, src + 64 * dim, 3)  # past everything allocated
        bad = dev.run()
        assert bad.error_code == ErrorCode.DRAM_RANGE and bad.error_insn == 0
        assert "DRAM_RANGE at instruction 0" in dev.error()


def test_bad_dram_access_and_backend_are_device_errors() -> None:
    with Device(REFERENCE, "fsim") as dev:
        with pytest.raises(DeviceError, match=r"reading 8 bytes at DRAM 1000000 failed: .*"
                                              r"outside the allocated"):
            dev.read(1_000_000, 8, np.int8)
        with pytest.raises(DeviceError, match=r"allocating .* bytes of DRAM failed"):
            dev.alloc(1 << 40)
    with pytest.raises(DeviceError, match=r"cannot open backend 'gpu': .*unknown backend"):
        Device(REFERENCE, "gpu")


def test_rtl_backend_opens_the_built_library_and_agrees_with_fsim() -> None:
    dim = REFERENCE.params["DIM"]
    results = {}
    for backend in ("fsim", "rtl"):
        with Device(REFERENCE, backend) as dev:
            assert "rtl_lib=" in dev.options if backend == "rtl" else "rtl_lib" not in dev.options
            src = dev.put(np.arange(4 * dim, dtype=np.int8))
            _load_rows(dev, src, 4)
            results[backend] = dev.run()
    fsim, rtl = results["fsim"], results["rtl"]
    assert fsim.cycles_estimated and not rtl.cycles_estimated
    exact = ("gemm_rows", "dma_rd_bytes", "dma_wr_bytes", "insns")  # cycles: model vs RTL
    assert {k: rtl.counters[k] for k in exact} == {k: fsim.counters[k] for k in exact}
    assert rtl.counters["dma_rd_bytes"] == 4 * dim and rtl.counters["cycles"] > 0


TOY_C = r"""
#include <stdlib.h>
#include <string.h>
#include "vsdk_device.h"
#include "toy.h"

struct vsdk_device { uint8_t dram[TOY_DRAM]; uint32_t top; int scale; };
static char err[64] = "";
vsdk_device *vsdk_device_open(const char *backend, const char *options) {
    if (strcmp(backend, "fsim")) { strcpy(err, "toy: fsim only"); return NULL; }
    vsdk_device *d = calloc(1, sizeof *d);
    d->top = 64;
    const char *s = strstr(options, "scale=");
    d->scale = s ? atoi(s + 6) : 1;
    return d;
}
void vsdk_device_close(vsdk_device *d) { free(d); }
const char *vsdk_device_error(const vsdk_device *d) { (void)d; return err; }
void *vsdk_device_context(vsdk_device *d) { return d; }
uint32_t vsdk_device_alloc(vsdk_device *d, uint64_t n, uint32_t align) {
    (void)align;
    if (d->top + n > TOY_DRAM) return 0;
    uint32_t a = d->top;
    d->top += (uint32_t)n;
    return a;
}
int vsdk_device_write(vsdk_device *d, uint32_t a, const void *s, uint64_t n) {
    if (a + n > d->top) return -1;
    memcpy(d->dram + a, s, n);
    return 0;
}
int vsdk_device_read(vsdk_device *d, uint32_t a, void *s, uint64_t n) {
    if (a + n > d->top) return -1;
    memcpy(s, d->dram + a, n);
    return 0;
}
int vsdk_device_run(vsdk_device *d, vsdk_run_result *r) {
    if (r->n_counters != 2) return -1;
    r->counters[0] = 100u * (uint64_t)d->scale; r->counters[1] = d->dram[64];
    r->error_code = 0; r->error_insn = 0; r->cycles_estimated = 0;
    return 0;
}
"""

TOY_YAML = """\
schema_version: 1
target: toy
params: {SCALE: 3}
memories: {buf: {dtype: int8, rows: 4, row_elems: 4, role: input, id: "0"}}
runtime: {header: toy.h, include: [inc], sources: ["src/*.c"], cflags: [-DTOY_DRAM=4096]}
movement: {load: [buf], pad: [buf]}
counters: {ticks: {role: cycles}, first_byte: {}}
peak_macs_per_cycle: 1
"""


def _toy(tmp_path: Path, c_source: str = TOY_C, yaml: str = TOY_YAML) -> Path:
    (tmp_path / "src").mkdir(parents=True)
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "toy.h").write_text("/* toy NPU */\n")
    (tmp_path / "src" / "toy.c").write_text(c_source)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "runtime.c.j2").write_text("/* toy glue: none needed here */\n")
    (tmp_path / "target.yaml").write_text(yaml)
    return tmp_path / "target.yaml"


def test_any_target_runtime_builds_and_runs(tmp_path: Path) -> None:
    target = load_target(_toy(tmp_path))
    lib = build_runtime(target)
    assert lib.name.startswith("libtoy_runtime_") and build_runtime(target) == lib  # cached
    with Device(target) as dev:
        assert dev.options == "scale=3"  # params in lower case
        dev.put(np.array([42], np.uint8))
        result = dev.run()
    assert result.counters == {"ticks": 300, "first_byte": 42}
    assert not result.cycles_estimated
    with pytest.raises(SimError, match=r"declares no `sim.rtl`.*add sim: rtl:"):
        Device(target, "rtl")


def test_prebuilt_runtime_library_is_used_as_is(tmp_path: Path) -> None:
    built = build_runtime(load_target(_toy(tmp_path / "src_pkg")))
    pkg = tmp_path / "bin_pkg"
    path = _toy(pkg, yaml=TOY_YAML.replace('sources: ["src/*.c"], cflags: [-DTOY_DRAM=4096]',
                                           "library: lib/libtoy.so"))
    (pkg / "lib").mkdir()
    shutil.copy(built, pkg / "lib" / "libtoy.so")
    target = load_target(path)
    assert build_runtime(target) == (pkg / "lib" / "libtoy.so").resolve()
    with Device(target) as dev:
        dev.put(np.array([9], np.uint8))
        assert dev.run().counters == {"ticks": 300, "first_byte": 9}


def test_runtime_that_does_not_compile_names_target_and_error(tmp_path: Path) -> None:
    path = _toy(tmp_path, TOY_C.replace("return a;", "return undeclared_name;"))
    with pytest.raises(RuntimeBuildError) as info:
        build_runtime(load_target(path))
    text = str(info.value)
    assert str(path) in text and "does not compile" in text and "undeclared_name" in text


def test_runtime_missing_a_contract_function(tmp_path: Path) -> None:
    body = TOY_C.split("int vsdk_device_run")[0]
    with pytest.raises(DeviceError, match="does not export vsdk_device_run"):
        Device(load_target(_toy(tmp_path, body)))


def test_target_without_runtime_says_what_to_add(tmp_path: Path) -> None:
    """validate accepts it (the C side may be work in progress); running cannot."""
    yaml = "\n".join(ln for ln in TOY_YAML.splitlines()
                     if not ln.startswith(("runtime", "movement", "counters", "peak")))
    with pytest.raises(RuntimeBuildError, match=r"declares no runtime.*add a `runtime:`"):
        Device(load_target(_toy(tmp_path, yaml=yaml + "\n")))


def test_runtime_sources_gone_after_validate(tmp_path: Path) -> None:
    target = load_target(_toy(tmp_path))
    (tmp_path / "src" / "toy.c").unlink()
    with pytest.raises(RuntimeBuildError, match=r"runtime.sources\[0\]: 'src/\*.c' matches"):
        build_runtime(target)


def test_two_builds_of_one_target_never_share_a_library_name(tmp_path: Path) -> None:
    """Model libraries name their runtime by file name and the loader binds a name to the
    first library loaded under it: an edited driver (same target name, new sources) must get
    a new name, or a model built against it would run against the old one in-process."""
    first = build_runtime(load_target(_toy(tmp_path / "a")))
    path = _toy(tmp_path / "b")
    src = path.parent / "src" / "toy.c"
    src.write_text(src.read_text() + "\n/* edited */\n")
    second = build_runtime(load_target(path))
    assert first.name != second.name and first.name.startswith("libtoy_runtime_")
