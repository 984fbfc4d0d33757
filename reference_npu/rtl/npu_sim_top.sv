// Simulation wrapper: npu_top plus a DRAM model behind its memory port.
// The model accepts one request per cycle, performs it at once on the host
// buffer through DPI (no copies of DRAM) and returns the response LATENCY
// cycles later, so measured cycles include memory time. Both the C++
// harness and the cocotb tests drive this module.
//
// Host address map: [0, DRAM_BYTES) is DRAM; instructions live in a separate
// window at INSN_WINDOW (npu_dpi_mem.cpp), where INSN_ADDR points.
module npu_sim_top
  import npu_isa_pkg::*;
#(
  parameter int DIM = DEFAULT_DIM,
  parameter int BUS_BYTES = 16,
  parameter int LATENCY = 16,
  parameter int INP_ROWS = DEFAULT_INP_ROWS,
  parameter int WGT_ROWS = DEFAULT_WGT_ROWS,
  parameter int ACC_ROWS = DEFAULT_ACC_ROWS,
  parameter int OUT_ROWS = DEFAULT_OUT_ROWS,
  parameter int QP_ROWS = DEFAULT_QP_ROWS,
  parameter int LUT_ROWS = DEFAULT_LUT_ROWS,
  parameter int QUEUE_DEPTH = DEFAULT_INSN_QUEUE_DEPTH,
  parameter int TOKEN_DEPTH = DEFAULT_TOKEN_DEPTH
) (
  input  logic        clk,
  input  logic        rst,
  input  logic [7:0]  reg_addr,
  input  logic        reg_wen,
  input  logic [31:0] reg_wdata,
  output logic [31:0] reg_rdata,
  output logic        done,
  input  logic [1:0]  dram_ctl      // cocotb only: 1 = load image files, 2 = dump DRAM
);
  import "DPI-C" function int npu_mem_read(input int unsigned addr, input int nbytes,
                                           output bit [511:0] data);
  import "DPI-C" function int npu_mem_write(input int unsigned addr, input int nbytes,
                                            input bit [511:0] data);
  import "DPI-C" function void npu_dram_control(input int cmd);

  logic                   req_valid, req_write;
  logic [31:0]            req_addr;
  logic [7:0]             req_nbytes;
  logic [BUS_BYTES*8-1:0] req_wdata, resp_rdata;
  logic [2:0]             req_tag, resp_tag;
  logic                   resp_valid, resp_err;

  npu_top #(.DIM(DIM), .BUS_BYTES(BUS_BYTES), .INP_ROWS(INP_ROWS), .WGT_ROWS(WGT_ROWS),
            .ACC_ROWS(ACC_ROWS), .OUT_ROWS(OUT_ROWS), .QP_ROWS(QP_ROWS),
            .LUT_ROWS(LUT_ROWS), .QUEUE_DEPTH(QUEUE_DEPTH), .TOKEN_DEPTH(TOKEN_DEPTH)) dut (
    .clk, .rst, .reg_addr, .reg_wen, .reg_wdata, .reg_rdata, .done,
    .mem_req_valid(req_valid), .mem_req_ready(1'b1), .mem_req_write(req_write),
    .mem_req_addr(req_addr), .mem_req_nbytes(req_nbytes), .mem_req_wdata(req_wdata),
    .mem_req_tag(req_tag), .mem_resp_valid(resp_valid), .mem_resp_tag(resp_tag),
    .mem_resp_rdata(resp_rdata), .mem_resp_err(resp_err));

  // response pipeline: {valid, err, tag, data}
  localparam int PW = 1 + 1 + 3 + BUS_BYTES * 8;
  logic [PW-1:0] pipe [LATENCY];

  always_ff @(posedge clk) begin
    // per-access temporaries: the DPI call happens at the accepting edge
    automatic logic [511:0] rd = '0;
    automatic int status = 0;
    if (dram_ctl != 0) npu_dram_control(32'(dram_ctl));
    if (!rst && req_valid) begin
      if (req_write) status = npu_mem_write(req_addr, 32'(req_nbytes), 512'(req_wdata));
      else           status = npu_mem_read(req_addr, 32'(req_nbytes), rd);
    end
    pipe[0] <= {!rst && req_valid, status != 0, req_tag, rd[BUS_BYTES*8-1:0]};
    for (int k = 1; k < LATENCY; k++) pipe[k] <= rst ? '0 : pipe[k-1];
  end

  assign {resp_valid, resp_err, resp_tag, resp_rdata} = pipe[LATENCY-1];
endmodule
