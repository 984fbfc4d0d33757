/* vendor-sdk's device interface (vendor_sdk/contract/vsdk_device.h) over the driver.
 *
 * The options arrive in the form ex_open reads (lower-case target params n, k, ...,
 * dram_bytes, rtl_lib), so they pass through unchanged. The counter record is the
 * ISA table's, which target.yaml `counters:` lists in the same order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ex.h"
#include "vsdk_device.h"

struct vsdk_device {
    ex_ctx *ctx;
    char error[512];
};

static char g_open_error[512];

vsdk_device *vsdk_device_open(const char *backend, const char *options) {
    ex_ctx *ctx = ex_open(backend, options);
    if (!ctx) {
        snprintf(g_open_error, sizeof g_open_error, "%s", ex_open_error());
        return NULL;
    }
    vsdk_device *dev = calloc(1, sizeof *dev);
    if (!dev) {
        ex_close(ctx);
        snprintf(g_open_error, sizeof g_open_error, "out of memory");
        return NULL;
    }
    dev->ctx = ctx;
    g_open_error[0] = 0;
    return dev;
}

void vsdk_device_close(vsdk_device *dev) {
    if (!dev) return;
    ex_close(dev->ctx);
    free(dev);
}

const char *vsdk_device_error(const vsdk_device *dev) {
    return dev ? ex_error(dev->ctx) : g_open_error;
}

void *vsdk_device_context(vsdk_device *dev) { return dev->ctx; }

uint32_t vsdk_device_alloc(vsdk_device *dev, uint64_t bytes, uint32_t align) {
    return ex_alloc(dev->ctx, bytes, align);
}

int vsdk_device_write(vsdk_device *dev, uint32_t addr, const void *src, uint64_t bytes) {
    return ex_write(dev->ctx, addr, src, bytes);
}

int vsdk_device_read(vsdk_device *dev, uint32_t addr, void *dst, uint64_t bytes) {
    return ex_read(dev->ctx, addr, dst, bytes);
}

int vsdk_device_run(vsdk_device *dev, vsdk_run_result *result) {
    ex_status st = {0};
    int rc = ex_run(dev->ctx, &st);
    if (rc < 0) return -1;
    for (uint32_t i = 0; result->counters && i < result->n_counters; i++)
        result->counters[i] = i < EX_N_COUNTERS ? st.counters[i] : 0;
    result->error_code = st.error;
    result->error_insn = st.error_pc;
    result->cycles_estimated = ex_is_model(dev->ctx);
    return rc;
}
