/* The encoders emit snippets call: checked fields, row loops split into instructions.
 *
 * The hardware streams up to 1023 rows with a constant step (VDOT, REQ) or contiguous
 * rows (VALU); the code generator's two-level loops (iter_out x iter_in with outer and
 * inner strides) become one instruction per outer iteration when the inner loop fits,
 * one per row otherwise.
 */
#include <stdlib.h>

#include "ex_ctx.h"

uint32_t ex_program_size(const ex_ctx *ctx) { return ctx->n_prog; }
void ex_program_clear(ex_ctx *ctx) { ctx->n_prog = 0; }

int ex_raw(ex_ctx *ctx, uint64_t word) {
    if (ctx->n_prog == ctx->cap_prog) {
        uint32_t cap = ctx->cap_prog ? 2 * ctx->cap_prog : 1024;
        uint64_t *grown = realloc(ctx->prog, cap * sizeof *grown);
        if (!grown) return ex_fail(ctx, "out of memory for %u instructions", cap), -1;
        ctx->prog = grown;
        ctx->cap_prog = cap;
    }
    ctx->prog[ctx->n_prog++] = word;
    return 0;
}

int ex_nop(ex_ctx *ctx) { return ex_raw(ctx, ex_enc_nop()); }

int ex_snap(ex_ctx *ctx, uint32_t dram) { return ex_raw(ctx, ex_enc_snap(dram)); }

/* Fails naming the encoder and field when value > max. */
static int fits(ex_ctx *ctx, const char *what, const char *field, uint64_t value, uint64_t max) {
    if (value <= max) return 1;
    ex_fail(ctx, "%s: %s = %llu does not fit its field (max %llu)", what, field,
            (unsigned long long)value, (unsigned long long)max);
    return 0;
}

static int dma(ex_ctx *ctx, int load, uint32_t mem, uint32_t sram, uint32_t dram, uint32_t rows,
               int widen) {
    const char *what = load ? "ex_load" : "ex_store";
    uint32_t words = ex_row_words(&ctx->cfg, mem, (uint32_t)widen);
    if (!fits(ctx, what, "mem", mem, EX_N_MEMS - 1)) return -1;
    uint32_t mark = ctx->n_prog;
    for (uint32_t done = 0; done < rows;) {
        uint32_t chunk = rows - done > EX_LOAD_ROWS_MAX ? EX_LOAD_ROWS_MAX : rows - done;
        uint64_t at = dram + (uint64_t)done * words * 4;
        if (!fits(ctx, what, "sram", (uint64_t)sram + done, EX_LOAD_SRAM_MAX) ||
            !fits(ctx, what, "dram", at, EX_LOAD_DRAM_MAX))
            return ctx->n_prog = mark, -1;
        uint64_t w = load ? ex_enc_load(at, sram + done, chunk, (uint64_t)widen, mem)
                          : ex_enc_store(at, sram + done, chunk, 0, mem);
        if (ex_raw(ctx, w)) return ctx->n_prog = mark, -1;
        done += chunk;
    }
    return 0;
}

int ex_load(ex_ctx *ctx, uint32_t mem, uint32_t sram, uint32_t dram, uint32_t rows, int widen) {
    return dma(ctx, 1, mem, sram, dram, rows, widen != 0);
}

int ex_store(ex_ctx *ctx, uint32_t mem, uint32_t sram, uint32_t dram, uint32_t rows) {
    return dma(ctx, 0, mem, sram, dram, rows, 0);
}

int ex_fill(ex_ctx *ctx, uint32_t mem, uint32_t sram, uint32_t rows, int32_t value) {
    if (!fits(ctx, "ex_fill", "mem", mem, EX_N_MEMS - 1)) return -1;
    uint32_t mark = ctx->n_prog;
    for (uint32_t done = 0; done < rows;) {
        uint32_t chunk = rows - done > EX_FILL_ROWS_MAX ? EX_FILL_ROWS_MAX : rows - done;
        if (!fits(ctx, "ex_fill", "sram", (uint64_t)sram + done, EX_FILL_SRAM_MAX) ||
            ex_raw(ctx, ex_enc_fill((uint32_t)value, sram + done, chunk, mem)))
            return ctx->n_prog = mark, -1;
        done += chunk;
    }
    return 0;
}

/* One streaming instruction per outer iteration when the inner loop fits the fields
 * (rows <= max_rows, both steps <= max_step), else one per row. emit(ctx, a, b, rows,
 * a_step, b_step) queues one instruction. */
typedef int (*stream_fn)(ex_ctx *ctx, const void *args, uint64_t a, uint64_t b, uint64_t rows,
                         uint64_t a_step, uint64_t b_step);

static int stream(ex_ctx *ctx, const void *args, stream_fn emit, uint64_t max_rows,
                  uint64_t max_step, uint32_t a0, uint32_t b0, uint32_t iter_out,
                  uint32_t iter_in, uint32_t a_fo, uint32_t a_fi, uint32_t b_fo, uint32_t b_fi) {
    uint32_t mark = ctx->n_prog;
    int whole = iter_in <= max_rows && a_fi <= max_step && b_fi <= max_step;
    for (uint64_t o = 0; o < iter_out; o++) {
        uint64_t a = a0 + o * a_fo, b = b0 + o * b_fo;
        int rc = whole ? emit(ctx, args, a, b, iter_in, a_fi, b_fi) : 0;
        for (uint64_t i = 0; !whole && !rc && i < iter_in; i++)
            rc = emit(ctx, args, a + i * a_fi, b + i * b_fi, 1, 0, 0);
        if (rc) return ctx->n_prog = mark, -1;
    }
    return 0;
}

typedef struct { uint32_t init, tile; } vdot_args;

static int emit_vdot(ex_ctx *ctx, const void *p, uint64_t a, uint64_t b, uint64_t rows,
                     uint64_t a_step, uint64_t b_step) {
    const vdot_args *v = p;
    if (!fits(ctx, "ex_vdot", "tile", v->tile, EX_VDOT_TILE_MAX) ||
        !fits(ctx, "ex_vdot", "a_row", a, EX_VDOT_A_ROW_MAX) ||
        !fits(ctx, "ex_vdot", "p_row", b, EX_VDOT_P_ROW_MAX))
        return -1;
    return ex_raw(ctx, ex_enc_vdot(b_step, b, v->tile, a_step, a, rows, v->init));
}

int ex_vdot(ex_ctx *ctx, int init, uint32_t tile, uint32_t a_row, uint32_t p_row,
            uint32_t iter_out, uint32_t iter_in, uint32_t a_fo, uint32_t a_fi,
            uint32_t p_fo, uint32_t p_fi) {
    vdot_args v = {init != 0, tile};
    return stream(ctx, &v, emit_vdot, EX_VDOT_ROWS_MAX, EX_VDOT_A_STEP_MAX, a_row, p_row,
                  iter_out, iter_in, a_fo, a_fi, p_fo, p_fi);
}

typedef struct { uint32_t per_chan, desc; } req_args;

static int emit_req(ex_ctx *ctx, const void *p, uint64_t s, uint64_t d, uint64_t rows,
                    uint64_t s_step, uint64_t d_step) {
    const req_args *r = p;
    if (!fits(ctx, "ex_req", "desc", r->desc, EX_REQ_DESC_MAX) ||
        !fits(ctx, "ex_req", "src", s, EX_REQ_SRC_MAX) ||
        !fits(ctx, "ex_req", "dst", d, EX_REQ_DST_MAX))
        return -1;
    return ex_raw(ctx, ex_enc_req(d_step, d, r->desc, s_step, s, rows, r->per_chan));
}

int ex_req(ex_ctx *ctx, int per_chan, uint32_t desc, uint32_t src, uint32_t dst,
           uint32_t iter_out, uint32_t iter_in, uint32_t s_fo, uint32_t s_fi,
           uint32_t d_fo, uint32_t d_fi) {
    req_args r = {per_chan != 0, desc};
    return stream(ctx, &r, emit_req, EX_REQ_ROWS_MAX, EX_REQ_S_STEP_MAX, src, dst, iter_out,
                  iter_in, s_fo, s_fi, d_fo, d_fi);
}

typedef struct { uint32_t fn; int32_t imm; } valu_args;

static int emit_valu(ex_ctx *ctx, const void *p, uint64_t d, uint64_t s, uint64_t rows,
                     uint64_t d_step, uint64_t s_step) {
    const valu_args *v = p;
    (void)d_step, (void)s_step; /* stream() only passes steps of 1 (or rows of 1) */
    if (!fits(ctx, "ex_valu", "fn", v->fn, EX_VALU_FN_MAX) ||
        !fits(ctx, "ex_valu", "dst", d, EX_VALU_DST_MAX) ||
        !fits(ctx, "ex_valu", "src", v->fn < EX_FN_ADDI ? s : 0, EX_VALU_SRC_MAX))
        return -1;
    return ex_raw(ctx, ex_enc_valu((uint32_t)v->imm, v->fn < EX_FN_ADDI ? s : 0, d, rows, v->fn));
}

int ex_valu(ex_ctx *ctx, uint32_t fn, uint32_t dst, uint32_t src, int32_t imm,
            uint32_t iter_out, uint32_t iter_in, uint32_t d_fo, uint32_t d_fi,
            uint32_t s_fo, uint32_t s_fi) {
    if (imm < -32768 || imm > 32767)
        return ex_fail(ctx, "ex_valu: imm = %d does not fit 16 signed bits", imm), -1;
    valu_args v = {fn, imm};
    /* Contiguous rows only: an inner stride other than 1 goes row by row. For ADDI/MAXI
     * the source stride does not matter. */
    int contiguous = d_fi == 1 && (s_fi == 1 || fn >= EX_FN_ADDI);
    return stream(ctx, &v, emit_valu, contiguous ? EX_VALU_ROWS_MAX : 1, 1, dst, src,
                  iter_out, iter_in, d_fo, contiguous ? 1 : d_fi, s_fo, contiguous ? 1 : s_fi);
}
