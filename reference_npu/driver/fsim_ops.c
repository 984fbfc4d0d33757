/* What each instruction does (bit-exact), and its analytic cost estimate.
 *
 * Instructions reach this file only after fsim_check() passed, so indices
 * are in range. int32 arithmetic wraps (done in uint32_t to stay defined);
 * right shifts of negative values are arithmetic (gcc/clang behaviour).
 */
#include <string.h>

#include "fsim.h"

/* Cost estimate: the RTL's timing with its default memory model (16-byte bus,
 * 16-cycle latency; vendor_sdk/sim/params.py), rebuilt from how its units
 * work and checked against its counters instruction by instruction
 * (tests/reference_npu/test_fsim_timing.py). A build with another bus width or
 * latency differs from this estimate. */
#define EST_BUS_BYTES 16u    /* one beat */
#define EST_RD_ROUND_TRIP 17u /* a read request's issue to its beat being consumed */
#define EST_RD_IN_FLIGHT 8u  /* read beats requested but not consumed (and cells pending) */
#define EST_WR_FIXED 17u     /* a STORE's write latency; then one beat per cycle */
#define EST_REQ_PIPE 3u      /* REQ's multiply/shift/clamp stages */

static int32_t wrap32(uint32_t v) { return (int32_t)v; }

/* floor((p + 2^(s-1)) / 2^s) for s > 0, p for s == 0, without overflowing:
 * the added half is bit s-1 of p. Rounds halves towards +infinity. */
static int64_t round_shift(int64_t p, unsigned s) {
    return s == 0 ? p : (p >> s) + ((p >> (s - 1)) & 1);
}

static int32_t read_le32(const uint8_t *p) {
    return wrap32((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24);
}

static void write_le32(uint8_t *p, int32_t v) {
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(u >> (8 * i));
}

static uint64_t beats_of(uint64_t bytes) { return (bytes + EST_BUS_BYTES - 1) / EST_BUS_BYTES; }

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* The DMA read engine (rtl/npu_dma_rd.sv), cell by cell in walk order: a cell
 * enters the pending FIFO (EST_RD_IN_FLIGHT deep) a cycle after the previous
 * one; a real cell issues one request per beat, each needing a free credit
 * (credits return when the beat is consumed); beats are consumed in order,
 * EST_RD_ROUND_TRIP after their request; a pad cell is written the cycle
 * after it enters. The LOAD takes until its last cell is written. */
typedef struct {
    uint64_t enter[EST_RD_IN_FLIGHT], consumed[EST_RD_IN_FLIGHT]; /* rings */
    uint64_t cells, beats, last_req, last_write, last_consumed;
} dma_rd_timer;

static void dma_rd_cell(dma_rd_timer *t, int real, uint64_t beats) {
    uint64_t k = t->cells % EST_RD_IN_FLIGHT;
    uint64_t at = t->last_req + 1;
    if (t->cells >= EST_RD_IN_FLIGHT) at = max_u64(at, t->enter[k] + 1);
    uint64_t written;
    if (real) {
        uint64_t req = at - 1;
        for (uint64_t b = 0; b < beats; b++) {
            uint64_t j = t->beats % EST_RD_IN_FLIGHT;
            req = req + 1;
            if (t->beats >= EST_RD_IN_FLIGHT) req = max_u64(req, t->consumed[j] + 1);
            uint64_t c = max_u64(t->last_consumed + 1, req + EST_RD_ROUND_TRIP);
            if (b == 0) c = max_u64(c, t->last_write + 1);
            t->consumed[j] = c;
            t->last_consumed = c;
            t->beats++;
        }
        written = t->last_consumed;
        t->last_req = req;
    } else {
        written = max_u64(t->last_write + 1, at + 1);
        t->last_req = at;
    }
    /* the FIFO slot frees when the cell is written */
    t->enter[k] = written;
    t->last_write = written;
    t->cells++;
}

/* A STORE (or perf_snap record): the write latency, then a beat per cycle. */
static uint64_t dma_wr_cost(uint64_t bytes_per_row, uint64_t rows) {
    return EST_WR_FIXED + rows * beats_of(bytes_per_row);
}

/* One SRAM row of a LOAD: from DRAM at `src`, or pad_val when src is NULL. */
static void load_row(fsim_machine *m, uint32_t mem, uint64_t row, const uint8_t *src,
                     int32_t pad) {
    uint32_t dim = m->cfg.dim;
    for (uint32_t c = 0; c < dim; c++) {
        switch (mem) {
        case NPU_MEM_INP: m->inp[row * dim + c] = (int8_t)(src ? (int8_t)src[c] : pad); break;
        case NPU_MEM_WGT: m->wgt[row * dim + c] = (int8_t)(src ? (int8_t)src[c] : pad); break;
        case NPU_MEM_LUT: m->lut[row * dim + c] = (int8_t)(src ? (int8_t)src[c] : pad); break;
        case NPU_MEM_ACC8: m->acc[row * dim + c] = src ? (int8_t)src[c] : pad; break;
        case NPU_MEM_ACC: m->acc[row * dim + c] = src ? read_le32(src + 4 * c) : pad; break;
        case NPU_MEM_QP: m->qp[row * dim + c] = src ? read_le32(src + 4 * c) : pad; break;
        default: break;
        }
    }
}

static uint64_t exec_load(fsim_machine *m, const uint64_t w[2]) {
    uint32_t mem = (uint32_t)NPU_FIELD(w, LOAD, MEM_ID), dim = m->cfg.dim;
    uint64_t ys = NPU_FIELD(w, LOAD, Y_SIZE), xs = NPU_FIELD(w, LOAD, X_SIZE);
    uint64_t yp0 = NPU_FIELD(w, LOAD, Y_PAD0), xp0 = NPU_FIELD(w, LOAD, X_PAD0);
    uint64_t ytot = yp0 + ys + NPU_FIELD(w, LOAD, Y_PAD1);
    uint64_t xtot = xp0 + xs + NPU_FIELD(w, LOAD, X_PAD1);
    uint64_t stride = NPU_FIELD(w, LOAD, X_STRIDE), base = NPU_FIELD(w, LOAD, SRAM_BASE);
    uint64_t dram_base = NPU_FIELD(w, LOAD, DRAM_BASE);
    uint64_t eb = (mem == NPU_MEM_ACC || mem == NPU_MEM_QP) ? 4u * dim : dim;
    int32_t pad = (int32_t)NPU_SFIELD(w, LOAD, PAD_VAL);
    dma_rd_timer t;
    memset(&t, 0, sizeof t);
    for (uint64_t y = 0; y < ytot; y++) {
        for (uint64_t x = 0; x < xtot; x++) {
            int inside = y >= yp0 && y < yp0 + ys && x >= xp0 && x < xp0 + xs;
            const uint8_t *src =
                inside ? m->dram + dram_base + ((y - yp0) * stride + (x - xp0)) * eb : NULL;
            dma_rd_cell(&t, inside, beats_of(eb));
            load_row(m, mem, base + y * xtot + x, src, pad);
        }
    }
    m->stats->dma_rd_bytes += ys * xs * eb;
    return t.cells ? t.last_write + 1 : 1;
}

static uint64_t exec_store(fsim_machine *m, const uint64_t w[2]) {
    uint32_t mem = (uint32_t)NPU_FIELD(w, STORE, MEM_ID), dim = m->cfg.dim;
    uint64_t ys = NPU_FIELD(w, STORE, Y_SIZE), xs = NPU_FIELD(w, STORE, X_SIZE);
    uint64_t stride = NPU_FIELD(w, STORE, X_STRIDE), base = NPU_FIELD(w, STORE, SRAM_BASE);
    uint64_t dram_base = NPU_FIELD(w, STORE, DRAM_BASE);
    uint64_t eb = mem == NPU_MEM_ACC ? 4u * dim : dim;
    for (uint64_t y = 0; y < ys; y++) {
        for (uint64_t x = 0; x < xs; x++) {
            uint64_t row = base + y * xs + x, at = dram_base + (y * stride + x) * eb;
            uint8_t *dst = m->dram + at;
            if (mem == NPU_MEM_ACC)
                for (uint32_t c = 0; c < dim; c++) write_le32(dst + 4 * c, m->acc[row * dim + c]);
            else memcpy(dst, m->out + row * dim, dim);
            if (m->store_mask) memset(m->store_mask + at, 1, eb);
        }
    }
    m->stats->dma_wr_bytes += ys * xs * eb;
    return dma_wr_cost(eb, ys * xs);
}

static uint64_t exec_gemm(fsim_machine *m, const uint64_t w[2]) {
    uint32_t dim = m->cfg.dim;
    uint64_t no = NPU_FIELD(w, GEMM, ITER_OUT), ni = NPU_FIELD(w, GEMM, ITER_IN);
    uint64_t cost = 1;
    if (NPU_FIELD(w, GEMM, LOAD_W)) {
        /* WGT row tile*DIM + k holds input channel k; lane n is output channel n. */
        memcpy(m->w, m->wgt + NPU_FIELD(w, GEMM, WGT_TILE) * dim * dim, (size_t)dim * dim);
        cost += dim;
    }
    int accum = (int)NPU_FIELD(w, GEMM, ACCUM);
    for (uint64_t i = 0; i < no; i++) {
        for (uint64_t j = 0; j < ni; j++) {
            uint64_t a = NPU_FIELD(w, GEMM, ACC_BASE) + i * NPU_FIELD(w, GEMM, ACC_FO) +
                         j * NPU_FIELD(w, GEMM, ACC_FI);
            uint64_t b = NPU_FIELD(w, GEMM, INP_BASE) + i * NPU_FIELD(w, GEMM, INP_FO) +
                         j * NPU_FIELD(w, GEMM, INP_FI);
            const int8_t *x = m->inp + b * dim;
            int32_t *acc = m->acc + a * dim;
            for (uint32_t n = 0; n < dim; n++) {
                uint32_t sum = accum ? (uint32_t)acc[n] : 0u;
                for (uint32_t k = 0; k < dim; k++)
                    sum += (uint32_t)((int32_t)x[k] * (int32_t)m->w[k * dim + n]);
                acc[n] = wrap32(sum);
            }
        }
    }
    m->stats->gemm_rows += no * ni;
    m->stats->gemm_busy += no * ni;
    return cost + (no && ni ? no * ni + 2u * dim : 0);
}

static int32_t alu_apply(uint32_t op, int32_t x, int32_t y) {
    switch (op) {
    case NPU_ALU_ADD: return wrap32((uint32_t)x + (uint32_t)y);
    case NPU_ALU_SUB: return wrap32((uint32_t)x - (uint32_t)y);
    case NPU_ALU_MAX: return x > y ? x : y;
    case NPU_ALU_MIN: return x < y ? x : y;
    case NPU_ALU_MUL: return wrap32((uint32_t)x * (uint32_t)y);
    case NPU_ALU_SHR: return (int32_t)round_shift(x, (uint32_t)y & 31u);
    case NPU_ALU_SHL: return wrap32((uint32_t)x << ((uint32_t)y & 31u));
    default: return y; /* MOV */
    }
}

static uint64_t exec_alu(fsim_machine *m, const uint64_t w[2]) {
    uint32_t dim = m->cfg.dim, op = (uint32_t)NPU_FIELD(w, ALU, ALU_OP);
    int use_imm = (int)NPU_FIELD(w, ALU, USE_IMM);
    int32_t imm = (int32_t)NPU_SFIELD(w, ALU, IMM);
    uint64_t no = NPU_FIELD(w, ALU, ITER_OUT), ni = NPU_FIELD(w, ALU, ITER_IN);
    for (uint64_t i = 0; i < no; i++) {
        for (uint64_t j = 0; j < ni; j++) {
            uint64_t d = NPU_FIELD(w, ALU, DST) + i * NPU_FIELD(w, ALU, DST_FO) +
                         j * NPU_FIELD(w, ALU, DST_FI);
            uint64_t s = NPU_FIELD(w, ALU, SRC) + i * NPU_FIELD(w, ALU, SRC_FO) +
                         j * NPU_FIELD(w, ALU, SRC_FI);
            for (uint32_t c = 0; c < dim; c++) {
                int32_t y = use_imm ? imm : m->acc[s * dim + c];
                m->acc[d * dim + c] = alu_apply(op, m->acc[d * dim + c], y);
            }
        }
    }
    return no && ni ? no * ni : 1; /* one row per cycle, no fill */
}

/* y = sat8(min(max(zp + round_shift(int64(acc) * mult, shift & 63), lo), hi)). */
static int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo,
                      int32_t hi) {
    int64_t v = zp + round_shift((int64_t)acc * mult, (uint32_t)shift & 63u);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

static uint64_t exec_req(fsim_machine *m, const uint64_t w[2]) {
    uint32_t dim = m->cfg.dim;
    const int32_t *qp = m->qp + 3 * NPU_FIELD(w, REQ, QP_IDX) * dim;
    int per_chan = (int)NPU_FIELD(w, REQ, PER_CHAN);
    int8_t *dst_mem = NPU_FIELD(w, REQ, DST_INP) ? m->inp : m->out;
    uint64_t no = NPU_FIELD(w, REQ, ITER_OUT), ni = NPU_FIELD(w, REQ, ITER_IN);
    for (uint64_t i = 0; i < no; i++) {
        for (uint64_t j = 0; j < ni; j++) {
            uint64_t s = NPU_FIELD(w, REQ, SRC_ACC) + i * NPU_FIELD(w, REQ, SRC_FO) +
                         j * NPU_FIELD(w, REQ, SRC_FI);
            uint64_t d = NPU_FIELD(w, REQ, DST) + i * NPU_FIELD(w, REQ, DST_FO) +
                         j * NPU_FIELD(w, REQ, DST_FI);
            for (uint32_t c = 0; c < dim; c++) {
                uint32_t q = per_chan ? c : 0;
                dst_mem[d * dim + c] = requant(m->acc[s * dim + c], qp[q], qp[dim + q],
                                               qp[2 * dim], qp[2 * dim + 1], qp[2 * dim + 2]);
            }
        }
    }
    return no && ni ? no * ni + EST_REQ_PIPE : 1;
}

static uint64_t exec_lut(fsim_machine *m, const uint64_t w[2]) {
    uint32_t dim = m->cfg.dim;
    const int8_t *table = m->lut + NPU_FIELD(w, LUT, TABLE) * 256u; /* 256/DIM rows of DIM */
    int8_t *dst_mem = NPU_FIELD(w, LUT, DST_INP) ? m->inp : m->out;
    uint64_t no = NPU_FIELD(w, LUT, ITER_OUT), ni = NPU_FIELD(w, LUT, ITER_IN);
    for (uint64_t i = 0; i < no; i++) {
        for (uint64_t j = 0; j < ni; j++) {
            uint64_t s = NPU_FIELD(w, LUT, SRC_ACC) + i * NPU_FIELD(w, LUT, SRC_FO) +
                         j * NPU_FIELD(w, LUT, SRC_FI);
            uint64_t d = NPU_FIELD(w, LUT, DST) + i * NPU_FIELD(w, LUT, DST_FO) +
                         j * NPU_FIELD(w, LUT, DST_FI);
            for (uint32_t c = 0; c < dim; c++)
                dst_mem[d * dim + c] = table[(uint32_t)m->acc[s * dim + c] & 0xFFu];
        }
    }
    return no && ni ? no * ni : 1;
}

/* The perf_snap record: the counters as little-endian u64, npu_stats order. */
static uint64_t exec_sync(fsim_machine *m, const uint64_t w[2], uint64_t now) {
    if (!NPU_FIELD(w, SYNC, PERF_SNAP)) return 1;
    const npu_stats *s = m->stats;
    uint64_t v[NPU_SNAP_BYTES / 8] = {now,        s->gemm_rows,    s->gemm_busy,
                                      s->ld_busy, s->st_busy,      s->ex_busy,
                                      s->dma_rd_bytes, s->dma_wr_bytes, s->insns};
    uint8_t *dst = m->dram + NPU_FIELD(w, SYNC, SNAP_ADDR);
    for (unsigned i = 0; i < NPU_SNAP_BYTES; i++) dst[i] = (uint8_t)(v[i / 8] >> (8 * (i % 8)));
    return 1 + dma_wr_cost(NPU_SNAP_BYTES, 1);
}

uint64_t fsim_execute(fsim_machine *m, const uint64_t w[2], uint64_t now) {
    switch ((uint32_t)NPU_FIELD(w, HDR, OPCODE)) {
    case NPU_OP_LOAD: return exec_load(m, w);
    case NPU_OP_STORE: return exec_store(m, w);
    case NPU_OP_GEMM: return exec_gemm(m, w);
    case NPU_OP_ALU: return exec_alu(m, w);
    case NPU_OP_REQ: return exec_req(m, w);
    case NPU_OP_LUT: return exec_lut(m, w);
    default: return exec_sync(m, w, now);
    }
}
