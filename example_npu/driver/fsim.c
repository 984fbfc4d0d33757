/* The example NPU's functional model: bit-exact results and exact counters.
 *
 * The machine is in order: one instruction finishes before the next is fetched, so
 * the model is a loop over instructions. Timing mirrors the RTL's state machine
 * (rtl/ex_core.sv) with its one-cycle DRAM port, so the cycle counts agree exactly:
 *   every instruction: 2 fetch cycles + 1 execute cycle per row (at least 1);
 *   LOAD/STORE of T words: 2 + 1 (set-up) + T + 1 (one word per cycle, plus the last
 *   word's response), SNAP like a STORE of its record; a run ends with one more fetch
 *   cycle that finds no instruction.
 */
#include <stdlib.h>
#include <string.h>

#include "ex_types.h"

typedef struct {
    const ex_config *cfg;
    int8_t *act, *wts, *res;
    int32_t *psum, *prm;
    uint8_t *dram;
    ex_status *st;
} machine;

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Last row an instruction touches is base + (rows - 1) * step; rows > 0. */
static int out_of(uint64_t base, uint64_t rows, uint64_t step, uint32_t limit) {
    return base + (rows - 1) * step >= limit;
}

/* The machine error of instruction w (checked before it changes anything), 0 if none.
 * Order of precedence: opcode, memory id, rows, DRAM alignment, DRAM range. */
static int check(const ex_config *c, uint64_t w) {
    uint32_t op = (uint32_t)EX_OPCODE(w);
    switch (op) {
    case EX_OP_NOP: return 0;
    case EX_OP_LOAD: case EX_OP_STORE: {
        uint32_t mem = (uint32_t)EX_GET(w, LOAD, MEM), widen = (uint32_t)EX_GET(w, LOAD, WIDEN);
        uint64_t rows = EX_GET(w, LOAD, ROWS), dram = EX_GET(w, LOAD, DRAM);
        if (mem >= EX_N_MEMS || (widen && (mem != EX_MEM_PSUM || op == EX_OP_STORE)))
            return EX_ERR_BAD_MEM;
        if (rows == 0) return 0;
        if (out_of(EX_GET(w, LOAD, SRAM), rows, 1, ex_mem_rows(c, mem))) return EX_ERR_ROW_RANGE;
        if (dram % 4) return EX_ERR_DRAM_ALIGN;
        if (dram + rows * ex_row_words(c, mem, widen) * 4 > c->dram_bytes) return EX_ERR_DRAM_RANGE;
        return 0;
    }
    case EX_OP_FILL: {
        uint32_t mem = (uint32_t)EX_GET(w, FILL, MEM);
        uint64_t rows = EX_GET(w, FILL, ROWS);
        if (mem >= EX_N_MEMS) return EX_ERR_BAD_MEM;
        if (rows && out_of(EX_GET(w, FILL, SRAM), rows, 1, ex_mem_rows(c, mem)))
            return EX_ERR_ROW_RANGE;
        return 0;
    }
    case EX_OP_VDOT: {
        uint64_t rows = EX_GET(w, VDOT, ROWS);
        if (rows && (out_of(EX_GET(w, VDOT, A_ROW), rows, EX_GET(w, VDOT, A_STEP), c->act_rows) ||
                     out_of(EX_GET(w, VDOT, P_ROW), rows, EX_GET(w, VDOT, P_STEP), c->psum_rows) ||
                     EX_GET(w, VDOT, TILE) >= c->wts_rows / c->n))
            return EX_ERR_ROW_RANGE;
        return 0;
    }
    case EX_OP_REQ: {
        uint64_t rows = EX_GET(w, REQ, ROWS);
        if (rows && (out_of(EX_GET(w, REQ, SRC), rows, EX_GET(w, REQ, S_STEP), c->psum_rows) ||
                     out_of(EX_GET(w, REQ, DST), rows, EX_GET(w, REQ, D_STEP), c->res_rows) ||
                     EX_GET(w, REQ, DESC) + 2 >= c->prm_rows))
            return EX_ERR_ROW_RANGE;
        return 0;
    }
    case EX_OP_VALU: {
        uint64_t rows = EX_GET(w, VALU, ROWS);
        int uses_src = EX_GET(w, VALU, FN) < EX_FN_ADDI;
        if (rows && (out_of(EX_GET(w, VALU, DST), rows, 1, c->psum_rows) ||
                     (uses_src && out_of(EX_GET(w, VALU, SRC), rows, 1, c->psum_rows))))
            return EX_ERR_ROW_RANGE;
        return 0;
    }
    case EX_OP_SNAP: {
        uint64_t dram = EX_GET(w, SNAP, DRAM);
        if (dram % 4) return EX_ERR_DRAM_ALIGN;
        if (dram + 8 * EX_N_COUNTERS > c->dram_bytes) return EX_ERR_DRAM_RANGE;
        return 0;
    }
    default: return EX_ERR_BAD_OPCODE;
    }
}

/* Word j of memory row r, as LOAD/STORE move it (little-endian lanes; widen: 4 int8
 * lanes from one word into 4 int32 lanes). */
static void put_word(machine *m, uint32_t mem, uint32_t widen, uint32_t r, uint32_t j, uint32_t v) {
    uint32_t n = m->cfg->n, k = m->cfg->k;
    switch (mem) {
    case EX_MEM_ACT: wr32((uint8_t *)&m->act[r * k + 4 * j], v); break;
    case EX_MEM_WTS: wr32((uint8_t *)&m->wts[r * k + 4 * j], v); break;
    case EX_MEM_RES: wr32((uint8_t *)&m->res[r * n + 4 * j], v); break;
    case EX_MEM_PRM: m->prm[r * n + j] = (int32_t)v; break;
    default:
        if (!widen) { m->psum[r * n + j] = (int32_t)v; break; }
        for (uint32_t b = 0; b < 4; b++) m->psum[r * n + 4 * j + b] = (int8_t)(v >> (8 * b));
    }
}

static uint32_t get_word(const machine *m, uint32_t mem, uint32_t r, uint32_t j) {
    uint32_t n = m->cfg->n, k = m->cfg->k;
    switch (mem) {
    case EX_MEM_ACT: return rd32((const uint8_t *)&m->act[r * k + 4 * j]);
    case EX_MEM_WTS: return rd32((const uint8_t *)&m->wts[r * k + 4 * j]);
    case EX_MEM_RES: return rd32((const uint8_t *)&m->res[r * n + 4 * j]);
    case EX_MEM_PRM: return (uint32_t)m->prm[r * n + j];
    default: return (uint32_t)m->psum[r * n + j];
    }
}

/* floor((p + 2^(s-1)) / 2^s) for s > 0: round half up, without overflowing. */
static int64_t round_shift(int64_t p, uint32_t s) {
    return s == 0 ? p : (p >> s) + ((p >> (s - 1)) & 1);
}

/* int8(min(max(zp + round_shift(x * mult, shift & 63), lo), hi)), saturated to int8:
 * the clamp is max then min, so hi wins when lo > hi (the semantics' clamp). */
static int8_t requant(int32_t x, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    int64_t v = zp + round_shift((int64_t)x * mult, (uint32_t)shift & 63u);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

static int32_t valu(uint32_t fn, int32_t d, int32_t s, int32_t imm) {
    uint32_t ud = (uint32_t)d, us = (uint32_t)s; /* wrap, as the hardware does */
    switch (fn) {
    case EX_FN_ADD: return (int32_t)(ud + us);
    case EX_FN_SUB: return (int32_t)(ud - us);
    case EX_FN_MUL: return (int32_t)(ud * us);
    case EX_FN_MAX: return d > s ? d : s;
    case EX_FN_MIN: return d < s ? d : s;
    case EX_FN_MOV: return s;
    case EX_FN_ADDI: return (int32_t)(ud + (uint32_t)imm);
    default: return d > imm ? d : imm; /* MAXI */
    }
}

/* Executes a checked instruction; returns its execute cycles (after the 2 fetch cycles). */
static uint64_t execute(machine *m, uint64_t w) {
    const ex_config *c = m->cfg;
    uint64_t *cnt = m->st->counters;
    uint32_t n = c->n, k = c->k;
    switch ((uint32_t)EX_OPCODE(w)) {
    case EX_OP_LOAD: case EX_OP_STORE: {
        int load = EX_OPCODE(w) == EX_OP_LOAD;
        uint32_t mem = (uint32_t)EX_GET(w, LOAD, MEM), widen = (uint32_t)EX_GET(w, LOAD, WIDEN);
        uint32_t sram = (uint32_t)EX_GET(w, LOAD, SRAM), rows = (uint32_t)EX_GET(w, LOAD, ROWS);
        uint32_t words = ex_row_words(c, mem, widen), dram = (uint32_t)EX_GET(w, LOAD, DRAM);
        uint64_t t = (uint64_t)rows * words;
        for (uint64_t i = 0; i < t; i++) {
            uint8_t *p = m->dram + dram + 4 * i;
            uint32_t r = sram + (uint32_t)(i / words), j = (uint32_t)(i % words);
            if (load) put_word(m, mem, widen, r, j, rd32(p));
            else wr32(p, get_word(m, mem, r, j));
        }
        if (t == 0) return 1;
        cnt[load ? EX_CNT_DMA_RD_BYTES : EX_CNT_DMA_WR_BYTES] += 4 * t;
        cnt[EX_CNT_DMA_BUSY] += t + 1;
        return t + 2;
    }
    case EX_OP_FILL: {
        uint32_t mem = (uint32_t)EX_GET(w, FILL, MEM), rows = (uint32_t)EX_GET(w, FILL, ROWS);
        uint32_t sram = (uint32_t)EX_GET(w, FILL, SRAM), v = (uint32_t)EX_GET(w, FILL, VALUE);
        for (uint32_t r = sram; r < sram + rows; r++) {
            for (uint32_t l = 0; l < (mem <= EX_MEM_WTS ? k : n); l++) {
                switch (mem) {
                case EX_MEM_ACT: m->act[r * k + l] = (int8_t)v; break;
                case EX_MEM_WTS: m->wts[r * k + l] = (int8_t)v; break;
                case EX_MEM_RES: m->res[r * n + l] = (int8_t)v; break;
                case EX_MEM_PRM: m->prm[r * n + l] = (int32_t)v; break;
                default: m->psum[r * n + l] = (int32_t)v;
                }
            }
        }
        cnt[EX_CNT_VALU_ROWS] += rows;
        return rows ? rows : 1;
    }
    case EX_OP_VDOT: {
        uint32_t rows = (uint32_t)EX_GET(w, VDOT, ROWS), init = (uint32_t)EX_GET(w, VDOT, INIT);
        const int8_t *tile = m->wts + EX_GET(w, VDOT, TILE) * n * k;
        for (uint32_t i = 0; i < rows; i++) {
            const int8_t *a = m->act + (EX_GET(w, VDOT, A_ROW) + i * EX_GET(w, VDOT, A_STEP)) * k;
            int32_t *p = m->psum + (EX_GET(w, VDOT, P_ROW) + i * EX_GET(w, VDOT, P_STEP)) * n;
            for (uint32_t l = 0; l < n; l++) {
                uint32_t acc = init ? 0u : (uint32_t)p[l];
                for (uint32_t j = 0; j < k; j++) acc += (uint32_t)(a[j] * tile[l * k + j]);
                p[l] = (int32_t)acc;
            }
        }
        cnt[EX_CNT_DOT_ROWS] += rows;
        return rows ? rows : 1;
    }
    case EX_OP_REQ: {
        uint32_t rows = (uint32_t)EX_GET(w, REQ, ROWS), per_chan = (uint32_t)EX_GET(w, REQ, PER_CHAN);
        const int32_t *d = m->prm + EX_GET(w, REQ, DESC) * n; /* mult, shift, {zp, lo, hi} */
        for (uint32_t i = 0; i < rows; i++) {
            const int32_t *x = m->psum + (EX_GET(w, REQ, SRC) + i * EX_GET(w, REQ, S_STEP)) * n;
            int8_t *y = m->res + (EX_GET(w, REQ, DST) + i * EX_GET(w, REQ, D_STEP)) * n;
            for (uint32_t l = 0; l < n; l++) {
                uint32_t q = per_chan ? l : 0;
                y[l] = requant(x[l], d[q], d[n + q], d[2 * n], d[2 * n + 1], d[2 * n + 2]);
            }
        }
        cnt[EX_CNT_VALU_ROWS] += rows;
        return rows ? rows : 1;
    }
    case EX_OP_VALU: {
        uint32_t rows = (uint32_t)EX_GET(w, VALU, ROWS), fn = (uint32_t)EX_GET(w, VALU, FN);
        int32_t imm = (int16_t)EX_GET(w, VALU, IMM);
        for (uint32_t i = 0; i < rows; i++) {
            int32_t *d = m->psum + (EX_GET(w, VALU, DST) + i) * n;
            /* A row past the end is read only by ADDI/MAXI, which ignore it. */
            uint64_t s_row = EX_GET(w, VALU, SRC) + i;
            const int32_t *s = fn < EX_FN_ADDI ? m->psum + s_row * n : d;
            for (uint32_t l = 0; l < n; l++) d[l] = valu(fn, d[l], s[l], imm);
        }
        cnt[EX_CNT_VALU_ROWS] += rows;
        return rows ? rows : 1;
    }
    case EX_OP_SNAP: { /* the record as of now (after SNAP's fetch); it counts in no
                        * DMA counter, so snapshots do not disturb what they measure */
        uint8_t *p = m->dram + EX_GET(w, SNAP, DRAM);
        for (uint32_t i = 0; i < EX_N_COUNTERS; i++) {
            wr32(p + 8 * i, (uint32_t)cnt[i]);
            wr32(p + 8 * i + 4, (uint32_t)(cnt[i] >> 32));
        }
        return 2 * EX_N_COUNTERS + 2;
    }
    default: return 1; /* NOP */
    }
}

int ex_fsim_run(const ex_config *cfg, const uint64_t *prog, uint32_t n_insns, uint8_t *dram,
                ex_status *status) {
    if (!cfg || !status || (n_insns && !prog) || (cfg->dram_bytes && !dram)) return -1;
    memset(status, 0, sizeof *status);
    machine m = {.cfg = cfg, .dram = dram, .st = status};
    /* SRAMs start zeroed, as a freshly built RTL model does. */
    m.act = calloc((size_t)cfg->act_rows * cfg->k, 1);
    m.wts = calloc((size_t)cfg->wts_rows * cfg->k, 1);
    m.res = calloc((size_t)cfg->res_rows * cfg->n, 1);
    m.psum = calloc((size_t)cfg->psum_rows * cfg->n, 4);
    m.prm = calloc((size_t)cfg->prm_rows * cfg->n, 4);
    int rc = m.act && m.wts && m.res && m.psum && m.prm ? 0 : -1;
    uint64_t *cnt = status->counters;
    for (uint32_t pc = 0; rc == 0 && pc < n_insns; pc++) {
        int err = check(cfg, prog[pc]);
        cnt[EX_CNT_CYCLES] += 2; /* fetch */
        if (err) {
            cnt[EX_CNT_CYCLES] += 1;
            status->error = err;
            status->error_pc = pc;
            break;
        }
        cnt[EX_CNT_CYCLES] += execute(&m, prog[pc]);
        cnt[EX_CNT_INSNS] += 1;
    }
    if (rc == 0 && status->error == 0) cnt[EX_CNT_CYCLES] += 1; /* the fetch that finds the end */
    free(m.act); free(m.wts); free(m.res); free(m.psum); free(m.prm);
    return rc;
}
