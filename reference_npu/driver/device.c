/* vsdk_device.h over the reference driver (npu.h): the reference NPU's runtime library.
 *
 * vendor-sdk talks to the NPU only through vsdk_device_*; generated region code gets the
 * npu_ctx (vsdk_device_context) and drives it through the glue template and the emit
 * snippets. This file translates the contract's options and result into the driver's.
 */
#include "vsdk_device.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"

/* The counter record in target.yaml `counters:` order, which is npu_stats' order. */
#define N_COUNTERS 9u

struct vsdk_device {
    npu_ctx *ctx;
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

/* The driver's options (npu_open) named the same in vsdk options: target.yaml params in
 * lower case. token_depth and insn_queue_depth keep the driver's defaults unless given. */
static const char *const pass_through[] = {"dim",      "inp_rows",    "wgt_rows",
                                           "acc_rows", "out_rows",    "qp_rows",
                                           "lut_rows", "token_depth", "insn_queue_depth",
                                           "max_cycles"};

/* Append "key=value" to out (comma-separated); -1 when it does not fit. */
static int append_option(char *out, size_t cap, const char *key, const char *value) {
    size_t used = strlen(out);
    int n = snprintf(out + used, cap - used, "%s%s=%s", used ? "," : "", key, value);
    return n < 0 || (size_t)n >= cap - used ? -1 : 0;
}

/* vsdk options -> npu_open options. Keys the driver does not know are dropped (the
 * contract: a target's params may name things only the compiler uses). */
static int translate(const char *backend, const char *options, char *out, size_t cap) {
    char buf[4096];
    if (options && strlen(options) >= sizeof buf) {
        set_err(open_error, "vsdk_device_open: options longer than %zu bytes", sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", options ? options : "");
    out[0] = '\0';
    int rtl = backend && !strcmp(backend, "rtl");
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            set_err(open_error, "vsdk_device_open: option '%s' is not key=value", tok);
            return -1;
        }
        *eq = '\0';
        const char *key = tok, *value = eq + 1, *to = NULL;
        for (size_t i = 0; i < sizeof pass_through / sizeof pass_through[0]; i++)
            if (!strcmp(key, pass_through[i])) to = key;
        if (!strcmp(key, "dram_bytes")) to = "dram";
        if (!strcmp(key, "rtl_lib") && rtl) to = "lib";
        if (!strcmp(key, "dir") && backend && !strcmp(backend, "trace")) to = "dir";
        if (to && append_option(out, cap, to, value)) {
            set_err(open_error, "vsdk_device_open: options too long");
            return -1;
        }
    }
    return 0;
}

vsdk_device *vsdk_device_open(const char *backend, const char *options) {
    open_error[0] = '\0';
    char npu_options[4096];
    if (translate(backend, options, npu_options, sizeof npu_options)) return NULL;
    vsdk_device *dev = calloc(1, sizeof *dev);
    if (!dev) return set_err(open_error, "vsdk_device_open: out of memory"), NULL;
    dev->ctx = npu_open(backend, npu_options);
    if (!dev->ctx) {
        set_err(open_error, "%s", npu_last_error(NULL));
        free(dev);
        return NULL;
    }
    return dev;
}

void vsdk_device_close(vsdk_device *dev) {
    if (!dev) return;
    npu_close(dev->ctx);
    free(dev);
}

/* The device's own last failure, else the driver's (an encoder call of the glue or an emit
 * snippet that did not fit, reported on the context). */
const char *vsdk_device_error(const vsdk_device *dev) {
    if (!dev) return open_error;
    return dev->err[0] ? dev->err : npu_last_error(dev->ctx);
}

void *vsdk_device_context(vsdk_device *dev) { return dev->ctx; }

uint32_t vsdk_device_alloc(vsdk_device *dev, uint64_t bytes, uint32_t align) {
    dev->err[0] = '\0';
    uint32_t addr = npu_dram_alloc(dev->ctx, bytes, align);
    if (addr == NPU_DRAM_NONE) set_err(dev->err, "%s", npu_last_error(dev->ctx));
    return addr;
}

/* DRAM [addr, addr + bytes) inside what has been allocated, else NULL with the reason. */
static uint8_t *dram_span(vsdk_device *dev, const char *what, uint32_t addr, uint64_t bytes) {
    dev->err[0] = '\0';
    uint64_t size = npu_dram_size(dev->ctx);
    if (addr > size || bytes > size - addr) {
        set_err(dev->err, "vsdk_device_%s: DRAM [%u, %llu) is outside the allocated [0, %llu)",
                what, addr, (unsigned long long)addr + bytes, (unsigned long long)size);
        return NULL;
    }
    return (uint8_t *)npu_dram_ptr(dev->ctx, 0) + addr;
}

int vsdk_device_write(vsdk_device *dev, uint32_t addr, const void *src, uint64_t bytes) {
    uint8_t *p = dram_span(dev, "write", addr, bytes);
    if (!p) return -1;
    if (bytes) memcpy(p, src, bytes);
    return 0;
}

int vsdk_device_read(vsdk_device *dev, uint32_t addr, void *dst, uint64_t bytes) {
    uint8_t *p = dram_span(dev, "read", addr, bytes);
    if (!p) return -1;
    if (bytes) memcpy(dst, p, bytes);
    return 0;
}

int vsdk_device_run(vsdk_device *dev, vsdk_run_result *result) {
    dev->err[0] = '\0';
    /* A record of another length means target.yaml and this library disagree: refusing
     * beats returning counters under the wrong names. */
    if (result->n_counters != N_COUNTERS) {
        set_err(dev->err, "vsdk_device_run: the reference NPU has %u counters (npu_stats), "
                "the caller asked for %u (target.yaml `counters:` must list them in order)",
                N_COUNTERS, result->n_counters);
        return -1;
    }
    npu_stats st;
    int rc = npu_run(dev->ctx, &st);
    if (rc < 0) {
        set_err(dev->err, "%s", npu_last_error(dev->ctx));
        return -1;
    }
    const uint64_t values[N_COUNTERS] = {st.cycles,       st.gemm_rows,    st.gemm_busy,
                                         st.ld_busy,      st.st_busy,      st.ex_busy,
                                         st.dma_rd_bytes, st.dma_wr_bytes, st.insns};
    memcpy(result->counters, values, sizeof values);
    result->error_code = (int32_t)st.error_code;
    result->error_insn = st.error_pc;
    result->cycles_estimated = st.cycles_are_estimate;
    if (rc) set_err(dev->err, "%s", npu_last_error(dev->ctx));
    return rc;
}
