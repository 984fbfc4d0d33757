// Lookup-table memory: ROWS rows of DIM int8, written a row at a time by the
// exec unit's DMA, read as DIM independent byte lookups. Table t is the
// 256 bytes starting at byte t*256 (256/DIM rows). Reset zeroes it.
module npu_lut_mem #(
  parameter int DIM = 8,
  parameter int ROWS = 128
) (
  input  logic              clk,
  input  logic              rst,
  input  logic              we,
  input  logic [15:0]       wa,
  input  logic [DIM*8-1:0]  wd,
  input  logic [3:0]        table_id,
  input  logic [DIM*32-1:0] idx,       // lane c uses idx[32c +: 8]
  output logic [DIM*8-1:0]  y
);
  // A build without LUT (ROWS = 0) keeps one dummy row: fetch rejects every
  // LUT access as SRAM_RANGE, so it is never read.
  localparam int BYTES = (ROWS > 0 ? ROWS : 1) * DIM;
  localparam int AW = $clog2(BYTES);
  logic [7:0] mem [BYTES];

  always_comb begin
    for (int c = 0; c < DIM; c++) begin
      // fetch checks keep the table inside the memory
      y[8*c +: 8] = mem[AW'({table_id, idx[32*c +: 8]})];
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      for (int b = 0; b < BYTES; b++) mem[b] <= '0;
    end else if (we) begin
      for (int c = 0; c < DIM; c++) mem[AW'(32'(wa) * DIM + c)] <= wd[8*c +: 8];
    end
  end
endmodule
