/* trace backend. Layout of <dir>/run_<k>/ (the manifest is written last, so
 * its presence means the run directory is complete):
 *   insns.bin      n_insns * 16 bytes, the program
 *   dram_in.bin    DRAM image before the run
 *   dram_out.bin   DRAM image after the run on fsim (the expected result)
 *   manifest.json  hw config, sizes, expected status/counters, and the DRAM
 *                  regions to compare (bytes written by STORE; empty when the
 *                  run ends in an error, where DRAM contents are unspecified)
 */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsim.h"

static int make_dirs(const char *path) {
    char buf[4352];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            if (!saved) return 0;
            *p = saved;
        }
    }
}

static int write_file(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Merged byte ranges where mask is set, as JSON objects. */
static void write_regions(FILE *f, const uint8_t *mask, uint64_t bytes) {
    const char *sep = "";
    for (uint64_t i = 0; i < bytes;) {
        if (!mask[i]) {
            i++;
            continue;
        }
        uint64_t start = i;
        while (i < bytes && mask[i]) i++;
        fprintf(f, "%s\n    {\"offset\": %llu, \"bytes\": %llu}", sep, (unsigned long long)start,
                (unsigned long long)(i - start));
        sep = ",";
    }
}

static int write_manifest(const trace_job *job, const char *dir, const npu_stats *s,
                          const uint8_t *mask) {
    char path[4352];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const npu_hw_config *c = job->cfg;
    const char *name = npu_isa_error_name(s->error_code);
    fprintf(f, "{\n  \"format\": \"reference_npu-trace-1\",\n");
    fprintf(f,
            "  \"hw_config\": {\"dim\": %u, \"inp_rows\": %u, \"wgt_rows\": %u, \"acc_rows\": %u, "
            "\"out_rows\": %u, \"qp_rows\": %u, \"lut_rows\": %u, \"token_depth\": %u, "
            "\"insn_queue_depth\": %u},\n",
            c->dim, c->inp_rows, c->wgt_rows, c->acc_rows, c->out_rows, c->qp_rows, c->lut_rows,
            c->token_depth, c->insn_queue_depth);
    fprintf(f, "  \"insns\": {\"file\": \"insns.bin\", \"count\": %u, \"insn_bytes\": %d},\n",
            job->n_insns, NPU_INSN_BYTES);
    fprintf(f, "  \"dram_in\": {\"file\": \"dram_in.bin\", \"bytes\": %llu},\n",
            (unsigned long long)job->dram_bytes);
    fprintf(f,
            "  \"expected\": {\"dram_out\": \"dram_out.bin\", \"status\": %u, \"error_code\": %u, "
            "\"error_name\": \"%s\", \"error_pc\": %u, ",
            s->status, s->error_code, name ? name : "UNKNOWN", s->error_pc);
    if (s->error_code == NPU_ERR_OK)
        fprintf(f,
                "\"exact_counters\": {\"gemm_rows\": %llu, \"dma_rd_bytes\": %llu, "
                "\"dma_wr_bytes\": %llu, \"insns\": %llu}, ",
                (unsigned long long)s->gemm_rows, (unsigned long long)s->dma_rd_bytes,
                (unsigned long long)s->dma_wr_bytes, (unsigned long long)s->insns);
    else fprintf(f, "\"exact_counters\": null, ");
    fprintf(f, "\"estimated_cycles\": %llu},\n  \"compare\": [", (unsigned long long)s->cycles);
    if (s->error_code == NPU_ERR_OK) write_regions(f, mask, job->dram_bytes);
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

int npu_trace_run(const trace_job *job, npu_stats *stats) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/run_%04u", job->dir, job->run_index);
    if (job->run_dir) snprintf(job->run_dir, job->run_dir_len, "%s", dir);
    if (make_dirs(dir) != 0 ||
        write_file(dir, "insns.bin", job->insns, (size_t)job->n_insns * NPU_INSN_BYTES) != 0 ||
        write_file(dir, "dram_in.bin", job->dram, job->dram_bytes) != 0) {
        snprintf(job->msg, job->msg_len, "cannot write %s: %s", dir, strerror(errno));
        return -1;
    }
    uint8_t *mask = calloc(job->dram_bytes ? job->dram_bytes : 1, 1);
    if (!mask) return snprintf(job->msg, job->msg_len, "out of memory"), -1;
    fsim_job run = {job->cfg, job->insns, job->n_insns, job->dram, job->dram_bytes, mask,
                    job->msg, job->msg_len};
    int rc = npu_fsim_run(&run, stats);
    if (rc >= 0 && (write_file(dir, "dram_out.bin", job->dram, job->dram_bytes) != 0 ||
                    write_manifest(job, dir, stats, mask) != 0)) {
        snprintf(job->msg, job->msg_len, "cannot write %s: %s", dir, strerror(errno));
        rc = -1;
    }
    free(mask);
    return rc;
}
