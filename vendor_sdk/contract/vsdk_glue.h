/* The glue interface: how generated region code moves data and orders work.
 *
 * The code generator describes data movement one SRAM row at a time and tells the
 * glue which rows each compute instruction reads and writes; the target's glue (a
 * Jinja template named by target.yaml `runtime: glue:`, rendered once per model)
 * turns that into its own DMA instructions and its own dependency mechanism (token
 * queues, barriers, or nothing for an in-order machine). vendor-sdk emits nothing
 * else that is specific to a chip: compute comes from the intrinsics' emit snippets.
 *
 * Row semantics (target.yaml `movement:`): memory `mem` row r holds row_elems
 * elements of the memory's dtype. load_row copies them from DRAM bytes
 * [dram, dram + row bytes), little-endian and contiguous; store_row is the inverse;
 * pad_row fills the row with `pad`. A memory's `widen_id` loads int8 DRAM rows
 * sign-extended into a wider memory.
 */
#ifndef VSDK_GLUE_H
#define VSDK_GLUE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SRAM rows [row, row + rows) of mem that one compute instruction reads and/or writes. */
typedef struct {
    uint32_t mem, row, rows, read, write;
} vsdk_access;

typedef struct vsdk_rt vsdk_rt; /* defined by the target's glue */

/* Start a new program on the device context (vsdk_device_context); NULL on failure. */
vsdk_rt *vsdk_open(void *ctx);
/* Finish the program; returns its first error (0 if none) and frees rt. */
int vsdk_close(vsdk_rt *rt);
/* The device context, for emit snippets ({{ ctx }}) and template kernels. */
void *vsdk_ctx(vsdk_rt *rt);
/* Record a failure (the first one wins); rc 0 is ignored. */
void vsdk_fail(vsdk_rt *rt, int rc);

/* Data movement, one row at a time; the glue may merge rows until the next call below. */
void vsdk_load_row(vsdk_rt *rt, uint32_t mem, uint32_t sram, uint32_t dram);
void vsdk_store_row(vsdk_rt *rt, uint32_t mem, uint32_t sram, uint32_t dram);
void vsdk_pad_row(vsdk_rt *rt, uint32_t mem, uint32_t sram, int32_t pad);
/* Issue whatever rows are pending. */
void vsdk_flush(vsdk_rt *rt);

/* Before one compute instruction with these accesses: returns the value the emit
 * snippet receives as {{ deps }} (the reference NPU's token bits; 0 if unused). */
uint32_t vsdk_exec(vsdk_rt *rt, uint32_t n, const vsdk_access *acc);
/* Around an emit snippet: mark before, check after (a snippet that queued nothing
 * failed, e.g. a field out of range). vsdk_mark returns the index the next queued
 * instruction will have, in the numbering of vsdk_run_result.error_insn: the SDK maps a
 * faulting instruction back to its layer and intrinsic call with it. */
uint32_t vsdk_mark(vsdk_rt *rt);
void vsdk_check(vsdk_rt *rt, uint32_t mark);

/* A layer ended: later loads of DRAM it stored must wait for its stores. */
void vsdk_layer_end(vsdk_rt *rt);
/* Before loading into mem from DRAM an earlier layer stored. */
void vsdk_dram_fence(vsdk_rt *rt, uint32_t mem);
/* Everything queued so far completes before anything after (around template kernels). */
void vsdk_barrier(vsdk_rt *rt);

/* Optional (targets with templates/perf_snap.c.j2): write the counter record (target.yaml
 * `counters:` order, u64 each) to DRAM byte address addr once the work so far is done. */
void vsdk_perf_snap(vsdk_rt *rt, uint32_t addr);

#ifdef __cplusplus
}
#endif

#endif /* VSDK_GLUE_H */
