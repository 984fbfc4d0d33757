// Exec unit: executes the exec queue in order: GEMM (handed to the GEMM
// engine, which overlaps consecutive GEMMs), ALU, REQ, LUT, LOAD into
// ACC/ACC8/QP/LUT and SYNC. Legality and ranges were checked at fetch. Tokens: prev = load, next = store.
// A GEMM that pushes to the store unit, and any non-GEMM instruction, first
// waits for the engine to drain, so ACC holds every earlier GEMM result. A
// GEMM's push to the load unit only promises that its INP rows and weight
// tile may be overwritten, so it is sent once the GEMM has issued its last
// row, without draining (this keeps double-buffered schedules bubble-free).
module npu_exec_unit
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int DIM = 8,
  parameter int BUS_BYTES = 16,
  parameter int LUT_ROWS = 128
) (
  input  logic clk,
  input  logic rst,
  input  logic halt,
  input  logic         q_valid,
  input  logic [127:0] q_insn,
  input  logic [31:0]  q_pc,
  output logic         q_pop,
  input  logic tok_prev_avail, tok_next_avail,
  output logic pop_prev, pop_next, push_prev, push_next,
  output logic        busy,
  output logic        waiting,
  output logic        retire,
  output logic        gemm_row,
  output logic        gemm_busy,
  output logic        err_valid,
  output logic [7:0]  err_code,
  output logic [31:0] err_pc,
  output logic        snap_req,
  output logic [31:0] snap_addr,
  input  logic        snap_done,
  input  logic        snap_err,
  // memory port client (LOAD to ACC/ACC8/QP)
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  input  logic                   resp_valid,
  input  logic [BUS_BYTES*8-1:0] resp_data,
  input  logic                   resp_err,
  // SRAM ports
  output logic [15:0]       wgt_ra,   input logic [DIM*8-1:0]  wgt_rd,
  output logic [15:0]       inp_ra,   input logic [DIM*8-1:0]  inp_rd,
  output logic              inp_we,   output logic [15:0] inp_wa, output logic [DIM*8-1:0] inp_wd,
  output logic              out_we,   output logic [15:0] out_wa, output logic [DIM*8-1:0] out_wd,
  output logic              acc_we,   output logic [15:0] acc_wa, output logic [DIM*32-1:0] acc_wd,
  output logic [15:0]       acc_ra0,  input logic [DIM*32-1:0] acc_rd0,
  output logic [15:0]       acc_ra1,  input logic [DIM*32-1:0] acc_rd1,
  output logic              qp_we,    output logic [15:0] qp_wa,  output logic [DIM*32-1:0] qp_wd,
  output logic [15:0]       qp_ra,    input logic [DIM*32-1:0] qp_rd
);
  typedef enum logic [2:0] {IDLE, DRAIN, ALU, REQ_QP, REQ, LD, SNAP} state_t;  // REQ: also LUT
  state_t state;
  logic [127:0] cur;
  logic [31:0]  pc;

  hdr_t h;   gemm_t g;  alu_t a;  req_t r;  dma_t d;  sync_t s;
  assign h = dec_hdr(q_insn);
  assign g = dec_gemm(q_insn);
  assign a = dec_alu(q_insn);
  assign r = dec_req(q_insn);
  assign d = dec_dma(q_insn);
  assign s = dec_sync(q_insn);
  hdr_t ch;  alu_t ca;  req_t cr;  sync_t cs;  dma_t cd;
  assign ch = dec_hdr(cur);
  assign ca = dec_alu(cur);
  assign cr = dec_req(cur);
  assign cs = dec_sync(cur);
  assign cd = dec_dma(cur);

  // ---------------- GEMM engine ----------------
  logic g_ready, g_idle, wb_en, wb_accum, g_push;
  logic [15:0] wb_row;
  logic [DIM*32-1:0] wb_data;
  wire tok_ok  = (!h.pop_prev || tok_prev_avail) && (!h.pop_next || tok_next_avail);
  wire head    = state == IDLE && q_valid && tok_ok && !halt;
  wire is_gemm = h.opcode == OP_GEMM;
  wire take_g  = head && is_gemm && g_ready;
  wire take_o  = head && !is_gemm && g_idle;
  wire take    = take_g || take_o;

  npu_gemm #(.DIM(DIM)) gemm (
    .clk, .rst, .cmd_valid(take_g), .cmd_ready(g_ready), .cmd(g),
    .cmd_push(h.push_prev && !h.push_next), .issued_push(g_push), .idle(g_idle),
    .row_issued(gemm_row), .wgt_row(wgt_ra), .wgt_data(wgt_rd), .inp_row(inp_ra),
    .inp_data(inp_rd), .wb_en, .wb_accum, .wb_row, .wb_data);
  assign gemm_busy = !g_idle;

  // ---------------- ALU / REQ loops ----------------
  logic it_start, it_step, it_last, it_empty;
  logic [15:0] it_p, it_q;
  wire start_req = take_o && (h.opcode == OP_REQ || h.opcode == OP_LUT);
  always_comb begin
    it_start = take_o && (h.opcode == OP_ALU || start_req);
    it_step  = (state == ALU || state == REQ) && !halt;
  end
  // p = destination, q = source
  npu_iter2 iter (
    .clk, .start(it_start),
    .n_out(start_req ? r.iter_out : a.iter_out), .n_in(start_req ? r.iter_in : a.iter_in),
    .base_p(start_req ? 16'(r.dst) : 16'(a.dst)),
    .fo_p(start_req ? 16'(r.dst_fo) : 16'(a.dst_fo)),
    .fi_p(start_req ? 16'(r.dst_fi) : 16'(a.dst_fi)),
    .base_q(start_req ? 16'(r.src) : 16'(a.src)),
    .fo_q(start_req ? 16'(r.src_fo) : 16'(a.src_fo)),
    .fi_q(start_req ? 16'(r.src_fi) : 16'(a.src_fi)),
    .step(it_step), .p(it_p), .q(it_q), .last(it_last), .empty(it_empty));

  logic [DIM*32-1:0] alu_b, alu_y;
  always_comb begin
    for (int e = 0; e < DIM; e++)
      alu_b[32*e +: 32] = ca.use_imm ? {{16{ca.imm[15]}}, ca.imm} : acc_rd1[32*e +: 32];
  end
  npu_alu #(.DIM(DIM)) alu (.op(ca.alu_op), .a(acc_rd0), .b(alu_b), .y(alu_y));

  logic [DIM*32-1:0] qp_m, qp_s, qp_z;
  logic [1:0] qp_k;
  logic [DIM*8-1:0] rq_y;
  npu_requant #(.DIM(DIM)) requant (
    .acc(acc_rd1), .mult(qp_m), .shift(qp_s), .zlh(qp_z), .per_chan(cr.per_chan), .y(rq_y));
  assign qp_ra = 16'(cr.qp_idx) * 16'd3 + 16'(qp_k);

  // LUT: lane c reads byte (acc[c] & 0xFF) of table cr.qp_idx
  logic [DIM*8-1:0] lut_y;
  logic lut_we;
  npu_lut_mem #(.DIM(DIM), .ROWS(LUT_ROWS)) lut (
    .clk, .rst, .we(lut_we), .wa(ld_row), .wd(ld_data[DIM*8-1:0]),
    .table_id(cr.qp_idx[3:0]), .idx(acc_rd1), .y(lut_y));
  wire [DIM*8-1:0] xf_y = cr.is_lut ? lut_y : rq_y;

  // ---------------- exec-side DMA (ACC / ACC8 / QP) ----------------
  logic ld_busy, ld_err, ld_we;
  logic [15:0] ld_row;
  logic [DIM*32-1:0] ld_data, ld_row_data;
  wire ld_start = take_o && h.opcode == OP_LOAD;
  wire [2:0] ld_mem = (state == IDLE) ? d.mem_id : cd.mem_id;
  wire ld_elem4 = ld_mem == MEM_ACC || ld_mem == MEM_QP;
  npu_dma_rd #(.DIM(DIM), .BUS_BYTES(BUS_BYTES)) dma (
    .clk, .rst, .start(ld_start), .cmd(d), .elem4(ld_elem4), .busy(ld_busy), .err(ld_err),
    .req_valid, .req_ready, .req_addr, .req_nbytes, .resp_valid, .resp_data, .resp_err,
    .wr_en(ld_we), .wr_row(ld_row), .wr_data(ld_data));
  always_comb begin
    for (int e = 0; e < DIM; e++)   // ACC8: int8 sign-extended into int32
      ld_row_data[32*e +: 32] = (cd.mem_id == MEM_ACC8) ?
          {{24{ld_data[8*e+7]}}, ld_data[8*e +: 8]} : ld_data[32*e +: 32];
  end

  // ---------------- SRAM port muxing ----------------
  logic [DIM*32-1:0] wb_sum;
  always_comb begin
    for (int e = 0; e < DIM; e++)
      wb_sum[32*e +: 32] = (wb_accum ? acc_rd0[32*e +: 32] : 32'd0) + wb_data[32*e +: 32];
  end
  wire alu_go = state == ALU && !halt && !it_empty;
  wire req_go = state == REQ && !halt && !it_empty;
  assign acc_ra0 = wb_en ? wb_row : it_p;
  assign acc_ra1 = it_q;
  assign acc_we  = wb_en || alu_go || (ld_we && (cd.mem_id == MEM_ACC || cd.mem_id == MEM_ACC8));
  assign acc_wa  = wb_en ? wb_row : alu_go ? it_p : ld_row;
  assign acc_wd  = wb_en ? wb_sum : alu_go ? alu_y : ld_row_data;
  assign qp_we   = ld_we && cd.mem_id == MEM_QP;
  assign lut_we  = ld_we && cd.mem_id == MEM_LUT;
  assign qp_wa   = ld_row;
  assign qp_wd   = ld_data;
  assign out_we  = req_go && !cr.dst_inp;
  assign out_wa  = it_p;
  assign out_wd  = xf_y;
  assign inp_we  = req_go && cr.dst_inp;
  assign inp_wa  = it_p;
  assign inp_wd  = xf_y;

  // ---------------- completion, tokens, status ----------------
  wire loop_done = (state == ALU || state == REQ) && !halt && (it_empty || it_last);
  wire ld_done   = state == LD && !ld_busy && !halt;
  wire drained   = state == DRAIN && g_idle && !halt;
  wire snap_fin  = state == SNAP && snap_done;
  wire sync_now  = take_o && h.opcode == OP_SYNC && !s.perf_snap;
  wire gemm_now  = take_g && !h.push_next;   // its push_prev comes from the engine
  wire complete  = loop_done || (ld_done && !ld_err) || drained || (snap_fin && !snap_err) || sync_now ||
                   gemm_now;
  hdr_t fh;
  assign fh = (state == IDLE) ? h : ch;

  assign q_pop     = take;
  assign pop_prev  = take && h.pop_prev;
  assign pop_next  = take && h.pop_next;
  assign push_prev = (complete && fh.push_prev && !gemm_now) || g_push;
  assign push_next = complete && fh.push_next;
  assign retire    = complete;
  assign snap_req  = state == SNAP;
  assign snap_addr = cs.snap_addr;
  assign busy      = state != IDLE || !g_idle;
  assign waiting   = state == IDLE && q_valid && !tok_ok;
  assign err_valid = (ld_done && ld_err) || (snap_fin && snap_err);
  assign err_code  = ERR_DRAM_RANGE;   // the only error a unit can see
  assign err_pc    = pc;

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= IDLE;
      qp_k <= '0;
    end else if (!halt) begin
      case (state)
        IDLE: if (take) begin
          cur <= q_insn;
          pc  <= q_pc;
          qp_k <= '0;
          case (h.opcode)
            OP_GEMM: if (h.push_next) state <= DRAIN;
            OP_ALU:  state <= ALU;
            OP_REQ:  state <= REQ_QP;
            OP_LUT:  state <= REQ;
            OP_LOAD: state <= LD;
            OP_SYNC: if (s.perf_snap) state <= SNAP;
            default: state <= IDLE;
          endcase
        end
        REQ_QP: begin
          case (qp_k)
            2'd0: qp_m <= qp_rd;
            2'd1: qp_s <= qp_rd;
            default: qp_z <= qp_rd;
          endcase
          qp_k <= qp_k + 1'b1;
          if (qp_k == 2'd2) state <= REQ;
        end
        ALU, REQ: if (loop_done) state <= IDLE;
        LD:    if (ld_done) state <= IDLE;
        DRAIN: if (g_idle) state <= IDLE;
        SNAP:  if (snap_done) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end
endmodule
