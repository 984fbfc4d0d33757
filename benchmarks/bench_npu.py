"""Reference NPU RTL benchmark: simulation speed and useful utilization.

    .venv/bin/python benchmarks/bench_npu.py [--dims 8 16] [--skip-cocotb]

For DIM 8 and 16 it prints, per workload, the measured cycles (START to
done, DMA included, memory latency 16 cycles, 16-byte bus), useful
utilization = unpadded MACs / (cycles * DIM^2), issued utilization = GEMM
rows / cycles, and simulated cycles per wall-second of the C++ harness and
of the same RTL under cocotb. Every output is checked against numpy first.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "reference_npu" / "cocotb"))

from bench_npu_schedules import Workload, conv3x3_workload, gemm_workload  # noqa: E402

from reference_npu.isa.encoding import encode_program  # noqa: E402
from reference_npu.sim import RtlModel, RtlParams, npu_cocotb_design  # noqa: E402
from vendor_sdk.sim import run_cocotb  # noqa: E402

TB_DIR = HERE.parent / "tests" / "reference_npu" / "cocotb"


def check(workload: Workload, dram: np.ndarray) -> None:
    got = dram[workload.out_addr:workload.out_addr + workload.expected.size]
    if not np.array_equal(got, workload.expected):
        raise SystemExit(f"{workload.name}: RTL output differs from numpy")


def run_harness(model: RtlModel, workload: Workload) -> dict[str, float]:
    insns = encode_program(list(workload.insns))
    dram = workload.dram.copy()
    start = time.perf_counter()
    result = model.run(insns, dram, max_cycles=100_000_000)
    wall = time.perf_counter() - start
    if result.error_code:
        raise SystemExit(f"{workload.name}: stopped with error {result.error_code}")
    check(workload, dram)
    dim = model.params.dim
    return {"cycles": result.cycles, "wall": wall,
            "useful": workload.useful_macs / (result.cycles * dim * dim),
            "issued": result.gemm_rows / result.cycles}


def run_under_cocotb(params: RtlParams, workload: Workload) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = pathlib.Path(tmp_name)
        (tmp / "insns.bin").write_bytes(encode_program(list(workload.insns)))
        workload.dram.tofile(tmp / "dram.bin")
        env = {"NPU_BENCH_INSNS": str(tmp / "insns.bin"), "NPU_BENCH_DRAM": str(tmp / "dram.bin"),
               "NPU_BENCH_RESULT": str(tmp / "result.json"),
               "NPU_DRAM_IN": str(tmp / "dram_in.bin"), "NPU_INSNS_IN": str(tmp / "i.bin"),
               "NPU_DRAM_OUT": str(tmp / "dram_out.bin")}
        result = run_cocotb(npu_cocotb_design(params), "tb_npu_bench", tmp, module_dirs=[TB_DIR],
                            extra_env=env)
        if result.failures:
            raise SystemExit(f"cocotb run failed: {result.failures}")
        stats = json.loads((tmp / "result.json").read_text())
        check(workload, np.fromfile(tmp / "dram_out.bin", dtype=np.uint8))
        return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--skip-cocotb", action="store_true")
    args = parser.parse_args()
    print(f"{'DIM':>3} {'workload':<24} {'cycles':>10} {'useful':>7} {'issued':>7} "
          f"{'C++ cyc/s':>10} {'cocotb cyc/s':>12}")
    for dim in args.dims:
        params = RtlParams(dim=dim)
        model = RtlModel(params)
        workloads = [gemm_workload(256, 256, 256, dim), conv3x3_workload(56, 56, 64, 64, dim)]
        for i, workload in enumerate(workloads):
            harness = run_harness(model, workload)
            cocotb_speed = "-"
            if not args.skip_cocotb and i == 0:
                probe = run_under_cocotb(params, workload)
                cocotb_speed = f"{probe['cycles'] / probe['wall'] / 1e6:.2f}M"
            print(f"{dim:>3} {workload.name:<24} {harness['cycles']:>10.0f} "
                  f"{harness['useful']:>6.1%} {harness['issued']:>6.1%} "
                  f"{harness['cycles'] / harness['wall'] / 1e6:>9.2f}M {cocotb_speed:>12}")


if __name__ == "__main__":
    main()
