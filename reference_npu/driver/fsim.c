/* fsim scheduler: fetch, three in-order unit queues, four token queues.
 *
 * Why the result is timing-independent (so fsim and the RTL agree):
 *  - every error but DEADLOCK is found at fetch, in program order
 *    (fsim_check.c; TOKEN_OVERFLOW counts tokens in program order here);
 *  - units block on empty token queues and fetch blocks on a full unit
 *    queue, nothing else blocks, so whether a program deadlocks depends only
 *    on the queue depths (a Kahn network with bounded channels).
 * The loop below therefore may run the units in any order; it runs each
 * unit as far as it can, then fetches, until nothing moves.
 *
 * Cycle estimate: each instruction starts at max(its unit free, its
 * dispatch, the push time of every token it pops) and takes the analytic
 * cost from fsim_ops.c. Fetch dispatches one instruction per cycle and
 * waits for a slot when a unit queue is full.
 *
 * GEMMs follow the RTL's two-slot engine (rtl/npu_gemm.sv) instead: the next
 * GEMM loads its weights into the other bank while this one streams, rows
 * stream back to back, results reach ACC 2*DIM cycles after their row
 * (matched to the RTL's counters on back-to-back GEMMs, tests/reference_npu).
 * So a GEMM frees the exec unit when it starts streaming; its push to the
 * load unit (INP/WGT may be overwritten) comes when its last row has issued;
 * a GEMM that pushes to the store unit, and every other exec instruction,
 * first waits for the engine to drain (rtl/npu_exec_unit.sv).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsim.h"

typedef struct {
    uint32_t *slot; /* ring of instruction indices, capacity depth */
    uint32_t head, count;
    uint64_t *start; /* start time of the k-th instruction dispatched to this unit */
    uint32_t dispatched, started;
} unit_queue;

typedef struct {
    int64_t runtime;  /* tokens available now */
    int64_t program;  /* pushes - pops of the instructions fetched so far */
    uint64_t *stamp;  /* push times of the available tokens, FIFO */
    uint32_t head, tail, cap;
} token_queue;

/* The GEMM engine's timing state (see the header comment). */
typedef struct {
    uint64_t stream_free;   /* slot S: when the last issued row has entered the array */
    uint64_t drained;       /* every issued GEMM's results are in ACC */
    uint64_t bank_drained[2]; /* the last GEMM streaming from each weight bank drained */
    uint64_t busy_until;    /* for EX_BUSY: exec unit or engine busy up to here */
    uint32_t bank;          /* bank the latest load_w wrote */
} gemm_engine;

typedef struct {
    fsim_machine m;
    const fsim_job *job;
    unit_queue q[FSIM_UNITS];
    token_queue t[FSIM_TQS];
    uint64_t *dispatch_time; /* per instruction */
    uint64_t unit_free[FSIM_UNITS], fetch_time;
    uint32_t pc;
    int fetch_done;
    gemm_engine g;
    FILE *timeline; /* NPU_FSIM_TIMELINE=<path>: one line per instruction, for tuning */
} fsim_run;

static const char *const UNIT[FSIM_UNITS] = {"load", "exec", "store"};
static const char *const TQ[FSIM_TQS] = {"load->exec", "exec->load", "exec->store",
                                         "store->exec"};

static void insn_at(const fsim_run *r, uint32_t pc, uint64_t w[2]) {
    npu_insn_from_bytes(r->job->insns + (size_t)pc * NPU_INSN_BYTES, w);
}

static uint32_t deps_of(const uint64_t w[2]) {
    return (uint32_t)npu_bits_get(w, NPU_HDR_POP_PREV_LSB, 4);
}

static int stop(fsim_run *r, uint32_t code, uint32_t pc) {
    npu_stats *s = r->m.stats;
    s->error_code = code;
    s->error_pc = code == NPU_ERR_OK ? 0 : pc;
    s->status = 1u << NPU_STATUS_DONE_LSB | (code != NPU_ERR_OK) << NPU_STATUS_ERROR_LSB |
                code << NPU_STATUS_CODE_LSB;
    return (int)code;
}

/* Fetch one instruction. Returns 1 if dispatched, 0 if blocked or finished,
 * or -(error code) when the instruction is illegal. */
static int fetch_one(fsim_run *r) {
    if (r->fetch_done || r->pc >= r->job->n_insns) return 0;
    uint64_t w[2];
    uint32_t unit;
    insn_at(r, r->pc, w);
    uint32_t err = fsim_check(&r->m, w, &unit, r->job->msg, r->job->msg_len);
    if (err != NPU_ERR_OK) return -(int)err;
    unit_queue *q = &r->q[unit];
    uint32_t deps = deps_of(w);
    int64_t next[FSIM_TQS];
    for (int t = 0; t < FSIM_TQS; t++) next[t] = r->t[t].program;
    for (uint32_t bit = 0; bit < 4; bit++) {
        if (!((deps >> bit) & 1u)) continue;
        int t = fsim_dep_queue(unit, bit);
        next[t] += bit >= 2 ? 1 : -1;
        if (next[t] > (int64_t)r->m.cfg.token_depth) {
            if (r->job->msg)
                snprintf(r->job->msg, r->job->msg_len,
                         "%s token queue would hold %lld tokens (depth %u)", TQ[t],
                         (long long)next[t], r->m.cfg.token_depth);
            return -(int)NPU_ERR_TOKEN_OVERFLOW;
        }
    }
    /* Checked (overflow included) before waiting for a slot, like every other error. */
    if (q->count == r->m.cfg.insn_queue_depth) return 0;
    for (int t = 0; t < FSIM_TQS; t++) r->t[t].program = next[t];
    /* With the unit queue full, the slot frees when the instruction
     * insn_queue_depth places earlier in this unit starts. */
    uint64_t at = r->fetch_time;
    if (q->dispatched >= r->m.cfg.insn_queue_depth) {
        uint64_t freed = q->start[q->dispatched - r->m.cfg.insn_queue_depth];
        at = at > freed ? at : freed;
    }
    r->dispatch_time[r->pc] = at;
    r->fetch_time = at + 1;
    q->slot[(q->head + q->count) % r->m.cfg.insn_queue_depth] = r->pc;
    q->count++;
    q->dispatched++;
    if (NPU_FIELD(w, HDR, OPCODE) == NPU_OP_SYNC && NPU_FIELD(w, SYNC, FINISH)) r->fetch_done = 1;
    r->pc++;
    return 1;
}

#define FSIM_FETCH_LATENCY 20u

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* A GEMM accepted at `start`: executes it (bit-exact) and times it on the
 * two-slot engine. Sets the exec unit free time and the push times; returns
 * when its last effect (results in ACC, or the drained push) happens. */
static uint64_t gemm_timing(fsim_run *r, const uint64_t w[2], uint64_t start, uint64_t push[4]) {
    gemm_engine *g = &r->g;
    uint64_t dim = r->m.cfg.dim;
    uint64_t rows = NPU_FIELD(w, GEMM, ITER_OUT) * NPU_FIELD(w, GEMM, ITER_IN);
    (void)fsim_execute(&r->m, w, start); /* the effects; the isolated cost is not used */
    uint64_t loaded = start + 1;
    if (NPU_FIELD(w, GEMM, LOAD_W)) { /* into the other bank, once its rows have drained */
        g->bank ^= 1u;
        loaded = max64(loaded, g->bank_drained[g->bank] + 1) + dim; /* +1: RTL sees it next cycle */
    }
    uint64_t stream = max64(loaded, g->stream_free), issued = stream + rows;
    uint64_t drained = rows ? issued + 2 * dim : issued; /* array latency, then the ACC write */
    g->stream_free = issued;
    g->bank_drained[g->bank] = max64(g->bank_drained[g->bank], drained);
    g->drained = max64(g->drained, drained);
    npu_stats *s = r->m.stats;
    uint64_t from = max64(start, g->busy_until);
    s->ex_busy += drained > from ? drained - from : 0;
    g->busy_until = max64(g->busy_until, drained);
    /* push_prev (to load) once the last row issued; push_next (to store) after the
     * drain, and then the exec unit waits for it, as the RTL's DRAIN state does. */
    push[2] = issued;
    if (NPU_FIELD(w, HDR, PUSH_NEXT)) {
        push[3] = drained;
        r->unit_free[FSIM_EX] = drained;
    } else {
        r->unit_free[FSIM_EX] = stream;
    }
    return drained;
}

/* Run the head of a unit queue if its tokens are there. Returns 1 if it ran. */
static int step_unit(fsim_run *r, uint32_t unit) {
    unit_queue *q = &r->q[unit];
    if (q->count == 0) return 0;
    uint32_t pc = q->slot[q->head];
    uint64_t w[2];
    insn_at(r, pc, w);
    uint32_t deps = deps_of(w);
    for (uint32_t bit = 0; bit < 2; bit++)
        if ((deps >> bit) & 1u && r->t[fsim_dep_queue(unit, bit)].runtime == 0) return 0;
    uint64_t start = r->unit_free[unit] > r->dispatch_time[pc] ? r->unit_free[unit]
                                                                 : r->dispatch_time[pc];
    for (uint32_t bit = 0; bit < 2; bit++) {
        if (!((deps >> bit) & 1u)) continue;
        token_queue *t = &r->t[fsim_dep_queue(unit, bit)];
        uint64_t ready = t->stamp[t->head];
        t->head = (t->head + 1) % t->cap;
        t->runtime--;
        start = start > ready ? start : ready;
    }
    q->head = (q->head + 1) % r->m.cfg.insn_queue_depth;
    q->count--;
    npu_stats *s = r->m.stats;
    uint64_t push[4] = {0, 0, 0, 0}, end;
    if (unit == FSIM_EX && NPU_FIELD(w, HDR, OPCODE) == NPU_OP_GEMM) {
        end = gemm_timing(r, w, start, push);
    } else {
        /* the exec unit sees the engine idle the cycle after its last ACC write */
        if (unit == FSIM_EX && r->g.drained) start = max64(start, r->g.drained + 1);
        uint64_t cost = fsim_execute(&r->m, w, start);
        end = start + cost;
        uint64_t *busy[FSIM_UNITS] = {&s->ld_busy, &s->ex_busy, &s->st_busy};
        if (unit == FSIM_EX) { /* count only what the engine's drain did not already */
            uint64_t from = start > r->g.busy_until ? start : r->g.busy_until;
            s->ex_busy += end > from ? end - from : 0;
            r->g.busy_until = end > r->g.busy_until ? end : r->g.busy_until;
        } else {
            *busy[unit] += cost;
        }
        r->unit_free[unit] = end;
        push[2] = push[3] = end;
    }
    q->start[q->started++] = start;
    if (r->timeline)
        fprintf(r->timeline, "%u %s %u %llu %llu\n", pc, UNIT[unit],
                (unsigned)NPU_FIELD(w, HDR, OPCODE), (unsigned long long)start,
                (unsigned long long)end);
    for (uint32_t bit = 2; bit < 4; bit++) {
        if (!((deps >> bit) & 1u)) continue;
        token_queue *t = &r->t[fsim_dep_queue(unit, bit)];
        t->stamp[t->tail] = push[bit];
        t->tail = (t->tail + 1) % t->cap;
        t->runtime++;
    }
    s->insns++;
    s->cycles = s->cycles > end ? s->cycles : end;
    return 1;
}

/* Nothing moves: report the lowest-index blocked head as the faulting pc. */
static int deadlock(fsim_run *r) {
    uint32_t pc = UINT32_MAX, unit = 0;
    for (uint32_t u = 0; u < FSIM_UNITS; u++) {
        if (r->q[u].count && r->q[u].slot[r->q[u].head] < pc) {
            pc = r->q[u].slot[r->q[u].head];
            unit = u;
        }
    }
    if (r->job->msg) {
        uint64_t w[2];
        insn_at(r, pc, w);
        uint32_t deps = deps_of(w), bit = 1;
        if ((deps & 1u) && r->t[fsim_dep_queue(unit, 0)].runtime == 0) bit = 0;
        snprintf(r->job->msg, r->job->msg_len,
                 "instruction %u on the %s unit waits for a %s token that never comes", pc,
                 UNIT[unit], TQ[fsim_dep_queue(unit, bit)]);
    }
    return stop(r, NPU_ERR_DEADLOCK, pc);
}

static int schedule(fsim_run *r) {
    for (;;) {
        int moved = 0;
        for (uint32_t u = 0; u < FSIM_UNITS; u++)
            while (step_unit(r, u)) moved = 1;
        int f;
        while ((f = fetch_one(r)) > 0) moved = 1;
        if (f < 0) return stop(r, (uint32_t)-f, r->pc);
        if (moved) continue;
        int empty = !r->q[0].count && !r->q[1].count && !r->q[2].count;
        int fetched_all = r->fetch_done || r->pc >= r->job->n_insns;
        if (empty && fetched_all) return stop(r, NPU_ERR_OK, 0);
        return deadlock(r);
    }
}

static void *zalloc(size_t n, size_t size, int *failed) {
    void *p = calloc(n ? n : 1, size);
    if (!p) *failed = 1;
    return p;
}

int npu_fsim_run(const fsim_job *job, npu_stats *stats) {
    memset(stats, 0, sizeof *stats);
    stats->cycles_are_estimate = 1;
    if (job->msg && job->msg_len) job->msg[0] = '\0';
    const npu_hw_config *c = job->cfg;
    fsim_run r;
    memset(&r, 0, sizeof r);
    r.job = job;
    /* The first instruction arrives from DRAM this late on the RTL (START to the first
     * dispatch, measured on single-instruction programs); later ones one per cycle. */
    r.fetch_time = FSIM_FETCH_LATENCY;
    r.m.cfg = *c;
    r.m.dram = job->dram;
    r.m.dram_bytes = job->dram_bytes;
    r.m.store_mask = job->store_mask;
    r.m.stats = stats;
    int failed = 0;
    size_t dim = c->dim, n = job->n_insns;
    r.m.inp = zalloc((size_t)c->inp_rows * dim, 1, &failed);
    r.m.wgt = zalloc((size_t)c->wgt_rows * dim, 1, &failed);
    r.m.out = zalloc((size_t)c->out_rows * dim, 1, &failed);
    r.m.lut = zalloc((size_t)c->lut_rows * dim, 1, &failed);
    r.m.acc = zalloc((size_t)c->acc_rows * dim, sizeof(int32_t), &failed);
    r.m.qp = zalloc((size_t)c->qp_rows * dim, sizeof(int32_t), &failed);
    r.m.w = zalloc(dim * dim, 1, &failed);
    r.dispatch_time = zalloc(n, sizeof(uint64_t), &failed);
    for (int u = 0; u < FSIM_UNITS; u++) {
        r.q[u].slot = zalloc(c->insn_queue_depth, sizeof(uint32_t), &failed);
        r.q[u].start = zalloc(n, sizeof(uint64_t), &failed);
    }
    for (int t = 0; t < FSIM_TQS; t++) {
        r.t[t].cap = (uint32_t)n + 1; /* each instruction pushes at most once */
        r.t[t].stamp = zalloc(n + 1, sizeof(uint64_t), &failed);
    }
    const char *timeline = getenv("NPU_FSIM_TIMELINE");
    if (timeline && *timeline) r.timeline = fopen(timeline, "a");
    if (r.timeline) fprintf(r.timeline, "# run of %u instructions: pc unit opcode start end\n", job->n_insns);
    int rc = failed ? -1 : schedule(&r);
    if (r.timeline) fclose(r.timeline);
    free(r.m.inp), free(r.m.wgt), free(r.m.out), free(r.m.lut);
    free(r.m.acc), free(r.m.qp), free(r.m.w), free(r.dispatch_time);
    for (int u = 0; u < FSIM_UNITS; u++) free(r.q[u].slot), free(r.q[u].start);
    for (int t = 0; t < FSIM_TQS; t++) free(r.t[t].stamp);
    return rc;
}
