// DMA read engine: walks a padded 2-D box of SRAM rows, reads the unpadded
// cells from DRAM through the memory port and emits one SRAM row write per
// cell, in walk order. Pad cells are produced without a memory request.
//
// A cell is one SRAM row of `eb` bytes (DIM, or 4*DIM when elem4). Cell
// (y, x) goes to row base + y*xtot + x; it comes from DRAM byte address
// dram_base + ((y - y_pad0) * x_stride + (x - x_pad0)) * eb.
// Rows wider than the bus take several beats. Responses can never be refused,
// so requests are only issued while there is room to buffer their responses.
module npu_dma_rd
  import npu_pkg::*;
#(
  parameter int DIM = 8,
  parameter int BUS_BYTES = 16
) (
  input  logic clk,
  input  logic rst,
  // command
  input  logic       start,
  input  dma_t       cmd,
  input  logic       elem4,      // row elements are int32 (ACC, QP)
  output logic       busy,
  output logic       err,        // memory port reported an error (sticky until start)
  // memory port (request side through the arbiter)
  output logic                   req_valid,
  input  logic                   req_ready,
  output logic [31:0]            req_addr,
  output logic [7:0]             req_nbytes,
  input  logic                   resp_valid,
  input  logic [BUS_BYTES*8-1:0] resp_data,
  input  logic                   resp_err,
  // SRAM row writes
  output logic                   wr_en,
  output logic [15:0]            wr_row,
  output logic [DIM*32-1:0]      wr_data
);
  localparam int RB = DIM * 4;                       // widest row in bytes
  localparam int MAXBEATS = (RB + BUS_BYTES - 1) / BUS_BYTES;
  localparam int QD = 8;                             // cells / beats in flight
  localparam int BW = $clog2(MAXBEATS + 1);

  // ---------------- issue side: walk the box ----------------
  logic        walking;
  logic [11:0] ytot, xtot, y, x;
  logic [15:0] row;
  logic [31:0] line_addr;                            // DRAM address of (y, x_pad0)
  logic [BW-1:0] beat;
  logic [7:0]  eb;
  logic [BW-1:0] nbeats;
  dma_t        c;

  assign eb     = elem4 ? 8'(RB) : 8'(DIM);
  assign nbeats = BW'((32'(eb) + BUS_BYTES - 1) / BUS_BYTES);

  wire in_pad = (y < 12'(c.y_pad0)) || (y >= 12'(c.y_pad0) + c.y_size) ||
                (x < 12'(c.x_pad0)) || (x >= 12'(c.x_pad0) + c.x_size);
  wire [31:0] cell_addr = line_addr + 32'(x - 12'(c.x_pad0)) * 32'(eb);

  // pending cells, in order: {is_pad, row}
  logic        pq_push, pq_pop, pq_empty, pq_full;
  logic [16:0] pq_dout;
  logic [$clog2(QD):0] pq_count;
  npu_fifo #(.WIDTH(17), .DEPTH(QD)) pending (
    .clk, .rst, .push(pq_push), .din({in_pad, row}), .pop(pq_pop),
    .dout(pq_dout), .empty(pq_empty), .full(pq_full), .count(pq_count));

  // response beats buffered here; credits = beats requested but not consumed
  logic        rq_pop, rq_empty, rq_full;
  logic [BUS_BYTES*8-1:0] rq_dout;
  logic [$clog2(QD):0] rq_count;
  logic [$clog2(QD):0] credits;
  npu_fifo #(.WIDTH(BUS_BYTES*8), .DEPTH(QD)) beats (
    .clk, .rst, .push(resp_valid), .din(resp_data), .pop(rq_pop),
    .dout(rq_dout), .empty(rq_empty), .full(rq_full), .count(rq_count));

  wire last_beat = (beat == nbeats - 1'b1);
  wire room      = (credits < QD[$clog2(QD):0]);
  wire cell_ok   = walking && !pq_full;
  assign req_valid  = cell_ok && !in_pad && room;
  assign req_addr   = cell_addr + 32'(beat) * BUS_BYTES;
  assign req_nbytes = (32'(eb) - 32'(beat) * BUS_BYTES > BUS_BYTES) ? 8'(BUS_BYTES)
                    : 8'(32'(eb) - 32'(beat) * BUS_BYTES);
  wire req_fire  = req_valid && req_ready;
  // a cell is handed to the write-back side with its first beat (or at once if pad)
  assign pq_push = cell_ok && (in_pad || (req_fire && beat == '0));
  wire cell_done = cell_ok && (in_pad || (req_fire && last_beat));

  always_ff @(posedge clk) begin
    if (rst) begin
      walking <= 1'b0;
    end else if (start) begin
      c         <= cmd;
      ytot      <= 12'(cmd.y_pad0) + cmd.y_size + 12'(cmd.y_pad1);
      xtot      <= 12'(cmd.x_pad0) + cmd.x_size + 12'(cmd.x_pad1);
      walking   <= (cmd.y_size != 0 || cmd.y_pad0 != 0 || cmd.y_pad1 != 0) &&
                   (cmd.x_size != 0 || cmd.x_pad0 != 0 || cmd.x_pad1 != 0);
      y <= '0; x <= '0; beat <= '0;
      row       <= cmd.sram_base;
      // line address of the first data line; pad lines above it never use it
      line_addr <= cmd.dram_base - 32'(cmd.y_pad0) * 32'(cmd.x_stride) * 32'(eb);
    end else begin
      if (req_fire && !last_beat) beat <= beat + 1'b1;
      if (cell_done) begin
        beat <= '0;
        row  <= row + 1'b1;
        if (x == xtot - 1) begin
          x <= '0;
          line_addr <= line_addr + 32'(c.x_stride) * 32'(eb);
          if (y == ytot - 1) walking <= 1'b0;
          else y <= y + 1'b1;
        end else begin
          x <= x + 1'b1;
        end
      end
    end
  end

  // ---------------- write-back side ----------------
  logic [BW-1:0] wb_beat;
  logic [RB*8-1:0] asm_data;
  wire wb_pad = pq_dout[16];
  logic [RB*8-1:0] pad_row;
  always_comb begin
    for (int k = 0; k < DIM; k++) begin
      if (elem4) pad_row[k*32 +: 32] = {{24{c.pad_val[7]}}, c.pad_val};
      else       pad_row[k*32 +: 32] = {4{c.pad_val}};
    end
  end

  // place beat `wb_beat` at its byte offset in the row being assembled
  logic [RB*8-1:0] merged;
  always_comb begin
    merged = asm_data;
    for (int b = 0; b < MAXBEATS; b++) begin
      if (32'(wb_beat) == b) begin
        for (int k = 0; k < BUS_BYTES; k++)
          if (b * BUS_BYTES + k < RB) merged[(b*BUS_BYTES + k)*8 +: 8] = rq_dout[k*8 +: 8];
      end
    end
  end

  wire wb_data_beat = !pq_empty && !wb_pad && !rq_empty;
  wire wb_last      = (wb_beat == nbeats - 1'b1);
  assign rq_pop  = wb_data_beat;
  assign pq_pop  = !pq_empty && (wb_pad || (wb_data_beat && wb_last));
  assign wr_en   = pq_pop;
  assign wr_row  = pq_dout[15:0];
  assign wr_data = wb_pad ? pad_row : merged;

  always_ff @(posedge clk) begin
    if (rst || start) begin
      wb_beat <= '0;
      asm_data <= '0;
    end else if (wb_data_beat) begin
      asm_data <= merged;
      wb_beat  <= wb_last ? '0 : wb_beat + 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) credits <= '0;
    else credits <= credits + ($bits(credits))'(req_fire) - ($bits(credits))'(rq_pop);
  end

  always_ff @(posedge clk) begin
    if (rst || start) err <= 1'b0;
    else if (resp_valid && resp_err) err <= 1'b1;
  end

  assign busy = walking || !pq_empty || (credits != 0);
  wire unused = &{1'b0, rq_full, rq_count, pq_count};
endmodule
