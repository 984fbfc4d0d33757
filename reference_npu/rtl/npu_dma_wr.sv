// DMA write engine: walks a y_size x x_size box of SRAM rows (row
// sram_base + y*x_size + x) and writes each to DRAM byte address
// dram_base + (y*x_stride + x)*eb through the memory port. The SRAM is read
// combinationally through rd_row/rd_data. Finishes when every write has been
// acknowledged, so a token pushed afterwards orders later DRAM reads.
module npu_dma_wr
  import npu_pkg::*;
#(
  parameter int DIM = 8,
  parameter int BUS_BYTES = 16
) (
  input  logic clk,
  input  logic rst,
  input  logic       start,
  input  dma_t       cmd,
  input  logic       elem4,
  output logic       busy,
  output logic       err,
  output logic [15:0]          rd_row,
  input  logic [DIM*32-1:0]    rd_data,
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  output logic [BUS_BYTES*8-1:0] req_wdata,
  input  logic                   resp_valid,
  input  logic                   resp_err
);
  localparam int RB = DIM * 4;
  localparam int MAXBEATS = (RB + BUS_BYTES - 1) / BUS_BYTES;
  localparam int BW = $clog2(MAXBEATS + 1);

  logic        walking;
  logic [11:0] y, x;
  logic [15:0] row;
  logic [31:0] line_addr;
  logic [BW-1:0] beat;
  logic [15:0] outstanding;
  dma_t        c;
  logic [7:0]  eb;
  logic [BW-1:0] nbeats;

  assign eb     = elem4 ? 8'(RB) : 8'(DIM);
  assign nbeats = BW'((32'(eb) + BUS_BYTES - 1) / BUS_BYTES);
  wire last_beat = (beat == nbeats - 1'b1);

  assign rd_row     = row;
  assign req_valid  = walking;
  assign req_addr   = line_addr + 32'(x) * 32'(eb) + 32'(beat) * BUS_BYTES;
  assign req_nbytes = (32'(eb) - 32'(beat) * BUS_BYTES > BUS_BYTES) ? 8'(BUS_BYTES)
                    : 8'(32'(eb) - 32'(beat) * BUS_BYTES);
  always_comb begin
    req_wdata = '0;
    for (int b = 0; b < MAXBEATS; b++)
      if (32'(beat) == b)
        for (int k = 0; k < BUS_BYTES; k++)
          if (b * BUS_BYTES + k < RB) req_wdata[k*8 +: 8] = rd_data[(b*BUS_BYTES + k)*8 +: 8];
  end
  wire fire = req_valid && req_ready;

  always_ff @(posedge clk) begin
    if (rst) begin
      walking <= 1'b0;
    end else if (start) begin
      c <= cmd;
      walking <= cmd.y_size != 0 && cmd.x_size != 0;
      y <= '0; x <= '0; beat <= '0;
      row <= cmd.sram_base;
      line_addr <= cmd.dram_base;
    end else if (fire) begin
      if (!last_beat) begin
        beat <= beat + 1'b1;
      end else begin
        beat <= '0;
        row <= row + 1'b1;
        if (x == c.x_size - 1) begin
          x <= '0;
          line_addr <= line_addr + 32'(c.x_stride) * 32'(eb);
          if (y == c.y_size - 1) walking <= 1'b0;
          else y <= y + 1'b1;
        end else begin
          x <= x + 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) outstanding <= '0;
    else outstanding <= outstanding + 16'(fire) - 16'(resp_valid);
  end

  always_ff @(posedge clk) begin
    if (rst || start) err <= 1'b0;
    else if (resp_valid && resp_err) err <= 1'b1;
  end

  assign busy = walking || outstanding != 0;
endmodule
