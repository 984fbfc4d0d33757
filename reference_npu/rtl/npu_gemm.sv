// GEMM engine: a two-slot pipeline in front of the systolic array.
// Slot W loads the instruction's weight tile (if load_w) into the bank the
// streaming instruction is not using; slot S streams one INP row per cycle.
// Back-to-back GEMMs therefore issue without bubbles. Results leave the array
// LATENCY cycles later and are added into ACC by the accumulator memory.
module npu_gemm
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int DIM = 8
) (
  input  logic clk,
  input  logic rst,
  // instruction hand-off from the exec unit (range already checked)
  input  logic        cmd_valid,
  output logic        cmd_ready,
  input  gemm_t       cmd,
  input  logic        cmd_push,      // pulse `issued_push` once this GEMM has issued
  output logic        issued_push,   // every row: its INP rows and weights are read
  output logic        idle,          // nothing queued, nothing in the array
  output logic        row_issued,    // perf: one GEMM row entered the array
  // WGT / INP reads (combinational)
  output logic [15:0]       wgt_row,
  input  logic [DIM*8-1:0]  wgt_data,
  output logic [15:0]       inp_row,
  input  logic [DIM*8-1:0]  inp_data,
  // ACC read-modify-write request
  output logic              wb_en,
  output logic              wb_accum,
  output logic [15:0]       wb_row,
  output logic [DIM*32-1:0] wb_data
);
  localparam int CW = $clog2(DIM);
  localparam int LATENCY = 2 * DIM - 1;   // input register -> deskewed output

  // ---------------- slot W: weight load ----------------
  logic        w_valid, w_loading, w_bank, w_push;
  gemm_t       w_cmd;
  logic [CW:0] w_cnt;
  logic        last_bank;                  // bank written by the latest load_w
  logic [7:0]  inflight [2];               // rows in the array per bank

  // ---------------- slot S: streaming ----------------
  logic        s_valid, s_bank, s_push;
  gemm_t       s_cmd;
  logic [9:0]  s_i, s_j;
  logic [15:0] s_a_outer, s_b_outer, s_a, s_b;

  wire w_ready_to_stream = w_valid && !w_loading;
  wire s_last = s_valid && (s_j == s_cmd.iter_in - 1'b1) && (s_i == s_cmd.iter_out - 1'b1);
  wire s_free = !s_valid || s_last;
  wire move_ws = w_ready_to_stream && s_free;
  assign cmd_ready = !w_valid || move_ws;
  wire accept = cmd_valid && cmd_ready;
  wire new_bank = cmd.load_w ? !last_bank : last_bank;
  wire w_write = w_loading && inflight[w_bank] == 0;

  assign wgt_row = 16'(w_cmd.wgt_tile) * 16'(DIM) + 16'(w_cnt);
  assign inp_row = s_b;

  always_ff @(posedge clk) begin
    if (rst) begin
      w_valid <= 1'b0;
      w_loading <= 1'b0;
      last_bank <= 1'b0;
    end else begin
      if (w_write) begin
        w_cnt <= w_cnt + 1'b1;
        if (w_cnt == (CW+1)'(DIM - 1)) w_loading <= 1'b0;
      end
      if (move_ws) w_valid <= 1'b0;
      if (accept) begin
        w_valid   <= 1'b1;
        w_cmd     <= cmd;
        w_push    <= cmd_push;
        w_bank    <= new_bank;
        w_loading <= cmd.load_w;
        w_cnt     <= '0;
        last_bank <= new_bank;
      end
    end
  end

  // S slot: an instruction with zero iterations still passes through it
  // (for one cycle) so ordering stays simple; it issues no rows.
  wire s_empty_cmd = s_cmd.iter_out == 0 || s_cmd.iter_in == 0;
  wire issue = s_valid && !s_empty_cmd;
  wire s_done = s_valid && (s_empty_cmd || s_last);
  always_ff @(posedge clk) begin
    if (rst) begin
      s_valid <= 1'b0;
    end else begin
      if (s_done) s_valid <= 1'b0;
      else if (issue) begin
        if (s_j == s_cmd.iter_in - 1'b1) begin
          s_j <= '0;
          s_i <= s_i + 1'b1;
          s_a_outer <= s_a_outer + 16'(s_cmd.acc_fo);
          s_b_outer <= s_b_outer + 16'(s_cmd.inp_fo);
          s_a <= s_a_outer + 16'(s_cmd.acc_fo);
          s_b <= s_b_outer + 16'(s_cmd.inp_fo);
        end else begin
          s_j <= s_j + 1'b1;
          s_a <= s_a + 16'(s_cmd.acc_fi);
          s_b <= s_b + 16'(s_cmd.inp_fi);
        end
      end
      if (move_ws) begin
        s_valid <= 1'b1;
        s_cmd <= w_cmd;
        s_push <= w_push;
        s_bank <= w_bank;
        s_i <= '0;
        s_j <= '0;
        s_a_outer <= 16'(w_cmd.acc_base);
        s_b_outer <= 16'(w_cmd.inp_base);
        s_a <= 16'(w_cmd.acc_base);
        s_b <= 16'(w_cmd.inp_base);
      end
    end
  end

  // ---------------- array and result pipeline ----------------
  logic [DIM*8-1:0] a_row;
  logic             a_sel;
  // meta travels beside the data: {valid, sel, accum, acc row}
  logic [18:0] meta [LATENCY + 1];
  always_ff @(posedge clk) begin
    a_row <= inp_data;
    a_sel <= s_bank;
    meta[0] <= rst ? '0 : {issue, s_bank, s_cmd.accum, s_a};
  end
  for (genvar d = 1; d <= LATENCY; d++) begin : g_meta
    always_ff @(posedge clk) meta[d] <= rst ? '0 : meta[d-1];
  end

  npu_systolic #(.DIM(DIM)) array (
    .clk, .rst, .in_row(a_row), .in_sel(a_sel),
    .wr_en(w_write), .wr_bank(w_bank), .wr_row(w_cnt[CW-1:0]), .wr_data(wgt_data),
    .out_row(wb_data));

  wire out_valid = meta[LATENCY][18];
  wire out_sel   = meta[LATENCY][17];
  assign wb_en    = out_valid;
  assign wb_accum = meta[LATENCY][16];
  assign wb_row   = meta[LATENCY][15:0];

  always_ff @(posedge clk) begin
    if (rst) begin
      inflight[0] <= '0;
      inflight[1] <= '0;
    end else begin
      for (int b = 0; b < 2; b++)
        inflight[b] <= inflight[b] + ((issue && s_bank == b[0]) ? 8'd1 : 8'd0)
                                   - ((out_valid && out_sel == b[0]) ? 8'd1 : 8'd0);
    end
  end

  assign row_issued = issue;
  assign issued_push = s_done && s_push;
  assign idle = !w_valid && !s_valid && inflight[0] == 0 && inflight[1] == 0;
endmodule
