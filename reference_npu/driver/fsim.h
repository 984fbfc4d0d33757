/* Functional model (fsim) of the reference NPU: internal interface.
 *
 * fsim.c       fetch, the three unit queues, dependency tokens, deadlock
 * fsim_check.c decode-time checks (all error codes except DEADLOCK/WATCHDOG)
 * fsim_ops.c   what each instruction does to SRAM/DRAM, and its cost estimate
 */
#ifndef NPU_FSIM_H
#define NPU_FSIM_H

#include <stddef.h>
#include <stdint.h>

#include "npu_isa.h"
#include "npu_types.h"

typedef struct {
    const npu_hw_config *cfg;
    const uint8_t *insns; /* n_insns * NPU_INSN_BYTES */
    uint32_t n_insns;
    uint8_t *dram;
    uint64_t dram_bytes;
    uint8_t *store_mask; /* optional, dram_bytes long: set to 1 where a STORE wrote */
    char *msg;           /* optional: why the run stopped with an error */
    size_t msg_len;
} fsim_job;

/* Runs the program from reset. Returns the NPU_ERR_* code the machine
 * stopped with (stats filled), or -1 when memory for the model ran out. */
int npu_fsim_run(const fsim_job *job, npu_stats *stats);

/* Machine state shared by the check and execute halves. */
typedef struct {
    npu_hw_config cfg;
    int8_t *inp, *wgt, *out, *lut; /* rows * dim, row-major */
    int32_t *acc, *qp;
    int8_t *w; /* weight register: w[k * dim + n], k = input, n = output channel */
    uint8_t *dram;
    uint64_t dram_bytes;
    uint8_t *store_mask;
    npu_stats *stats;
} fsim_machine;

enum { FSIM_LD = 0, FSIM_EX = 1, FSIM_ST = 2, FSIM_UNITS = 3 };
enum { FSIM_TQ_LD2EX, FSIM_TQ_EX2LD, FSIM_TQ_EX2ST, FSIM_TQ_ST2EX, FSIM_TQS };

/* Token queue that `unit` uses for deps bit `bit` (0 pop_prev, 1 pop_next,
 * 2 push_prev, 3 push_next), or -1 when that neighbour does not exist. */
int fsim_dep_queue(uint32_t unit, uint32_t bit);

/* Decode-time checks; sets *unit. Returns NPU_ERR_OK or the error, with a
 * reason in msg (msg may be NULL). */
uint32_t fsim_check(const fsim_machine *m, const uint64_t w[2], uint32_t *unit, char *msg,
                    size_t msg_len);

/* Executes a checked instruction at estimated time `now`; returns its
 * estimated cost in cycles and updates the exact counters. */
uint64_t fsim_execute(fsim_machine *m, const uint64_t w[2], uint64_t now);

#endif /* NPU_FSIM_H */
