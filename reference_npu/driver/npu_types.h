/* Shared types of the reference NPU driver and its backends.
 *
 * This is a stable contract: the C driver (npu.c), the functional model
 * (fsim.c) and the RTL harness shared library (driver/rtl_harness/, which
 * npu.c dlopen()s) all use exactly these layouts. Error codes, opcodes and
 * field layouts live in the generated npu_isa.h.
 */
#ifndef NPU_TYPES_H
#define NPU_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the hardware reports in its HW_* registers. Sizes are in SRAM rows;
 * a row is DIM elements (int8 for INP/WGT/OUT/LUT, int32 for ACC/QP).
 * token_depth and insn_queue_depth change which programs overflow or
 * deadlock, so they are part of the configuration the SDK checks. */
typedef struct {
    uint32_t dim, inp_rows, wgt_rows, acc_rows, out_rows, qp_rows, lut_rows;
    uint32_t token_depth, insn_queue_depth;
} npu_hw_config;

/* Counters of one run (same order as the CYCLES.. counter registers and the
 * perf_snap record). gemm_rows, dma_rd_bytes, dma_wr_bytes and insns are
 * exact on every backend; cycles and *_busy are measured on rtl and an
 * analytic estimate on fsim (cycles_are_estimate = 1). status is the raw
 * STATUS register; error_code is one of NPU_ERR_*; error_pc is the index of
 * the faulting instruction (0 when error_code is NPU_ERR_OK). */
typedef struct {
    uint64_t cycles, gemm_rows, gemm_busy, ld_busy, st_busy, ex_busy, dma_rd_bytes,
        dma_wr_bytes, insns;
    uint32_t status, error_code, error_pc;
    int cycles_are_estimate;
} npu_stats;

/* Exported by the RTL harness shared library (part of driver/rtl_harness/).
 * insns: n_insns * 16 bytes, little-endian 128-bit instructions.
 * dram: the DRAM image, dram_bytes long, read and written in place.
 * Returns stats->error_code (>= 0) once the machine stopped (done, error or
 * watchdog after max_cycles), or a negative value if the harness itself
 * failed (nothing ran). */
int npu_rtl_run(const uint8_t *insns, uint32_t n_insns, uint8_t *dram, uint64_t dram_bytes,
                uint64_t max_cycles, npu_stats *stats);
int npu_rtl_hw_config(npu_hw_config *cfg);

typedef int (*npu_rtl_run_fn)(const uint8_t *, uint32_t, uint8_t *, uint64_t, uint64_t,
                              npu_stats *);
typedef int (*npu_rtl_hw_config_fn)(npu_hw_config *);

#ifdef __cplusplus
}
#endif

#endif /* NPU_TYPES_H */
