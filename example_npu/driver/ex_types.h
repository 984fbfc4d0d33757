/* Types shared by the driver (ex.c, fsim.c) and the RTL harness library (rtl_harness/). */
#ifndef EX_TYPES_H
#define EX_TYPES_H

#include <stdint.h>

#include "ex_isa.h"

/* One machine configuration: the target.yaml params in lower case, plus DRAM. */
typedef struct {
    uint32_t n, k;                 /* dot unit: N output lanes x K input lanes */
    uint32_t act_rows, wts_rows, psum_rows, res_rows, prm_rows;
    uint64_t dram_bytes;
} ex_config;

/* What one run ends with: the counter record (isa.yaml `counters` order) and the stop. */
typedef struct {
    uint64_t counters[EX_N_COUNTERS];
    int32_t error;                 /* enum ex_error */
    uint32_t error_pc;             /* index of the faulting instruction when error != 0 */
} ex_status;

/* The RTL harness library's exports (rtl_harness/ex_rtl.cpp), loaded by the rtl backend.
 * ex_rtl_config fills the configuration the library was Verilated with (dram_bytes 0).
 * ex_rtl_run returns 0 when the machine stopped (done or a machine error in status),
 * -1 on bad arguments, -2 when max_cycles passed first, -3 on a DRAM access the
 * machine should have refused (a harness/RTL bug). */
typedef int (*ex_rtl_config_fn)(ex_config *cfg);
typedef int (*ex_rtl_run_fn)(const uint64_t *prog, uint32_t n_insns, uint8_t *dram,
                             uint64_t dram_bytes, uint64_t max_cycles, ex_status *status);

/* The functional model: the same contract as ex_rtl_run, with the configuration given.
 * Counters are exact for the RTL's one-cycle DRAM port (README.md, "Timing"). */
int ex_fsim_run(const ex_config *cfg, const uint64_t *prog, uint32_t n_insns, uint8_t *dram,
                ex_status *status);

/* Row size in DRAM words (32 bits) of memory `mem` for LOAD/STORE; 0 for a bad id. */
static inline uint32_t ex_row_words(const ex_config *cfg, uint32_t mem, uint32_t widen) {
    switch (mem) {
    case EX_MEM_ACT: case EX_MEM_WTS: return cfg->k / 4;
    case EX_MEM_PSUM: return widen ? cfg->n / 4 : cfg->n;
    case EX_MEM_RES: return cfg->n / 4;
    case EX_MEM_PRM: return cfg->n;
    default: return 0;
    }
}

static inline uint32_t ex_mem_rows(const ex_config *cfg, uint32_t mem) {
    switch (mem) {
    case EX_MEM_ACT: return cfg->act_rows;
    case EX_MEM_WTS: return cfg->wts_rows;
    case EX_MEM_PSUM: return cfg->psum_rows;
    case EX_MEM_RES: return cfg->res_rows;
    case EX_MEM_PRM: return cfg->prm_rows;
    default: return 0;
    }
}

#endif /* EX_TYPES_H */
