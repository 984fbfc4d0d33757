/* The example NPU's driver: a program buffer, DRAM, and the encoders emit snippets call.
 *
 * Work is queued with the ex_* encoders below and executed by ex_run() on the backend
 * chosen at ex_open(): "fsim" (fsim.c) or "rtl" (the Verilated RTL, a shared library
 * loaded with dlopen; option rtl_lib=<path>). device.c implements vendor-sdk's
 * vsdk_device.h on top of this. The machine is strictly in order, so nothing here
 * tracks dependencies: an instruction sees every earlier instruction's results.
 */
#ifndef EX_H
#define EX_H

#include <stdint.h>

#include "ex_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ex_ctx ex_ctx;

/* The id target.yaml gives psum's widening loads (memory `widen_id`): the glue turns it
 * into ex_load(ctx, EX_MEM_PSUM, ..., widen = 1). Not a hardware memory id. */
#define EX_MEM_PSUM8 8u

/* options: comma-separated key=value; keys n, k, act_rows, wts_rows, psum_rows, res_rows,
 * prm_rows, dram_bytes, rtl_lib; unknown keys are ignored. NULL on failure, with the
 * reason in ex_open_error(). */
ex_ctx *ex_open(const char *backend, const char *options);
const char *ex_open_error(void);
void ex_close(ex_ctx *ctx);
const char *ex_error(const ex_ctx *ctx);      /* last failure on ctx, "" if none */
const ex_config *ex_get_config(const ex_ctx *ctx);
int ex_is_model(const ex_ctx *ctx);            /* 1 for fsim: counters are its model's */

/* DRAM (bytes). */
uint32_t ex_alloc(ex_ctx *ctx, uint64_t bytes, uint32_t align);
int ex_write(ex_ctx *ctx, uint32_t addr, const void *src, uint64_t bytes);
int ex_read(ex_ctx *ctx, uint32_t addr, void *dst, uint64_t bytes);

/* The program: encoders append instructions and return 0, or -1 when a field does not
 * fit (nothing is queued, ex_error says which). Rows are SRAM row indices. */
uint32_t ex_program_size(const ex_ctx *ctx);
void ex_program_clear(ex_ctx *ctx);
int ex_raw(ex_ctx *ctx, uint64_t word);
int ex_nop(ex_ctx *ctx);
/* rows contiguous DRAM rows <-> mem rows sram..; split into 255-row instructions. */
int ex_load(ex_ctx *ctx, uint32_t mem, uint32_t sram, uint32_t dram, uint32_t rows, int widen);
int ex_store(ex_ctx *ctx, uint32_t mem, uint32_t sram, uint32_t dram, uint32_t rows);
int ex_fill(ex_ctx *ctx, uint32_t mem, uint32_t sram, uint32_t rows, int32_t value);
/* Two-level row loops as the code generator describes them: row (o, i) of A (act) is
 * a_row + o*a_fo + i*a_fi, of P (psum) p_row + o*p_fo + i*p_fi. */
int ex_vdot(ex_ctx *ctx, int init, uint32_t tile, uint32_t a_row, uint32_t p_row,
            uint32_t iter_out, uint32_t iter_in, uint32_t a_fo, uint32_t a_fi,
            uint32_t p_fo, uint32_t p_fi);
/* res rows (dst) := requant(psum rows (src)) with the descriptor at prm row desc:
 * rows desc, desc+1, desc+2 hold mult[N], shift[N], {zp, lo, hi}; per_chan 0 uses lane 0. */
int ex_req(ex_ctx *ctx, int per_chan, uint32_t desc, uint32_t src, uint32_t dst,
           uint32_t iter_out, uint32_t iter_in, uint32_t s_fo, uint32_t s_fi,
           uint32_t d_fo, uint32_t d_fi);
/* psum rows (dst) := fn(dst, psum rows (src) or imm); imm is 16-bit signed. */
int ex_valu(ex_ctx *ctx, uint32_t fn, uint32_t dst, uint32_t src, int32_t imm,
            uint32_t iter_out, uint32_t iter_in, uint32_t d_fo, uint32_t d_fi,
            uint32_t s_fo, uint32_t s_fi);

/* The counter record (EX_N_COUNTERS u64, isa.yaml order) to DRAM at dram, as of the
 * end of SNAP's fetch: everything queued before it has finished (the machine is in order). */
int ex_snap(ex_ctx *ctx, uint32_t dram);

/* Runs the queued program on DRAM (kept: it can run again). Returns 0, the machine's
 * error code (> 0, in status), or -1 when the backend could not run (ex_error). */
int ex_run(ex_ctx *ctx, ex_status *status);
/* Runs prog (not the queued program) the same way: raw streams in tests. */
int ex_run_program(ex_ctx *ctx, const uint64_t *prog, uint32_t n_insns, ex_status *status);

#ifdef __cplusplus
}
#endif

#endif /* EX_H */
