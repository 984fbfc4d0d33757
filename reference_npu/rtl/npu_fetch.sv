// Fetch unit: reads INSN_COUNT 16-byte instructions from INSN_ADDR through
// the memory port, checks each in program order (npu_check, then the
// program-order token count against TOKEN_DEPTH) and routes it to the load,
// exec or store queue. A full target queue stalls dispatch. Fetch ends after
// the last instruction or after a SYNC with finish set; anything prefetched
// beyond that is dropped unchecked.
module npu_fetch
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int BUS_BYTES = 16,
  parameter int DIM = 8,
  parameter int INP_ROWS = 2048,
  parameter int WGT_ROWS = 1024,
  parameter int ACC_ROWS = 2048,
  parameter int OUT_ROWS = 2048,
  parameter int QP_ROWS = 192,
  parameter int LUT_ROWS = 128,
  parameter int TOKEN_DEPTH = 16
) (
  input  logic clk,
  input  logic rst,
  input  logic halt,
  input  logic        start,
  input  logic [31:0] insn_addr,
  input  logic [31:0] insn_count,
  input  logic [31:0] dram_bytes,
  output logic        all_dispatched,
  output logic        blocked,       // head instruction waits for a full queue
  output logic        err_valid,
  output logic [7:0]  err_code,
  output logic [31:0] err_pc,
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  input  logic                   resp_valid,
  input  logic [BUS_BYTES*8-1:0] resp_data,
  input  logic                   resp_err,
  output logic         disp_valid,
  output logic [1:0]   disp_q,
  output logic [127:0] disp_insn,
  output logic [31:0]  disp_pc,
  input  logic [2:0]   q_full
);
  localparam int FD = 4;
  logic        running, finished;
  logic [31:0] n_req, n_disp, count, base;
  logic [2:0]  credits;          // requested and not yet dispatched or dropped

  logic fq_empty, fq_full, fq_pop;
  logic [128:0] fq_dout;
  logic [$clog2(FD):0] fq_count;
  npu_fifo #(.WIDTH(129), .DEPTH(FD)) buffer (
    .clk, .rst(rst || start), .push(resp_valid), .din({resp_err, resp_data[127:0]}),
    .pop(fq_pop), .dout(fq_dout), .empty(fq_empty), .full(fq_full), .count(fq_count));

  assign req_valid  = running && !finished && !halt && n_req != count && credits < 3'(FD);
  assign req_addr   = base + (n_req << 4);
  assign req_nbytes = 8'd16;
  wire fire = req_valid && req_ready;

  logic [127:0] insn;
  hdr_t  h;
  sync_t s;
  logic [7:0] chk_err;
  logic [1:0] q;
  assign insn = fq_dout[127:0];
  assign h = dec_hdr(insn);
  assign s = dec_sync(insn);
  npu_check #(.DIM(DIM), .INP_ROWS(INP_ROWS), .WGT_ROWS(WGT_ROWS), .ACC_ROWS(ACC_ROWS),
              .OUT_ROWS(OUT_ROWS), .QP_ROWS(QP_ROWS), .LUT_ROWS(LUT_ROWS)) check (
    .insn, .dram_bytes, .err(chk_err), .unit(q));

  // Token balance in program order, per queue: 0 load->exec, 1 exec->load,
  // 2 exec->store, 3 store->exec. Only the dispatched prefix counts.
  logic signed [31:0] bal [4];
  logic [3:0] t_pop, t_push;
  always_comb begin
    t_pop = '0;
    t_push = '0;
    case (q)
      Q_LD: begin t_pop[1] = h.pop_next; t_push[0] = h.push_next; end
      Q_ST: begin t_pop[2] = h.pop_prev; t_push[3] = h.push_prev; end
      default: begin
        t_pop[0] = h.pop_prev;  t_pop[3] = h.pop_next;
        t_push[1] = h.push_prev; t_push[2] = h.push_next;
      end
    endcase
  end
  logic tok_ovf;
  always_comb begin
    tok_ovf = 1'b0;
    for (int t = 0; t < 4; t++)
      if (t_push[t] && bal[t] - 32'(t_pop[t]) + 1 > TOKEN_DEPTH) tok_ovf = 1'b1;
  end

  wire active  = running && !finished && !halt && !fq_empty;
  wire mem_err = fq_dout[128];
  wire legal   = !mem_err && chk_err == ERR_OK && !tok_ovf;
  assign disp_valid = active && legal && !q_full[q];
  assign disp_q     = q;
  assign disp_insn  = insn;
  assign disp_pc    = n_disp;
  assign fq_pop     = disp_valid || (running && finished && !fq_empty);
  assign blocked    = active && legal && q_full[q];
  assign all_dispatched = running && (finished || n_disp == count);

  assign err_valid = active && !legal;
  assign err_code  = mem_err ? ERR_DRAM_RANGE : chk_err != ERR_OK ? chk_err : ERR_TOKEN_OVERFLOW;
  assign err_pc    = n_disp;

  always_ff @(posedge clk) begin
    if (rst) begin
      running <= 1'b0;
      finished <= 1'b0;
      credits <= '0;
    end else if (start) begin
      running  <= 1'b1;
      finished <= 1'b0;
      base     <= insn_addr;
      count    <= insn_count;
      n_req    <= '0;
      n_disp   <= '0;
      credits  <= '0;
      for (int t = 0; t < 4; t++) bal[t] <= '0;
    end else begin
      if (fire) n_req <= n_req + 1'b1;
      if (disp_valid) begin
        n_disp <= n_disp + 1'b1;
        if (h.opcode == OP_SYNC && s.finish) finished <= 1'b1;
        for (int t = 0; t < 4; t++)
          bal[t] <= bal[t] + 32'(t_push[t]) - 32'(t_pop[t]);
      end
      credits <= credits + (fire ? 3'd1 : 3'd0) - (fq_pop ? 3'd1 : 3'd0);
    end
  end
  wire unused = &{1'b0, fq_full, fq_count, resp_data};
endmodule
