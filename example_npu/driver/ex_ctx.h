/* The driver context's layout, private to the driver's C files. */
#ifndef EX_CTX_H
#define EX_CTX_H

#include <stdint.h>

#include "ex.h"

struct ex_ctx {
    ex_config cfg;
    uint8_t *dram;
    uint64_t brk;                  /* next free DRAM byte */
    uint64_t *prog;                /* queued instructions */
    uint32_t n_prog, cap_prog;
    void *rtl_handle;              /* dlopen handle of the rtl backend, NULL for fsim */
    ex_rtl_run_fn rtl_run;
    uint64_t max_cycles;           /* rtl watchdog (option max_cycles=, vsdk_device.h) */
    char error[512];
};

/* Records a failure on ctx (or, with ctx NULL, the failure of ex_open). */
void ex_fail(ex_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* EX_CTX_H */
