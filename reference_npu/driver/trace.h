/* trace backend: runs fsim and leaves a directory an RTL testbench replays. */
#ifndef NPU_TRACE_H
#define NPU_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "npu_types.h"

typedef struct {
    const npu_hw_config *cfg;
    const char *dir; /* run k goes to <dir>/run_<k:04> */
    uint32_t run_index;
    const uint8_t *insns;
    uint32_t n_insns;
    uint8_t *dram;
    uint64_t dram_bytes;
    char *msg; /* error text: why the trace failed, or why the machine stopped */
    size_t msg_len;
    char *run_dir; /* out: the directory written */
    size_t run_dir_len;
} trace_job;

/* Returns the machine's error code like npu_fsim_run, or -1 if the trace
 * could not be written (msg says why). */
int npu_trace_run(const trace_job *job, npu_stats *stats);

#endif /* NPU_TRACE_H */
