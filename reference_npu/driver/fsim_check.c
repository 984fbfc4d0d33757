/* Decode-time checks of the functional model.
 *
 * Every error except DEADLOCK and WATCHDOG is a property of one instruction
 * and the configuration, so the fetch unit can detect it before dispatch.
 * That keeps the reported (code, pc) independent of timing: fsim and the RTL
 * agree on it even though they interleave the three units differently.
 * Within one instruction the first failing check wins, in this order:
 * ILLEGAL_OPCODE, ILLEGAL_MEM, ILLEGAL_FIELD, ILLEGAL_DEP, SRAM_RANGE,
 * DRAM_RANGE (TOKEN_OVERFLOW is checked by fetch afterwards).
 */
#include <stdio.h>

#include "fsim.h"

static const int DEP_QUEUE[FSIM_UNITS][4] = {
    /* pop_prev, pop_next, push_prev, push_next */
    [FSIM_LD] = {-1, FSIM_TQ_EX2LD, -1, FSIM_TQ_LD2EX},
    [FSIM_EX] = {FSIM_TQ_LD2EX, FSIM_TQ_ST2EX, FSIM_TQ_EX2LD, FSIM_TQ_EX2ST},
    [FSIM_ST] = {FSIM_TQ_EX2ST, -1, FSIM_TQ_ST2EX, -1},
};

static const char *const UNIT_NAME[FSIM_UNITS] = {"load", "exec", "store"};
static const char *const DEP_NAME[4] = {"pop_prev", "pop_next", "push_prev", "push_next"};
static const char *const MEM_NAME[8] = {"INP", "WGT", "ACC", "ACC8", "QP", "OUT", "LUT", "7"};

int fsim_dep_queue(uint32_t unit, uint32_t bit) { return DEP_QUEUE[unit][bit]; }

static uint64_t mem_rows(const npu_hw_config *c, uint32_t mem) {
    switch (mem) {
    case NPU_MEM_INP: return c->inp_rows;
    case NPU_MEM_WGT: return c->wgt_rows;
    case NPU_MEM_ACC:
    case NPU_MEM_ACC8: return c->acc_rows;
    case NPU_MEM_QP: return c->qp_rows;
    case NPU_MEM_OUT: return c->out_rows;
    case NPU_MEM_LUT: return c->lut_rows;
    default: return 0;
    }
}

/* Bytes per element (= SRAM row) in DRAM: int32 rows for ACC and QP. */
static uint64_t elem_bytes(const npu_hw_config *c, uint32_t mem) {
    return (mem == NPU_MEM_ACC || mem == NPU_MEM_QP) ? 4u * c->dim : c->dim;
}

#define FAIL(code, ...)                                                                  \
    do {                                                                                 \
        if (msg) snprintf(msg, msg_len, __VA_ARGS__);                                    \
        return (code);                                                                   \
    } while (0)

/* Rows [first, last] of a memory with `rows` rows; n == 0 means no access. */
#define CHECK_ROWS(what, n, first, last, rows)                                           \
    do {                                                                                 \
        if ((n) != 0 && (uint64_t)(last) >= (uint64_t)(rows))                            \
            FAIL(NPU_ERR_SRAM_RANGE, "%s rows %llu..%llu outside %llu rows", what,       \
                 (unsigned long long)(first), (unsigned long long)(last),                \
                 (unsigned long long)(rows));                                            \
    } while (0)

/* Last row of a 2-level loop base + i*fo + j*fi, i < n_out, j < n_in. */
static uint64_t last_row(uint64_t base, uint64_t n_out, uint64_t n_in, uint64_t fo, uint64_t fi) {
    return base + (n_out - 1) * fo + (n_in - 1) * fi;
}

static uint32_t check_dma(const fsim_machine *m, const uint64_t w[2], int is_load, char *msg,
                          size_t msg_len) {
    const npu_hw_config *c = &m->cfg;
    uint32_t mem = (uint32_t)NPU_FIELD(w, LOAD, MEM_ID);
    uint64_t ys = NPU_FIELD(w, LOAD, Y_SIZE), xs = NPU_FIELD(w, LOAD, X_SIZE);
    uint64_t stride = NPU_FIELD(w, LOAD, X_STRIDE), base = NPU_FIELD(w, LOAD, SRAM_BASE);
    uint64_t ytot = ys, xtot = xs;
    if (is_load) {
        ytot += NPU_FIELD(w, LOAD, Y_PAD0) + NPU_FIELD(w, LOAD, Y_PAD1);
        xtot += NPU_FIELD(w, LOAD, X_PAD0) + NPU_FIELD(w, LOAD, X_PAD1);
    }
    CHECK_ROWS(MEM_NAME[mem], ytot * xtot, base, base + ytot * xtot - 1, mem_rows(c, mem));
    if (ys && xs) {
        uint64_t eb = elem_bytes(c, mem), dram_base = NPU_FIELD(w, LOAD, DRAM_BASE);
        uint64_t end = dram_base + ((ys - 1) * stride + xs - 1) * eb + eb;
        if (end > m->dram_bytes)
            FAIL(NPU_ERR_DRAM_RANGE, "DRAM bytes %llu..%llu outside %llu bytes",
                 (unsigned long long)dram_base, (unsigned long long)(end - 1),
                 (unsigned long long)m->dram_bytes);
    }
    return NPU_ERR_OK;
}

/* Opcode, mem_id and field legality; sets the unit. */
static uint32_t check_kind(const uint64_t w[2], uint32_t *unit, char *msg, size_t msg_len) {
    uint32_t op = (uint32_t)NPU_FIELD(w, HDR, OPCODE);
    uint32_t mem = (uint32_t)NPU_FIELD(w, LOAD, MEM_ID);
    switch (op) {
    case NPU_OP_SYNC:
        *unit = (uint32_t)NPU_FIELD(w, SYNC, QUEUE);
        if (*unit >= FSIM_UNITS) FAIL(NPU_ERR_ILLEGAL_FIELD, "SYNC queue %u", *unit);
        return NPU_ERR_OK;
    case NPU_OP_LOAD:
        if (mem == NPU_MEM_INP || mem == NPU_MEM_WGT) *unit = FSIM_LD;
        else if (mem == NPU_MEM_ACC || mem == NPU_MEM_ACC8 || mem == NPU_MEM_QP ||
                 mem == NPU_MEM_LUT)
            *unit = FSIM_EX;
        else FAIL(NPU_ERR_ILLEGAL_MEM, "LOAD into %s", MEM_NAME[mem]);
        return NPU_ERR_OK;
    case NPU_OP_STORE:
        *unit = FSIM_ST;
        if (mem != NPU_MEM_OUT && mem != NPU_MEM_ACC)
            FAIL(NPU_ERR_ILLEGAL_MEM, "STORE from %s", MEM_NAME[mem]);
        if (NPU_FIELD(w, STORE, Y_PAD0) || NPU_FIELD(w, STORE, Y_PAD1) ||
            NPU_FIELD(w, STORE, X_PAD0) || NPU_FIELD(w, STORE, X_PAD1) ||
            NPU_FIELD(w, STORE, PAD_VAL))
            FAIL(NPU_ERR_ILLEGAL_FIELD, "STORE with padding");
        return NPU_ERR_OK;
    case NPU_OP_ALU:
        *unit = FSIM_EX;
        if (NPU_FIELD(w, ALU, ALU_OP) > NPU_ALU_MOV)
            FAIL(NPU_ERR_ILLEGAL_FIELD, "alu_op %u", (unsigned)NPU_FIELD(w, ALU, ALU_OP));
        return NPU_ERR_OK;
    case NPU_OP_GEMM:
    case NPU_OP_REQ:
    case NPU_OP_LUT: *unit = FSIM_EX; return NPU_ERR_OK;
    default: FAIL(NPU_ERR_ILLEGAL_OPCODE, "opcode %u", op);
    }
}

static uint32_t check_sram(const fsim_machine *m, const uint64_t w[2], char *msg, size_t msg_len) {
    const npu_hw_config *c = &m->cfg;
    switch ((uint32_t)NPU_FIELD(w, HDR, OPCODE)) {
    case NPU_OP_SYNC:
        if (NPU_FIELD(w, SYNC, PERF_SNAP) &&
            NPU_FIELD(w, SYNC, SNAP_ADDR) + NPU_SNAP_BYTES > m->dram_bytes)
            FAIL(NPU_ERR_DRAM_RANGE, "perf_snap at %llu outside %llu bytes",
                 (unsigned long long)NPU_FIELD(w, SYNC, SNAP_ADDR),
                 (unsigned long long)m->dram_bytes);
        return NPU_ERR_OK;
    case NPU_OP_LOAD: return check_dma(m, w, 1, msg, msg_len);
    case NPU_OP_STORE: return check_dma(m, w, 0, msg, msg_len);
    case NPU_OP_GEMM: {
        uint64_t n = NPU_FIELD(w, GEMM, ITER_OUT) * NPU_FIELD(w, GEMM, ITER_IN);
        uint64_t tile = NPU_FIELD(w, GEMM, WGT_TILE);
        CHECK_ROWS("WGT", NPU_FIELD(w, GEMM, LOAD_W), tile * c->dim, tile * c->dim + c->dim - 1,
                   c->wgt_rows);
        uint64_t b0 = NPU_FIELD(w, GEMM, INP_BASE), a0 = NPU_FIELD(w, GEMM, ACC_BASE);
        uint64_t b1 = last_row(b0, NPU_FIELD(w, GEMM, ITER_OUT), NPU_FIELD(w, GEMM, ITER_IN),
                               NPU_FIELD(w, GEMM, INP_FO), NPU_FIELD(w, GEMM, INP_FI));
        uint64_t a1 = last_row(a0, NPU_FIELD(w, GEMM, ITER_OUT), NPU_FIELD(w, GEMM, ITER_IN),
                               NPU_FIELD(w, GEMM, ACC_FO), NPU_FIELD(w, GEMM, ACC_FI));
        CHECK_ROWS("INP", n, b0, b1, c->inp_rows);
        CHECK_ROWS("ACC", n, a0, a1, c->acc_rows);
        return NPU_ERR_OK;
    }
    case NPU_OP_ALU: {
        uint64_t no = NPU_FIELD(w, ALU, ITER_OUT), ni = NPU_FIELD(w, ALU, ITER_IN);
        uint64_t d0 = NPU_FIELD(w, ALU, DST), s0 = NPU_FIELD(w, ALU, SRC);
        uint64_t d1 = last_row(d0, no, ni, NPU_FIELD(w, ALU, DST_FO), NPU_FIELD(w, ALU, DST_FI));
        uint64_t s1 = last_row(s0, no, ni, NPU_FIELD(w, ALU, SRC_FO), NPU_FIELD(w, ALU, SRC_FI));
        CHECK_ROWS("ACC", no * ni, d0, d1, c->acc_rows);
        CHECK_ROWS("ACC", no * ni * !NPU_FIELD(w, ALU, USE_IMM), s0, s1, c->acc_rows);
        return NPU_ERR_OK;
    }
    case NPU_OP_REQ: {
        uint64_t no = NPU_FIELD(w, REQ, ITER_OUT), ni = NPU_FIELD(w, REQ, ITER_IN);
        uint64_t s0 = NPU_FIELD(w, REQ, SRC_ACC), d0 = NPU_FIELD(w, REQ, DST);
        uint64_t s1 = last_row(s0, no, ni, NPU_FIELD(w, REQ, SRC_FO), NPU_FIELD(w, REQ, SRC_FI));
        uint64_t d1 = last_row(d0, no, ni, NPU_FIELD(w, REQ, DST_FO), NPU_FIELD(w, REQ, DST_FI));
        uint64_t qp = 3 * NPU_FIELD(w, REQ, QP_IDX);
        int to_inp = (int)NPU_FIELD(w, REQ, DST_INP);
        CHECK_ROWS("QP", 1, qp, qp + 2, c->qp_rows);
        CHECK_ROWS("ACC", no * ni, s0, s1, c->acc_rows);
        CHECK_ROWS(to_inp ? "INP" : "OUT", no * ni, d0, d1, to_inp ? c->inp_rows : c->out_rows);
        return NPU_ERR_OK;
    }
    case NPU_OP_LUT: {
        uint64_t no = NPU_FIELD(w, LUT, ITER_OUT), ni = NPU_FIELD(w, LUT, ITER_IN);
        uint64_t s0 = NPU_FIELD(w, LUT, SRC_ACC), d0 = NPU_FIELD(w, LUT, DST);
        uint64_t s1 = last_row(s0, no, ni, NPU_FIELD(w, LUT, SRC_FO), NPU_FIELD(w, LUT, SRC_FI));
        uint64_t d1 = last_row(d0, no, ni, NPU_FIELD(w, LUT, DST_FO), NPU_FIELD(w, LUT, DST_FI));
        uint64_t per_table = 256u / c->dim, t0 = NPU_FIELD(w, LUT, TABLE) * per_table;
        int to_inp = (int)NPU_FIELD(w, LUT, DST_INP);
        CHECK_ROWS("LUT", 1, t0, t0 + per_table - 1, c->lut_rows);
        CHECK_ROWS("ACC", no * ni, s0, s1, c->acc_rows);
        CHECK_ROWS(to_inp ? "INP" : "OUT", no * ni, d0, d1, to_inp ? c->inp_rows : c->out_rows);
        return NPU_ERR_OK;
    }
    default: return NPU_ERR_ILLEGAL_OPCODE;
    }
}

uint32_t fsim_check(const fsim_machine *m, const uint64_t w[2], uint32_t *unit, char *msg,
                    size_t msg_len) {
    uint32_t err = check_kind(w, unit, msg, msg_len);
    if (err != NPU_ERR_OK) return err;
    uint32_t deps = (uint32_t)npu_bits_get(w, NPU_HDR_POP_PREV_LSB, 4);
    for (uint32_t bit = 0; bit < 4; bit++)
        if ((deps >> bit) & 1u && DEP_QUEUE[*unit][bit] < 0)
            FAIL(NPU_ERR_ILLEGAL_DEP, "%s on the %s unit, which has no such neighbour",
                 DEP_NAME[bit], UNIT_NAME[*unit]);
    return check_sram(m, w, msg, msg_len);
}
