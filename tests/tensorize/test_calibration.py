"""Calibrate the cycle model on the reference NPU's fsim and print model-vs-measured error.

Single instructions are timed (a program of one instruction: dispatch + its cost),
fitted with cost.fit_linear, and the shipped defaults are checked against the fit.
"""

from __future__ import annotations

from reference_npu.bindings import Npu
from reference_npu.isa.encoding import Gemm, Load, MemId
from vendor_sdk.intrinsics.cost import DEFAULT_MODEL, fit_linear


def _cycles(npu: Npu, insns: list) -> int:
    npu.clear()
    npu.append(insns)
    return int(npu.run().cycles)


def test_model_matches_fsim_instruction_costs() -> None:
    with Npu("fsim", {"dim": 8}) as npu:
        src = npu.alloc(8 * 1024)
        loads = [(8.0 * rows, float(_cycles(npu, [Load(mem_id=MemId.INP, dram_base=src,
                                                       y_size=rows, x_size=1, x_stride=1)])))
                 for rows in (1, 16, 64, 256, 1000)]
        gemms = [(float(rows), float(_cycles(npu, [Gemm(load_w=True, iter_out=rows, iter_in=1,
                                                        inp_fo=1, acc_fo=1)])))
                 for rows in (1, 8, 64, 256, 1000)]
    dma_fixed, per_byte = fit_linear(loads)
    call_fixed, per_row = fit_linear(gemms)
    model = DEFAULT_MODEL
    pairs = [("dma_fixed", model.dma_fixed, dma_fixed),
             ("dma_bytes_per_cycle", model.dma_bytes_per_cycle, 1 / per_byte),
             ("call_fixed", model.call_fixed, call_fixed),
             ("call_per_row", model.call_per_row, per_row)]
    worst = 0.0
    for name, shipped, fitted in pairs:
        err = abs(shipped - fitted) / fitted
        worst = max(worst, err)
        print(f"{name}: model {shipped:.2f}, fsim fit {fitted:.2f}, error {100 * err:.1f}%")
    for x, y in loads:
        print(f"LOAD {x:.0f} B: fsim {y:.0f}, model "
              f"{model.dma_fixed + x / model.dma_bytes_per_cycle:.0f}")
    for x, y in gemms:
        print(f"GEMM {x:.0f} rows: fsim {y:.0f}, model "
              f"{model.call_fixed + model.call_per_row * x:.0f}")
    assert worst < 0.02


def test_model_dma_row_rate_matches_rtl() -> None:
    """The RTL's LOAD streams a row per memory request, 8 in flight: slower per row than
    fsim's bytes / 8 at DIM 8; the model's dma_cycles_per_row is that rate."""
    from vendor_sdk.plugins import resolve_target
    from vendor_sdk.runtime.npu import backend_options

    target = resolve_target("reference_npu")
    with Npu("rtl", backend_options(target, "rtl")) as npu:
        src = npu.alloc(8 * 1024)
        loads = [(float(rows), float(_cycles(npu, [Load(mem_id=MemId.INP, dram_base=src,
                                                        y_size=rows, x_size=1, x_stride=1)])))
                 for rows in (16, 64, 256, 1000)]
    fixed, per_row = fit_linear(loads)
    err = abs(DEFAULT_MODEL.dma_cycles_per_row - per_row) / per_row
    print(f"RTL LOAD: {fixed:.1f} + {per_row:.3f} cycles/row; model "
          f"{DEFAULT_MODEL.dma_cycles_per_row} cycles/row, error {100 * err:.1f}%")
    assert err < 0.03
    assert fixed <= DEFAULT_MODEL.dma_fixed  # the model's per-transfer cost covers the RTL's
