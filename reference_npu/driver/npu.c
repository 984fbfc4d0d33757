/* Driver: context, DRAM allocator, instruction list, backend dispatch. */
#include "npu.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsim.h"
#include "trace.h"

enum { BACKEND_FSIM, BACKEND_RTL, BACKEND_TRACE };

#define DEFAULT_DRAM_BYTES (64u << 20)
#define DEFAULT_MAX_CYCLES 100000000ull
#define DRAM_FIRST 64u /* the allocator never returns 0 (= NPU_DRAM_NONE) */

struct npu_ctx {
    int backend;
    npu_hw_config cfg;
    uint8_t *dram;
    uint64_t dram_cap, dram_top;
    uint8_t *insns;
    uint32_t n_insns, cap_insns;
    char path[4096]; /* rtl: harness library; trace: output directory */
    void *lib;
    npu_rtl_run_fn rtl_run;
    uint64_t max_cycles;
    uint32_t trace_runs;
    char trace_dir[4200]; /* directory of the last trace run */
    char err[1024];
};

static __thread char open_error[1024];

static void set_err(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, 1024, fmt, ap);
    va_end(ap);
}

const char *npu_last_error(const npu_ctx *ctx) { return ctx ? ctx->err : open_error; }

const char *npu_error_name(int code) {
    const char *name = code >= 0 ? npu_isa_error_name((uint32_t)code) : NULL;
    return name ? name : "UNKNOWN";
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s) return -1;
    if (*end == 'k' || *end == 'K') v <<= 10, end++;
    else if (*end == 'm' || *end == 'M') v <<= 20, end++;
    if (*end) return -1;
    *out = v;
    return 0;
}

/* One key=value option; config keys are checked against the rtl harness later. */
static int apply_option(npu_ctx *ctx, const char *key, const char *value, uint64_t *dram,
                        npu_hw_config *asked, uint32_t *asked_mask) {
    static const char *const cfg_keys[] = {"dim",      "inp_rows", "wgt_rows",
                                           "acc_rows", "out_rows", "qp_rows",
                                           "lut_rows", "token_depth", "insn_queue_depth"};
    uint64_t v = 0;
    int numeric = parse_u64(value, &v) == 0;
    for (uint32_t i = 0; i < sizeof cfg_keys / sizeof cfg_keys[0]; i++) {
        if (strcmp(key, cfg_keys[i])) continue;
        if (!numeric || v > UINT32_MAX) return -1;
        ((uint32_t *)asked)[i] = (uint32_t)v;
        *asked_mask |= 1u << i;
        return 0;
    }
    if (!strcmp(key, "dram") && numeric) return (*dram = v), 0;
    if (!strcmp(key, "max_cycles") && numeric) return (ctx->max_cycles = v), 0;
    if ((!strcmp(key, "lib") && ctx->backend == BACKEND_RTL) ||
        (!strcmp(key, "dir") && ctx->backend == BACKEND_TRACE)) {
        snprintf(ctx->path, sizeof ctx->path, "%s", value);
        return 0;
    }
    return -1;
}

static int parse_options(npu_ctx *ctx, const char *options, uint64_t *dram, npu_hw_config *asked,
                         uint32_t *asked_mask) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", options ? options : "");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq && ctx->backend != BACKEND_FSIM) {
            snprintf(ctx->path, sizeof ctx->path, "%s", tok);
            continue;
        }
        if (eq) *eq = '\0';
        if (!eq || apply_option(ctx, tok, eq + 1, dram, asked, asked_mask)) {
            set_err(open_error, "npu_open: bad option '%s%s%s'", tok, eq ? "=" : "",
                    eq ? eq + 1 : "");
            return -1;
        }
    }
    return 0;
}

static int check_config(const npu_hw_config *c) {
    if (c->dim < 4 || c->dim > 64 || 256 % c->dim) {
        set_err(open_error, "npu_open: dim=%u must be 4, 8, 16, 32 or 64", c->dim);
        return -1;
    }
    if (c->wgt_rows % c->dim || c->lut_rows % (256 / c->dim) || !c->token_depth ||
        !c->insn_queue_depth) {
        set_err(open_error,
                "npu_open: wgt_rows must be a multiple of dim, lut_rows of 256/dim, and "
                "token_depth, insn_queue_depth at least 1");
        return -1;
    }
    const char *narrow = npu_isa_check_config(c);
    if (narrow) {
        set_err(open_error, "npu_open: field %s is too narrow for this configuration", narrow);
        return -1;
    }
    return 0;
}

static int open_rtl(npu_ctx *ctx, const npu_hw_config *asked, uint32_t asked_mask) {
    if (!ctx->path[0]) {
        set_err(open_error, "npu_open(\"rtl\"): options must name the RTL harness library "
                            "(lib=<path>), built by the rtl harness in driver/rtl_harness/");
        return -1;
    }
    ctx->lib = dlopen(ctx->path, RTLD_NOW | RTLD_LOCAL);
    if (!ctx->lib) {
        set_err(open_error, "npu_open(\"rtl\"): cannot load RTL harness library: %s", dlerror());
        return -1;
    }
    npu_rtl_hw_config_fn hw = (npu_rtl_hw_config_fn)dlsym(ctx->lib, "npu_rtl_hw_config");
    ctx->rtl_run = (npu_rtl_run_fn)dlsym(ctx->lib, "npu_rtl_run");
    if (!hw || !ctx->rtl_run || hw(&ctx->cfg) != 0) {
        set_err(open_error, "npu_open(\"rtl\"): %s does not export a working npu_rtl_run and "
                            "npu_rtl_hw_config", ctx->path);
        return -1;
    }
    for (uint32_t i = 0; i < sizeof *asked / sizeof(uint32_t); i++) {
        uint32_t want = ((const uint32_t *)asked)[i], have = ((uint32_t *)&ctx->cfg)[i];
        if ((asked_mask >> i & 1u) && want != have) {
            set_err(open_error, "npu_open(\"rtl\"): option %u asks for %u, the RTL has %u", i,
                    want, have);
            return -1;
        }
    }
    return check_config(&ctx->cfg);
}

npu_ctx *npu_open(const char *backend, const char *options) {
    open_error[0] = '\0';
    npu_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return set_err(open_error, "npu_open: out of memory"), NULL;
    if (!backend || !strcmp(backend, "fsim")) ctx->backend = BACKEND_FSIM;
    else if (!strcmp(backend, "rtl")) ctx->backend = BACKEND_RTL;
    else if (!strcmp(backend, "trace")) ctx->backend = BACKEND_TRACE;
    else {
        set_err(open_error, "npu_open: unknown backend '%s' (fsim, rtl, trace)", backend);
        free(ctx);
        return NULL;
    }
    ctx->max_cycles = DEFAULT_MAX_CYCLES;
    npu_hw_config asked = {NPU_DEFAULT_DIM,       NPU_DEFAULT_INP_ROWS,    NPU_DEFAULT_WGT_ROWS,
                           NPU_DEFAULT_ACC_ROWS,  NPU_DEFAULT_OUT_ROWS,    NPU_DEFAULT_QP_ROWS,
                           NPU_DEFAULT_LUT_ROWS,  NPU_DEFAULT_TOKEN_DEPTH,
                           NPU_DEFAULT_INSN_QUEUE_DEPTH};
    uint32_t asked_mask = 0;
    uint64_t dram = DEFAULT_DRAM_BYTES;
    int bad = parse_options(ctx, options, &dram, &asked, &asked_mask);
    if (!bad && (dram < DRAM_FIRST || dram > UINT32_MAX)) {
        set_err(open_error, "npu_open: dram=%llu must be in [64, 4 GiB)", (unsigned long long)dram);
        bad = 1;
    }
    if (!bad && ctx->backend == BACKEND_TRACE && !ctx->path[0]) {
        set_err(open_error, "npu_open(\"trace\"): options must name a directory (dir=<path>)");
        bad = 1;
    }
    if (!bad && ctx->backend == BACKEND_RTL) bad = open_rtl(ctx, &asked, asked_mask);
    else if (!bad) ctx->cfg = asked, bad = check_config(&ctx->cfg);
    if (!bad && !(ctx->dram = calloc(dram, 1))) {
        set_err(open_error, "npu_open: cannot allocate %llu bytes of DRAM",
                (unsigned long long)dram);
        bad = 1;
    }
    if (bad) {
        npu_close(ctx);
        return NULL;
    }
    ctx->dram_cap = dram;
    ctx->dram_top = DRAM_FIRST;
    return ctx;
}

void npu_close(npu_ctx *ctx) {
    if (!ctx) return;
    if (ctx->lib) dlclose(ctx->lib);
    free(ctx->dram);
    free(ctx->insns);
    free(ctx);
}

int npu_get_hw_config(const npu_ctx *ctx, npu_hw_config *cfg) {
    *cfg = ctx->cfg;
    return 0;
}

uint32_t npu_dram_alloc(npu_ctx *ctx, uint64_t bytes, uint32_t align) {
    if (align == 0) align = 64;
    if (align & (align - 1)) {
        set_err(ctx->err, "npu_dram_alloc: align %u is not a power of two", align);
        return NPU_DRAM_NONE;
    }
    uint64_t at = (ctx->dram_top + align - 1) & ~(uint64_t)(align - 1);
    if (at + bytes > ctx->dram_cap) {
        set_err(ctx->err, "npu_dram_alloc: %llu bytes do not fit (%llu of %llu used)",
                (unsigned long long)bytes, (unsigned long long)ctx->dram_top,
                (unsigned long long)ctx->dram_cap);
        return NPU_DRAM_NONE;
    }
    ctx->dram_top = at + bytes;
    return (uint32_t)at;
}

void *npu_dram_ptr(npu_ctx *ctx, uint32_t addr) {
    return addr < ctx->dram_top ? ctx->dram + addr : NULL;
}

uint64_t npu_dram_size(const npu_ctx *ctx) { return ctx->dram_top; }

const char *npu_trace_dir(const npu_ctx *ctx) { return ctx->trace_dir; }

int npu_append_insns(npu_ctx *ctx, const uint8_t *insns, uint32_t n) {
    if (n > UINT32_MAX - ctx->n_insns) return set_err(ctx->err, "too many instructions"), -1;
    if (ctx->n_insns + n > ctx->cap_insns) {
        uint32_t cap = ctx->cap_insns ? ctx->cap_insns : 256;
        while (cap < ctx->n_insns + n) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
        uint8_t *grown = realloc(ctx->insns, (size_t)cap * NPU_INSN_BYTES);
        if (!grown) return set_err(ctx->err, "out of memory for instructions"), -1;
        ctx->insns = grown;
        ctx->cap_insns = cap;
    }
    memcpy(ctx->insns + (size_t)ctx->n_insns * NPU_INSN_BYTES, insns, (size_t)n * NPU_INSN_BYTES);
    ctx->n_insns += n;
    return 0;
}

uint32_t npu_insn_count(const npu_ctx *ctx) { return ctx->n_insns; }
const uint8_t *npu_insns(const npu_ctx *ctx) { return ctx->insns; }
void npu_clear_insns(npu_ctx *ctx) { ctx->n_insns = 0; }

/* Append an encoded instruction, or report the field that did not fit. */
static int append(npu_ctx *ctx, const char *bad_field, const uint64_t w[2]) {
    if (bad_field) {
        set_err(ctx->err, "instruction %u: %s out of range", ctx->n_insns, bad_field);
        return -1;
    }
    uint8_t b[NPU_INSN_BYTES];
    npu_insn_to_bytes(w, b);
    return npu_append_insns(ctx, b, 1);
}

#define APPEND(encode, ...)                                                                \
    do {                                                                                   \
        uint64_t w[2];                                                                     \
        const char *bad = encode(w, __VA_ARGS__);                                          \
        return append(ctx, bad, w);                                                        \
    } while (0)

int npu_load(npu_ctx *ctx, uint32_t deps, uint32_t mem_id, uint32_t sram_base,
             uint32_t dram_base, uint32_t y_size, uint32_t x_size, uint32_t x_stride,
             uint32_t y_pad0, uint32_t y_pad1, uint32_t x_pad0, uint32_t x_pad1, int32_t pad_val) {
    APPEND(npu_encode_load, deps, mem_id, sram_base, dram_base, y_size, x_size, x_stride, y_pad0,
           y_pad1, x_pad0, x_pad1, pad_val);
}

int npu_store(npu_ctx *ctx, uint32_t deps, uint32_t mem_id, uint32_t sram_base,
              uint32_t dram_base, uint32_t y_size, uint32_t x_size, uint32_t x_stride) {
    APPEND(npu_encode_store, deps, mem_id, sram_base, dram_base, y_size, x_size, x_stride, 0, 0,
           0, 0, 0);
}

int npu_gemm(npu_ctx *ctx, uint32_t deps, uint32_t accum, uint32_t load_w, uint32_t wgt_tile,
             uint32_t inp_base, uint32_t acc_base, uint32_t iter_out, uint32_t iter_in,
             uint32_t inp_fo, uint32_t inp_fi, uint32_t acc_fo, uint32_t acc_fi) {
    APPEND(npu_encode_gemm, deps, accum, load_w, wgt_tile, inp_base, acc_base, iter_out, iter_in,
           inp_fo, inp_fi, acc_fo, acc_fi);
}

int npu_alu(npu_ctx *ctx, uint32_t deps, uint32_t alu_op, uint32_t use_imm, uint32_t dst,
            uint32_t src, uint32_t iter_out, uint32_t iter_in, uint32_t dst_fo, uint32_t dst_fi,
            uint32_t src_fo, uint32_t src_fi, int32_t imm) {
    APPEND(npu_encode_alu, deps, alu_op, use_imm, dst, src, iter_out, iter_in, dst_fo, dst_fi,
           src_fo, src_fi, imm);
}

int npu_requant(npu_ctx *ctx, uint32_t deps, uint32_t src_acc, uint32_t dst, uint32_t qp_idx,
                uint32_t iter_out, uint32_t iter_in, uint32_t src_fo, uint32_t src_fi,
                uint32_t dst_fo, uint32_t dst_fi, uint32_t per_chan, uint32_t dst_inp) {
    APPEND(npu_encode_req, deps, src_acc, dst, qp_idx, iter_out, iter_in, src_fo, src_fi, dst_fo,
           dst_fi, per_chan, dst_inp);
}

int npu_lut(npu_ctx *ctx, uint32_t deps, uint32_t src_acc, uint32_t dst, uint32_t table,
            uint32_t iter_out, uint32_t iter_in, uint32_t src_fo, uint32_t src_fi,
            uint32_t dst_fo, uint32_t dst_fi, uint32_t dst_inp) {
    APPEND(npu_encode_lut, deps, src_acc, dst, table, iter_out, iter_in, src_fo, src_fi, dst_fo,
           dst_fi, dst_inp);
}

int npu_sync(npu_ctx *ctx, uint32_t deps, uint32_t queue, uint32_t finish, uint32_t perf_snap,
             uint32_t snap_addr) {
    APPEND(npu_encode_sync, deps, finish, queue, perf_snap, snap_addr);
}

int npu_run(npu_ctx *ctx, npu_stats *stats) {
    npu_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    char detail[768] = "";
    int rc;
    if (ctx->backend == BACKEND_RTL) {
        rc = ctx->rtl_run(ctx->insns, ctx->n_insns, ctx->dram, ctx->dram_top, ctx->max_cycles,
                          stats);
        if (rc < 0) return set_err(ctx->err, "rtl harness failed to run (%d)", rc), -1;
        snprintf(detail, sizeof detail, "reported by the RTL");
    } else if (ctx->backend == BACKEND_TRACE) {
        trace_job job = {&ctx->cfg,     ctx->path,     ctx->trace_runs++,
                         ctx->insns,    ctx->n_insns,  ctx->dram,
                         ctx->dram_top, detail,        sizeof detail,
                         ctx->trace_dir, sizeof ctx->trace_dir};
        rc = npu_trace_run(&job, stats);
        if (rc < 0) return set_err(ctx->err, "trace: %s", detail), -1;
    } else {
        fsim_job job = {&ctx->cfg, ctx->insns, ctx->n_insns, ctx->dram, ctx->dram_top, NULL,
                        detail, sizeof detail};
        rc = npu_fsim_run(&job, stats);
        if (rc < 0) return set_err(ctx->err, "fsim: out of memory"), -1;
    }
    if (rc != NPU_ERR_OK)
        set_err(ctx->err, "%s at instruction %u: %s", npu_error_name(rc), stats->error_pc, detail);
    else ctx->err[0] = '\0';
    return rc;
}
