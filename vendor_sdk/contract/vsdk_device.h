/* The device interface: what a target's runtime library implements for vendor-sdk.
 *
 * vendor-sdk never links a particular NPU's driver. It builds the library the
 * target.yaml `runtime:` section names (sources + include and link flags, or a
 * prebuilt shared library) and talks to the NPU only through these functions
 * (from Python through ctypes: vendor_sdk/runtime/device.py). Generated region
 * code queues work on the context returned by vsdk_device_context() through the
 * target's own glue (vsdk_glue.h) and emit snippets; vsdk_device_run() executes it.
 *
 * Backends are the target's: "fsim" (its functional model) and "rtl" (its
 * Verilated RTL, built by vendor-sdk from `sim.rtl` into a shared library whose
 * path arrives as the option rtl_lib=) are the two vendor-sdk asks for.
 */
#ifndef VSDK_DEVICE_H
#define VSDK_DEVICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vsdk_device vsdk_device;

/* options: comma-separated key=value pairs. vendor-sdk passes every target.yaml
 * param in lower case (dim=8,inp_rows=2048,...,dram_bytes=...), and for the "rtl"
 * backend rtl_lib=<path of the Verilated library>; check-intrinsics adds max_cycles=<n>
 * to "rtl": a watchdog per run (stop with the machine's error code when exceeded) that a
 * runtime should honour. Unknown keys are ignored.
 * Returns NULL on failure; vsdk_device_error(NULL) says why. */
vsdk_device *vsdk_device_open(const char *backend, const char *options);
void vsdk_device_close(vsdk_device *dev);

/* The last failure on dev (or of the last failed open when dev is NULL); "" if none. */
const char *vsdk_device_error(const vsdk_device *dev);

/* What generated region functions take as their first argument (the glue casts it). */
void *vsdk_device_context(vsdk_device *dev);

/* DRAM, in bytes. alloc returns a non-zero address aligned to align (a power of two,
 * 0 means 64), or 0 when DRAM is full. write/read return 0, or -1 outside DRAM. */
uint32_t vsdk_device_alloc(vsdk_device *dev, uint64_t bytes, uint32_t align);
int vsdk_device_write(vsdk_device *dev, uint32_t addr, const void *src, uint64_t bytes);
int vsdk_device_read(vsdk_device *dev, uint32_t addr, void *dst, uint64_t bytes);

/* One run of the work queued on the context since the last run. */
typedef struct {
    uint64_t *counters;     /* in: room for n_counters values; out: in target.yaml
                               `counters:` order (the order of per-layer snapshots too) */
    uint32_t n_counters;
    int32_t error_code;     /* 0, or the machine's own error code */
    uint32_t error_insn;    /* index of the faulting instruction, when error_code != 0 */
    int32_t cycles_estimated; /* 1 when cycle counters are a model's estimate (fsim) */
} vsdk_run_result;

/* Returns 0; a positive machine error code (result filled in, vsdk_device_error names
 * it); or -1 when the backend could not run at all. The queued work is kept, so a
 * program can run again; the glue's vsdk_open() starts a new one. */
int vsdk_device_run(vsdk_device *dev, vsdk_run_result *result);

#ifdef __cplusplus
}
#endif

#endif /* VSDK_DEVICE_H */
