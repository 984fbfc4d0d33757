// Load unit: executes the load queue in order (LOAD to INP/WGT, SYNC).
// Tokens: pops exec->load ("next"), pushes load->exec ("next"). An
// instruction pops its tokens before it starts and pushes after it has
// finished writing the SRAM.
module npu_load_unit
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int DIM = 8,
  parameter int BUS_BYTES = 16
) (
  input  logic clk,
  input  logic rst,
  input  logic halt,
  // instruction queue head
  input  logic         q_valid,
  input  logic [127:0] q_insn,
  input  logic [31:0]  q_pc,
  output logic         q_pop,
  // tokens
  input  logic tok_next_avail,
  output logic pop_next,
  output logic push_next,
  // status
  output logic        busy,
  output logic        waiting,     // head blocked on a token
  output logic        retire,
  output logic        err_valid,
  output logic [7:0]  err_code,
  output logic [31:0] err_pc,
  // perf snapshot requests
  output logic        snap_req,
  output logic [31:0] snap_addr,
  input  logic        snap_done,
  input  logic        snap_err,
  // memory port client
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  input  logic                   resp_valid,
  input  logic [BUS_BYTES*8-1:0] resp_data,
  input  logic                   resp_err,
  // SRAM writes
  output logic                 inp_we,
  output logic                 wgt_we,
  output logic [15:0]          wr_row,
  output logic [DIM*8-1:0]     wr_data
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

  wire tok_ok = !h.pop_next || tok_next_avail;
  wire is_load = h.opcode == OP_LOAD;
  wire take   = state == IDLE && q_valid && tok_ok && !halt;

  logic dma_start, dma_busy, dma_err, dma_we;
  logic [DIM*32-1:0] dma_data;
  assign dma_start = take && is_load;
  npu_dma_rd #(.DIM(DIM), .BUS_BYTES(BUS_BYTES)) dma (
    .clk, .rst, .start(dma_start), .cmd(d), .elem4(1'b0), .busy(dma_busy), .err(dma_err),
    .req_valid, .req_ready, .req_addr, .req_nbytes, .resp_valid, .resp_data, .resp_err,
    .wr_en(dma_we), .wr_row, .wr_data(dma_data));

  logic [2:0] mem_id;
  assign inp_we  = dma_we && mem_id == MEM_INP;
  assign wgt_we  = dma_we && mem_id == MEM_WGT;
  assign wr_data = dma_data[DIM*8-1:0];

  hdr_t ch;
  sync_t cs;
  assign ch = dec_hdr(cur);
  assign cs = dec_sync(cur);
  wire run_done  = state == RUN && !dma_busy && !halt;
  wire snap_fin  = state == SNAP && snap_done;
  wire complete  = (run_done && !dma_err) || (snap_fin && !snap_err) ||
                   (take && !is_load && !s.perf_snap);
  // header of the completing instruction: `cur` unless it completes on take
  hdr_t fh;
  assign fh = (state == IDLE) ? h : ch;

  assign q_pop     = take;
  assign pop_next  = take && h.pop_next;
  assign push_next = complete && fh.push_next;
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
    end else if (!halt) begin
      case (state)
        IDLE: if (take) begin
          cur <= q_insn;
          pc  <= q_pc;
          mem_id <= d.mem_id;
          if (is_load) state <= RUN;
          else if (s.perf_snap) state <= SNAP;
        end
        RUN:  if (run_done) state <= IDLE;
        SNAP: if (snap_done) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end
endmodule
