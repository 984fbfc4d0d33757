// Store unit: executes the store queue in order (STORE from OUT/ACC, SYNC).
// Tokens: pops exec->store ("prev"), pushes store->exec ("prev") once all of
// the instruction's DRAM writes have been acknowledged.
module npu_store_unit
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int DIM = 8,
  parameter int BUS_BYTES = 16
) (
  input  logic clk,
  input  logic rst,
  input  logic halt,
  input  logic         q_valid,
  input  logic [127:0] q_insn,
  input  logic [31:0]  q_pc,
  output logic         q_pop,
  input  logic tok_prev_avail,
  output logic pop_prev,
  output logic push_prev,
  output logic        busy,
  output logic        waiting,
  output logic        retire,
  output logic        err_valid,
  output logic [7:0]  err_code,
  output logic [31:0] err_pc,
  output logic        snap_req,
  output logic [31:0] snap_addr,
  input  logic        snap_done,
  input  logic        snap_err,
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  output logic [BUS_BYTES*8-1:0] req_wdata,
  input  logic                   resp_valid,
  input  logic                   resp_err,
  // SRAM reads: OUT rows are DIM bytes, ACC rows DIM int32
  output logic              rd_acc,
  output logic [15:0]       rd_row,
  input  logic [DIM*32-1:0] rd_data
);
  typedef enum logic [1:0] {IDLE, RUN, SNAP} state_t;
  state_t state;
  logic [127:0] cur;
  logic [31:0]  pc;

  hdr_t  h;
  dma_t  d;
  sync_t s;
  assign h = dec_hdr(q_insn);
  assign d = dec_dma(q_insn);
  assign s = dec_sync(q_insn);

  wire tok_ok = !h.pop_prev || tok_prev_avail;
  wire is_store = h.opcode == OP_STORE;
  wire take   = state == IDLE && q_valid && tok_ok && !halt;

  logic dma_busy, dma_err, acc_sel;
  wire dma_start = take && is_store;
  npu_dma_wr #(.DIM(DIM), .BUS_BYTES(BUS_BYTES)) dma (
    .clk, .rst, .start(dma_start), .cmd(d), .elem4(acc_sel), .busy(dma_busy), .err(dma_err),
    .rd_row, .rd_data, .req_valid, .req_ready, .req_addr, .req_nbytes, .req_wdata,
    .resp_valid, .resp_err);
  // elem4 must be valid in the start cycle too
  assign acc_sel = (state == IDLE) ? (d.mem_id == MEM_ACC) : rd_acc_q;
  logic rd_acc_q;
  assign rd_acc = rd_acc_q;

  hdr_t ch;
  sync_t cs;
  assign ch = dec_hdr(cur);
  assign cs = dec_sync(cur);
  wire run_done = state == RUN && !dma_busy && !halt;
  wire snap_fin = state == SNAP && snap_done;
  wire complete = (run_done && !dma_err) || (snap_fin && !snap_err) ||
                  (take && !is_store && !s.perf_snap);
  hdr_t fh;
  assign fh = (state == IDLE) ? h : ch;

  assign q_pop     = take;
  assign pop_prev  = take && h.pop_prev;
  assign push_prev = complete && fh.push_prev;
  assign retire    = complete;
  assign snap_req  = state == SNAP;
  assign snap_addr = cs.snap_addr;
  assign busy      = state != IDLE;
  assign waiting   = state == IDLE && q_valid && !tok_ok;
  assign err_valid = (run_done && dma_err) || (snap_fin && snap_err);
  assign err_code  = ERR_DRAM_RANGE;   // the only error a unit can see
  assign err_pc    = pc;

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= IDLE;
      rd_acc_q <= 1'b0;
    end else if (!halt) begin
      case (state)
        IDLE: if (take) begin
          cur <= q_insn;
          pc  <= q_pc;
          rd_acc_q <= d.mem_id == MEM_ACC;
          if (is_store) state <= RUN;
          else if (s.perf_snap) state <= SNAP;
        end
        RUN:  if (run_done) state <= IDLE;
        SNAP: if (snap_done) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end
endmodule
