/* Driver API of the reference NPU: what generated code calls.
 *
 * A context owns a flat DRAM byte array and an instruction list. npu_load ..
 * npu_sync encode one instruction each (through npu_isa.h) and append it;
 * npu_run hands the list and the DRAM image to the backend:
 *   "fsim"  - bit-exact C functional model with an analytic cycle estimate
 *   "rtl"   - the Verilator model in a harness library (dlopen'ed)
 *   "trace" - fsim, plus a replayable directory per run (see README.md)
 * Semantics of every instruction: reference_npu/README.md.
 */
#ifndef NPU_H
#define NPU_H

#include <stdint.h>

#include "npu_isa.h"
#include "npu_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npu_ctx npu_ctx;

/* options: comma-separated key=value pairs, or a bare path.
 *   fsim:  dim, inp_rows, wgt_rows, acc_rows, out_rows, qp_rows, lut_rows,
 *          token_depth, insn_queue_depth (defaults from isa.yaml), dram
 *   rtl:   lib=<harness .so> (or the bare path), max_cycles, dram
 *   trace: dir=<directory> (or the bare path), plus the fsim keys
 * dram is the DRAM capacity in bytes (default 64 MiB).
 * Returns NULL on failure; npu_last_error(NULL) says why. */
npu_ctx *npu_open(const char *backend, const char *options);
void npu_close(npu_ctx *ctx);

/* Message of the last failure on ctx (or of the last failed npu_open when
 * ctx is NULL); "" if none. */
const char *npu_last_error(const npu_ctx *ctx);

int npu_get_hw_config(const npu_ctx *ctx, npu_hw_config *cfg);

/* DRAM: byte addresses. align must be a power of two (0 means 64). Returns
 * NPU_DRAM_NONE when full; the allocator never hands out address 0. The
 * backends see DRAM [0, high-water mark), so accesses past every allocation
 * are DRAM_RANGE errors. */
#define NPU_DRAM_NONE 0u
uint32_t npu_dram_alloc(npu_ctx *ctx, uint64_t bytes, uint32_t align);
void *npu_dram_ptr(npu_ctx *ctx, uint32_t addr);
uint64_t npu_dram_size(const npu_ctx *ctx);

/* Instruction list. deps is a mask of NPU_DEP_POP_PREV, NPU_DEP_POP_NEXT,
 * NPU_DEP_PUSH_PREV, NPU_DEP_PUSH_NEXT. Each call returns 0, or -1 if a
 * value does not fit its field (npu_last_error names the field). */
int npu_load(npu_ctx *ctx, uint32_t deps, uint32_t mem_id, uint32_t sram_base,
             uint32_t dram_base, uint32_t y_size, uint32_t x_size, uint32_t x_stride,
             uint32_t y_pad0, uint32_t y_pad1, uint32_t x_pad0, uint32_t x_pad1, int32_t pad_val);
int npu_store(npu_ctx *ctx, uint32_t deps, uint32_t mem_id, uint32_t sram_base,
              uint32_t dram_base, uint32_t y_size, uint32_t x_size, uint32_t x_stride);
int npu_gemm(npu_ctx *ctx, uint32_t deps, uint32_t accum, uint32_t load_w, uint32_t wgt_tile,
             uint32_t inp_base, uint32_t acc_base, uint32_t iter_out, uint32_t iter_in,
             uint32_t inp_fo, uint32_t inp_fi, uint32_t acc_fo, uint32_t acc_fi);
int npu_alu(npu_ctx *ctx, uint32_t deps, uint32_t alu_op, uint32_t use_imm, uint32_t dst,
            uint32_t src, uint32_t iter_out, uint32_t iter_in, uint32_t dst_fo, uint32_t dst_fi,
            uint32_t src_fo, uint32_t src_fi, int32_t imm);
int npu_requant(npu_ctx *ctx, uint32_t deps, uint32_t src_acc, uint32_t dst, uint32_t qp_idx,
                uint32_t iter_out, uint32_t iter_in, uint32_t src_fo, uint32_t src_fi,
                uint32_t dst_fo, uint32_t dst_fi, uint32_t per_chan, uint32_t dst_inp);
int npu_lut(npu_ctx *ctx, uint32_t deps, uint32_t src_acc, uint32_t dst, uint32_t table,
            uint32_t iter_out, uint32_t iter_in, uint32_t src_fo, uint32_t src_fi,
            uint32_t dst_fo, uint32_t dst_fi, uint32_t dst_inp);
int npu_sync(npu_ctx *ctx, uint32_t deps, uint32_t queue, uint32_t finish, uint32_t perf_snap,
             uint32_t snap_addr);

/* Append n already-encoded 16-byte instructions (e.g. from Python). */
int npu_append_insns(npu_ctx *ctx, const uint8_t *insns, uint32_t n);
uint32_t npu_insn_count(const npu_ctx *ctx);
const uint8_t *npu_insns(const npu_ctx *ctx);
void npu_clear_insns(npu_ctx *ctx);

/* Run the instruction list from reset (SRAM contents undefined, counters 0).
 * Returns the machine's error code (NPU_ERR_OK = 0, or NPU_ERR_*), with the
 * details in *stats (may be NULL), or -1 if the backend could not run. The
 * instruction list is kept, so a program can be run again. */
int npu_run(npu_ctx *ctx, npu_stats *stats);

/* trace backend: the run directory the last npu_run wrote ("" before). */
const char *npu_trace_dir(const npu_ctx *ctx);

/* Name of an NPU_ERR_* code ("SRAM_RANGE"), "UNKNOWN" otherwise. */
const char *npu_error_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* NPU_H */
