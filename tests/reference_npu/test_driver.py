"""The C driver: its API from C under sanitizers, the rtl dlopen path, the build cache."""

from __future__ import annotations

import os
import pathlib
import subprocess
import threading

import numpy as np
import pytest

from reference_npu import DRIVER_DIR
from reference_npu.bindings import Npu, NpuError
from reference_npu.driver import build
from reference_npu.isa.encoding import ErrorCode, Gemm, Load, MemId, Req, Store

SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1"]
FSIM_SOURCES = [str(DRIVER_DIR / s) for s in ("fsim.c", "fsim_check.c", "fsim_ops.c")]

API_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "npu.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "line %d: %s [%s]\n", __LINE__, #c, \
    npu_last_error(ctx)); return 1; } } while (0)

int main(void) {
    npu_ctx *ctx = NULL;
    CHECK(!npu_open("bogus", "") && strstr(npu_last_error(NULL), "unknown backend"));
    CHECK(!npu_open("fsim", "dim=7") && strstr(npu_last_error(NULL), "dim=7"));
    CHECK(!npu_open("fsim", "nonsense=1") && strstr(npu_last_error(NULL), "bad option"));
    CHECK(!npu_open("rtl", "") && strstr(npu_last_error(NULL), "lib=<path>"));
    CHECK(!npu_open("rtl", "/nonexistent/libnpu_rtl.so") &&
          strstr(npu_last_error(NULL), "cannot load RTL harness library"));
    CHECK(!npu_open("trace", "") && strstr(npu_last_error(NULL), "dir=<path>"));
    ctx = npu_open("fsim", "dram=1M");
    CHECK(ctx);
    npu_hw_config cfg;
    CHECK(npu_get_hw_config(ctx, &cfg) == 0 && cfg.dim == 8 && cfg.token_depth == 16);
    uint32_t x = npu_dram_alloc(ctx, 24, 16), w = npu_dram_alloc(ctx, 64, 64);
    uint32_t out = npu_dram_alloc(ctx, 3 * 8 * 4, 0);
    CHECK(x && w && out && w % 64 == 0 && out % 64 == 0);
    CHECK(npu_dram_alloc(ctx, 2u << 20, 64) == NPU_DRAM_NONE);
    CHECK(npu_dram_alloc(ctx, 8, 3) == NPU_DRAM_NONE && strstr(npu_last_error(ctx), "power"));
    CHECK(npu_dram_ptr(ctx, (uint32_t)npu_dram_size(ctx)) == NULL);
    int8_t *px = npu_dram_ptr(ctx, x), *pw = npu_dram_ptr(ctx, w);
    for (int i = 0; i < 24; i++) px[i] = (int8_t)(i - 12);
    for (int k = 0; k < 8; k++)
        for (int n = 0; n < 8; n++) pw[k * 8 + n] = (int8_t)(k == n ? 2 : 0);
    CHECK(npu_load(ctx, 0, NPU_MEM_INP, 0, x, 1, 3, 3, 0, 0, 0, 0, 0) == 0);
    CHECK(npu_load(ctx, NPU_DEP_PUSH_NEXT, NPU_MEM_WGT, 0, w, 1, 8, 8, 0, 0, 0, 0, 0) == 0);
    CHECK(npu_gemm(ctx, NPU_DEP_POP_PREV, 0, 1, 0, 0, 0, 3, 1, 1, 0, 1, 0) == 0);
    CHECK(npu_alu(ctx, NPU_DEP_PUSH_NEXT, NPU_ALU_ADD, 1, 0, 0, 3, 1, 1, 0, 0, 0, 5) == 0);
    CHECK(npu_store(ctx, NPU_DEP_POP_PREV, NPU_MEM_ACC, 0, out, 1, 3, 3) == 0);
    CHECK(npu_sync(ctx, 0, NPU_Q_ST, 1, 0, 0) == 0);
    CHECK(npu_gemm(ctx, 0, 0, 0, 0, 0, 0, 1024, 1, 0, 0, 0, 0) == -1 &&
          strstr(npu_last_error(ctx), "gemm.iter_out out of range"));
    CHECK(npu_insn_count(ctx) == 6);
    npu_stats st;
    CHECK(npu_run(ctx, &st) == NPU_ERR_OK);
    CHECK(st.insns == 6 && st.gemm_rows == 3 && st.cycles_are_estimate == 1 && st.status == 1);
    const int32_t *po = npu_dram_ptr(ctx, out);
    for (int i = 0; i < 24; i++) CHECK(po[i] == 2 * (i - 12) + 5);
    npu_clear_insns(ctx);
    CHECK(npu_gemm(ctx, NPU_DEP_POP_PREV, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0) == 0);
    CHECK(npu_run(ctx, &st) == NPU_ERR_DEADLOCK && st.error_pc == 0);
    CHECK(strstr(npu_last_error(ctx), "DEADLOCK at instruction 0"));
    CHECK(npu_run(ctx, NULL) == NPU_ERR_DEADLOCK);
    CHECK(!strcmp(npu_error_name(NPU_ERR_SRAM_RANGE), "SRAM_RANGE"));
    CHECK(!strcmp(npu_error_name(99), "UNKNOWN") && !strcmp(npu_error_name(-1), "UNKNOWN"));
    npu_close(ctx);
    puts("api ok");
    return 0;
}
"""

# A stand-in harness library with the npu_rtl_* contract, backed by fsim with its own
# configuration, so the rtl plumbing is tested without Verilator.
FAKE_HARNESS = r"""
#include "fsim.h"
static const npu_hw_config CFG = {8, 1024, 512, 1024, 1024, 96, 64, 8, 4};
int npu_rtl_hw_config(npu_hw_config *cfg) { *cfg = CFG; return 0; }
int npu_rtl_run(const uint8_t *insns, uint32_t n, uint8_t *dram, uint64_t bytes,
                uint64_t max_cycles, npu_stats *stats) {
    fsim_job job = {&CFG, insns, n, dram, bytes, NULL, NULL, 0};
    int rc = npu_fsim_run(&job, stats);
    stats->cycles_are_estimate = 0;
    if (rc == NPU_ERR_OK && stats->cycles > max_cycles) {
        stats->error_code = NPU_ERR_WATCHDOG;
        return NPU_ERR_WATCHDOG;
    }
    return rc;
}
"""


def _compile(tmp_path: pathlib.Path, name: str, text: str, flags: list[str]) -> pathlib.Path:
    src = tmp_path / f"{name}.c"
    src.write_text(text)
    out = tmp_path / name
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", f"-I{DRIVER_DIR}", *flags, str(src),
                    "-o", str(out), "-ldl"], check=True, capture_output=True, text=True)
    return out


def test_c_api_under_address_and_ub_sanitizers(tmp_path: pathlib.Path) -> None:
    sources = [str(DRIVER_DIR / s) for s in build.SOURCES]
    exe = _compile(tmp_path, "api", API_PROGRAM, [*SANITIZE, *sources])
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1")
    done = subprocess.run([str(exe)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "api ok\n"


@pytest.fixture(scope="module")
def fake_harness(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    tmp = tmp_path_factory.mktemp("harness")
    return _compile(tmp, "libfake_rtl.so", FAKE_HARNESS, ["-O2", "-fPIC", "-shared",
                                                           *FSIM_SOURCES])


def _layer(npu: Npu) -> tuple[int, int]:
    rng = np.random.default_rng(4)
    x = npu.put(rng.integers(-128, 128, size=(6, 8), dtype=np.int8))
    w = npu.put(rng.integers(-128, 128, size=(8, 8), dtype=np.int8))
    third = np.zeros(8, np.int32)
    third[:3] = 1, -128, 127
    qp = npu.put(np.stack([np.full(8, 2**30, np.int32), np.arange(35, 43, dtype=np.int32),
                           third]))
    out = npu.alloc(6 * 8)
    npu.append([
        Load(mem_id=MemId.INP, dram_base=x, y_size=1, x_size=6),
        Load(mem_id=MemId.WGT, dram_base=w, y_size=1, x_size=8, push_next=True),
        Load(mem_id=MemId.QP, dram_base=qp, y_size=1, x_size=3),
        Gemm(load_w=True, iter_out=6, iter_in=1, inp_fo=1, acc_fo=1, pop_prev=True),
        Req(iter_out=6, iter_in=1, src_fo=1, dst_fo=1, per_chan=True, push_next=True),
        Store(mem_id=MemId.OUT, dram_base=out, y_size=1, x_size=6, pop_prev=True),
    ])
    return out, 6 * 8


def test_rtl_backend_runs_through_the_harness_contract(fake_harness: pathlib.Path) -> None:
    with Npu("rtl", {"lib": fake_harness}) as rtl:
        assert (rtl.hw_config.inp_rows, rtl.hw_config.insn_queue_depth) == (1024, 4)
        out, n = _layer(rtl)
        stats = rtl.run()
        got = rtl.read(out, n, np.int8)
    with Npu("fsim") as fsim:
        out, n = _layer(fsim)
        fsim.run()
        want = fsim.read(out, n, np.int8)
    np.testing.assert_array_equal(got, want)
    assert not stats.cycles_are_estimate


def test_rtl_backend_passes_max_cycles_and_checks_asked_config(
    fake_harness: pathlib.Path,
) -> None:
    with Npu("rtl", f"lib={fake_harness},max_cycles=5") as rtl:
        _layer(rtl)
        with pytest.raises(NpuError, match="WATCHDOG at instruction 0") as info:
            rtl.run()
        assert info.value.code == ErrorCode.WATCHDOG
    with pytest.raises(NpuError, match="asks for 16, the RTL has 8"):
        Npu("rtl", f"{fake_harness},dim=16")
    with Npu("rtl", f"{fake_harness},dim=8,inp_rows=1024"):
        pass


def test_build_is_cached_and_race_free(tmp_path: pathlib.Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(tmp_path))
    results: list[pathlib.Path] = []
    threads = [threading.Thread(target=lambda: results.append(build.build_driver()))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    lib = results[0]
    assert lib.parent == tmp_path / "reference_npu"
    assert [p.name for p in lib.parent.iterdir()] == [lib.name]  # no temporary files left
    mtime = lib.stat().st_mtime_ns
    assert build.build_driver() == lib and lib.stat().st_mtime_ns == mtime
    assert build.build_key("gcc", (*build.CFLAGS, "-DX")) != build.build_key("gcc", build.CFLAGS)


def test_build_errors_carry_the_compiler_output(tmp_path: pathlib.Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_SDK_CACHE", str(tmp_path))
    with pytest.raises(build.DriverBuildError, match="-Wnope"):
        build.build_driver(flags=(*build.CFLAGS, "-Wnope"))
    assert not list((tmp_path / "reference_npu").iterdir())
