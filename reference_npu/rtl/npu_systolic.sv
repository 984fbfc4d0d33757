// DIM x DIM weight-stationary systolic array. PE(k, n) holds W[k][n]
// (WGT tile row k = input channel k, lane n = output channel n). Activations
// enter row k skewed by k cycles and move right; partial sums move down
// column n; column n is deskewed by DIM-1-n cycles so a whole output row
// leaves together, LATENCY cycles after its input row was presented.
module npu_systolic #(
  parameter int DIM = 8
) (
  input  logic              clk,
  input  logic              rst,
  input  logic [DIM*8-1:0]  in_row,     // int8 activations, element k at [8k +: 8]
  input  logic              in_sel,     // weight bank for this row
  input  logic              wr_en,      // write weight row `wr_row` of bank `wr_bank`
  input  logic              wr_bank,
  input  logic [$clog2(DIM)-1:0] wr_row,
  input  logic [DIM*8-1:0]  wr_data,    // WGT row: lane n -> PE(wr_row, n)
  output logic [DIM*32-1:0] out_row     // int32 sums, element n at [32n +: 32]
);
  // per-row skew chains for activations and bank selects
  logic [7:0]  a   [DIM][DIM+1];
  logic        sel [DIM][DIM+1];
  logic [31:0] ps  [DIM+1][DIM];

  for (genvar k = 0; k < DIM; k++) begin : g_skew
    logic [7:0] sa [k+1];
    logic       ss [k+1];
    assign sa[0] = in_row[8*k +: 8];
    assign ss[0] = in_sel;
    for (genvar d = 1; d <= k; d++) begin : g_d
      always_ff @(posedge clk) begin
        sa[d] <= sa[d-1];
        ss[d] <= ss[d-1];
      end
    end
    assign a[k][0]   = sa[k];
    assign sel[k][0] = ss[k];
  end

  for (genvar n = 0; n < DIM; n++) begin : g_top
    assign ps[0][n] = '0;
  end

  for (genvar k = 0; k < DIM; k++) begin : g_row
    for (genvar n = 0; n < DIM; n++) begin : g_col
      npu_pe pe (
        .clk, .rst,
        .a_in(a[k][n]), .sel_in(sel[k][n]), .ps_in(ps[k][n]),
        .a_out(a[k][n+1]), .sel_out(sel[k][n+1]), .ps_out(ps[k+1][n]),
        .wr_en(wr_en && wr_row == k[$clog2(DIM)-1:0]), .wr_bank,
        .wr_data(wr_data[8*n +: 8]));
    end
  end

  for (genvar n = 0; n < DIM; n++) begin : g_deskew
    localparam int D = DIM - 1 - n;
    logic [31:0] dq [D+1];
    assign dq[0] = ps[DIM][n];
    for (genvar d = 1; d <= D; d++) begin : g_d
      always_ff @(posedge clk) dq[d] <= dq[d-1];
    end
    assign out_row[32*n +: 32] = dq[D];
  end

  wire unused = &{1'b0, a[0][DIM], sel[0][DIM]};
endmodule
