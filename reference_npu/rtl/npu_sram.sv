// Row-wide on-chip memory as a flop array with combinational reads: two write
// ports (port 0 wins on a same-row collision, which only a racy program can
// cause) and NR read ports. Reset zeroes the contents so every run starts
// from the same state as the functional model. A real chip would use SRAM macros with registered
// reads and one more pipeline stage; the instruction semantics do not change.
module npu_sram #(
  parameter int ROWS = 64,
  parameter int WIDTH = 64,
  parameter int NR = 1
) (
  input  logic             clk,
  input  logic             rst,
  input  logic             we0,
  input  logic [15:0]      wa0,
  input  logic [WIDTH-1:0] wd0,
  input  logic             we1,
  input  logic [15:0]      wa1,
  input  logic [WIDTH-1:0] wd1,
  input  logic [15:0]      ra [NR],
  output logic [WIDTH-1:0] rd [NR]
);
  localparam int AW = $clog2(ROWS);
  logic [WIDTH-1:0] mem [ROWS];

  // Range checks happen before an instruction starts, so the index is in range.
  for (genvar p = 0; p < NR; p++) begin : g_rd
    assign rd[p] = mem[ra[p][AW-1:0]];
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      for (int r = 0; r < ROWS; r++) mem[r] <= '0;
    end else begin
      if (we1) mem[wa1[AW-1:0]] <= wd1;
      if (we0) mem[wa0[AW-1:0]] <= wd0;
    end
  end
endmodule
