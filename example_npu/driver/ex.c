/* Driver context: options, DRAM, the program buffer and the two backends. */
#define _GNU_SOURCE
#include "ex.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_ctx.h"

#define DEFAULT_DRAM_BYTES (64u << 20)
#define RTL_MAX_CYCLES 4000000000ull

static char g_open_error[256];

void ex_fail(ex_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx ? ctx->error : g_open_error, ctx ? sizeof ctx->error : sizeof g_open_error,
              fmt, ap);
    va_end(ap);
}

const char *ex_open_error(void) { return g_open_error; }
const char *ex_error(const ex_ctx *ctx) { return ctx ? ctx->error : g_open_error; }
const ex_config *ex_get_config(const ex_ctx *ctx) { return &ctx->cfg; }
int ex_is_model(const ex_ctx *ctx) { return ctx->rtl_run == NULL; }

/* Reads one key=value option into cfg (or rtl_lib); 0, or -1 on a bad value. */
static int set_option(ex_config *cfg, char *rtl_lib, size_t rtl_cap, const char *key,
                      const char *value) {
    if (!strcmp(key, "rtl_lib")) {
        snprintf(rtl_lib, rtl_cap, "%s", value);
        return 0;
    }
    struct { const char *name; uint32_t *field; } u32[] = {
        {"n", &cfg->n}, {"k", &cfg->k}, {"act_rows", &cfg->act_rows},
        {"wts_rows", &cfg->wts_rows}, {"psum_rows", &cfg->psum_rows},
        {"res_rows", &cfg->res_rows}, {"prm_rows", &cfg->prm_rows}};
    char *end;
    unsigned long long v = strtoull(value, &end, 0);
    if (!strcmp(key, "dram_bytes")) {
        cfg->dram_bytes = v;
        return *end || !*value ? -1 : 0;
    }
    for (size_t i = 0; i < sizeof u32 / sizeof u32[0]; i++) {
        if (!strcmp(key, u32[i].name)) {
            *u32[i].field = (uint32_t)v;
            return *end || !*value || v > 0xffffffffull ? -1 : 0;
        }
    }
    return 0; /* unknown keys are ignored (vsdk_device.h) */
}

/* The limits the ISA's field widths and the lane layout put on a configuration. */
static const char *config_problem(const ex_config *c) {
    if (c->n != 4 && c->n != 8 && c->n != 16) return "n must be 4, 8 or 16";
    if (c->k != 16 && c->k != 32) return "k must be 16 or 32";
    if (!c->act_rows || c->act_rows > 16384) return "act_rows must be 1..16384 (14-bit rows)";
    if (!c->psum_rows || c->psum_rows > 16384) return "psum_rows must be 1..16384";
    if (!c->res_rows || c->res_rows > 16384) return "res_rows must be 1..16384";
    if (c->wts_rows < c->n || c->wts_rows % c->n || c->wts_rows / c->n > 256)
        return "wts_rows must be a multiple of n, 1..256 tiles (8-bit tile)";
    if (c->prm_rows < 3 || c->prm_rows > 258) return "prm_rows must be 3..258 (8-bit desc)";
    if (c->dram_bytes < 64 || c->dram_bytes > 0xfffffffcull)
        return "dram_bytes must be 64..2^32-4 (32-bit DRAM addresses)";
    return NULL;
}

static int open_rtl(ex_ctx *ctx, const char *path) {
    if (!*path) {
        ex_fail(NULL, "backend rtl needs the option rtl_lib=<Verilated library>");
        return -1;
    }
    ctx->rtl_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!ctx->rtl_handle) {
        ex_fail(NULL, "cannot load the RTL library: %s", dlerror());
        return -1;
    }
    ex_rtl_config_fn config = (ex_rtl_config_fn)dlsym(ctx->rtl_handle, "ex_rtl_config");
    ctx->rtl_run = (ex_rtl_run_fn)dlsym(ctx->rtl_handle, "ex_rtl_run");
    ex_config built = {0};
    if (!config || !ctx->rtl_run || config(&built) != 0) {
        ex_fail(NULL, "%s does not export ex_rtl_config/ex_rtl_run (not an example_npu RTL "
                "library?)", path);
        return -1;
    }
    built.dram_bytes = ctx->cfg.dram_bytes;
    if (memcmp(&built, &ctx->cfg, sizeof built)) {
        ex_fail(NULL, "%s was built for n=%u k=%u act_rows=%u wts_rows=%u psum_rows=%u "
                "res_rows=%u prm_rows=%u, the options ask for n=%u k=%u act_rows=%u "
                "wts_rows=%u psum_rows=%u res_rows=%u prm_rows=%u; rebuild it with these "
                "params", path, built.n, built.k, built.act_rows, built.wts_rows,
                built.psum_rows, built.res_rows, built.prm_rows, ctx->cfg.n, ctx->cfg.k,
                ctx->cfg.act_rows, ctx->cfg.wts_rows, ctx->cfg.psum_rows, ctx->cfg.res_rows,
                ctx->cfg.prm_rows);
        return -1;
    }
    return 0;
}

ex_ctx *ex_open(const char *backend, const char *options) {
    g_open_error[0] = 0;
    ex_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return ex_fail(NULL, "out of memory"), NULL;
    ctx->cfg = (ex_config){EX_DEFAULT_N, EX_DEFAULT_K, EX_DEFAULT_ACT_ROWS, EX_DEFAULT_WTS_ROWS,
                           EX_DEFAULT_PSUM_ROWS, EX_DEFAULT_RES_ROWS, EX_DEFAULT_PRM_ROWS,
                           DEFAULT_DRAM_BYTES};
    ctx->max_cycles = RTL_MAX_CYCLES;
    char rtl_lib[1024] = "", item[1200];
    for (const char *p = options ? options : ""; *p;) {
        size_t len = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        p += len + (p[len] == ',');
        char *eq = strchr(item, '=');
        if (!len) continue;
        if (!eq) return ex_fail(NULL, "option '%s' is not key=value", item), ex_close(ctx), NULL;
        *eq = 0;
        if (!strcmp(item, "max_cycles")) { /* the SDK's watchdog for an RTL run */
            char *end;
            ctx->max_cycles = strtoull(eq + 1, &end, 0);
            if (*end || !eq[1] || !ctx->max_cycles)
                return ex_fail(NULL, "option max_cycles=%s is not a positive number", eq + 1),
                       ex_close(ctx), NULL;
            continue;
        }
        if (set_option(&ctx->cfg, rtl_lib, sizeof rtl_lib, item, eq + 1))
            return ex_fail(NULL, "option %s=%s is not a number", item, eq + 1), ex_close(ctx), NULL;
    }
    const char *problem = config_problem(&ctx->cfg);
    if (problem) return ex_fail(NULL, "bad configuration: %s", problem), ex_close(ctx), NULL;
    if (!backend || (strcmp(backend, "fsim") && strcmp(backend, "rtl")))
        return ex_fail(NULL, "unknown backend '%s' (fsim or rtl)", backend ? backend : "(null)"),
               ex_close(ctx), NULL;
    if (!strcmp(backend, "rtl") && open_rtl(ctx, rtl_lib)) return ex_close(ctx), NULL;
    ctx->dram = calloc(ctx->cfg.dram_bytes, 1);
    if (!ctx->dram) return ex_fail(NULL, "cannot allocate %llu bytes of DRAM",
                                   (unsigned long long)ctx->cfg.dram_bytes), ex_close(ctx), NULL;
    ctx->brk = 64; /* address 0 is never handed out */
    return ctx;
}

void ex_close(ex_ctx *ctx) {
    if (!ctx) return;
    if (ctx->rtl_handle) dlclose(ctx->rtl_handle);
    free(ctx->dram);
    free(ctx->prog);
    free(ctx);
}

uint32_t ex_alloc(ex_ctx *ctx, uint64_t bytes, uint32_t align) {
    if (align == 0) align = 64;
    if (align & (align - 1)) return ex_fail(ctx, "alignment %u is not a power of two", align), 0;
    uint64_t at = (ctx->brk + align - 1) & ~(uint64_t)(align - 1);
    if (at + bytes > ctx->cfg.dram_bytes)
        return ex_fail(ctx, "DRAM full: %llu bytes asked, %llu of %llu used",
                       (unsigned long long)bytes, (unsigned long long)ctx->brk,
                       (unsigned long long)ctx->cfg.dram_bytes), 0;
    ctx->brk = at + bytes;
    return (uint32_t)at;
}

static int in_dram(ex_ctx *ctx, uint32_t addr, uint64_t bytes) {
    if ((uint64_t)addr + bytes <= ctx->cfg.dram_bytes) return 1;
    ex_fail(ctx, "DRAM access [%u, %llu) outside its %llu bytes", addr,
            (unsigned long long)(addr + bytes), (unsigned long long)ctx->cfg.dram_bytes);
    return 0;
}

int ex_write(ex_ctx *ctx, uint32_t addr, const void *src, uint64_t bytes) {
    if (!in_dram(ctx, addr, bytes)) return -1;
    memcpy(ctx->dram + addr, src, bytes);
    return 0;
}

int ex_read(ex_ctx *ctx, uint32_t addr, void *dst, uint64_t bytes) {
    if (!in_dram(ctx, addr, bytes)) return -1;
    memcpy(dst, ctx->dram + addr, bytes);
    return 0;
}

int ex_run_program(ex_ctx *ctx, const uint64_t *prog, uint32_t n_insns, ex_status *status) {
    int rc = ctx->rtl_run
        ? ctx->rtl_run(prog, n_insns, ctx->dram, ctx->cfg.dram_bytes, ctx->max_cycles, status)
        : ex_fsim_run(&ctx->cfg, prog, n_insns, ctx->dram, status);
    if (rc == -2)
        return ex_fail(ctx, "the RTL ran %llu cycles without finishing (watchdog, option "
                       "max_cycles=)", (unsigned long long)ctx->max_cycles), -1;
    if (rc == -3) return ex_fail(ctx, "the RTL accessed DRAM outside the range it checked "
                                 "(an RTL bug)"), -1;
    if (rc) return ex_fail(ctx, "the %s backend could not run (rc %d)",
                           ctx->rtl_run ? "rtl" : "fsim", rc), -1;
    if (status->error) {
        static const char *names[] = {"OK", "BAD_OPCODE", "BAD_MEM", "ROW_RANGE",
                                      "DRAM_RANGE", "DRAM_ALIGN"}; /* enum ex_error */
        int e = status->error;
        ex_fail(ctx, "machine error %s (%d) at instruction %u",
                e > 0 && e < (int)(sizeof names / sizeof names[0]) ? names[e] : "?", e,
                status->error_pc);
        return e;
    }
    return 0;
}

int ex_run(ex_ctx *ctx, ex_status *status) {
    return ex_run_program(ctx, ctx->prog, ctx->n_prog, status);
}
