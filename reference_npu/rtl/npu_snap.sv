// SYNC.perf_snap: writes the N_PERF 64-bit performance counters, captured
// when the request is granted, to DRAM as little-endian u64 in npu_stats
// order (cycles, gemm_rows, gemm_busy, ld_busy, st_busy, ex_busy,
// dma_rd_bytes, dma_wr_bytes, insns). One requester is served at a time.
module npu_snap
  import npu_pkg::*;
#(
  parameter int BUS_BYTES = 16
) (
  input  logic clk,
  input  logic rst,
  input  logic [2:0]        req,          // load, exec, store
  input  logic [31:0]       addr [3],
  output logic [2:0]        done,
  input  logic [N_PERF*64-1:0] counters,
  output logic              err,          // with done: a write was refused by memory
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  output logic [BUS_BYTES*8-1:0] req_wdata,
  input  logic                   resp_valid,
  input  logic                   resp_err
);
  localparam int TOTAL = N_PERF * 8;
  localparam int BW = BUS_BYTES * 8;
  logic              active;
  logic [1:0]        who;
  logic [N_PERF*64-1:0] data;
  logic [31:0]       base;
  logic [15:0]       sent, outstanding;

  wire [15:0] left = 16'(TOTAL) - sent;
  assign req_valid  = active && sent != 16'(TOTAL);
  assign req_addr   = base + 32'(sent);
  assign req_nbytes = (left > 16'(BUS_BYTES)) ? 8'(BUS_BYTES) : 8'(left);
  assign req_wdata  = BW'(data >> (32'(sent) * 8));
  wire fire = req_valid && req_ready;
  wire finished = active && sent == 16'(TOTAL) && outstanding == 0;

  always_comb begin
    done = '0;
    if (finished) done[who] = 1'b1;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      active <= 1'b0;
      outstanding <= '0;
      err <= 1'b0;
    end else begin
      outstanding <= outstanding + (fire ? 16'd1 : 16'd0) - (resp_valid ? 16'd1 : 16'd0);
      if (resp_valid && resp_err) err <= 1'b1;
      if (finished) err <= 1'b0;
      if (fire) sent <= sent + 16'(req_nbytes);
      if (finished) active <= 1'b0;
      else if (!active && req != 0) begin
        active <= 1'b1;
        who  <= req[0] ? 2'd0 : req[1] ? 2'd1 : 2'd2;
        base <= req[0] ? addr[0] : req[1] ? addr[1] : addr[2];
        data <= counters;
        sent <= '0;
      end
    end
  end
endmodule
