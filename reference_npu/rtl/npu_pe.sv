// One processing element of the weight-stationary array. It holds two weight
// banks: the bank named by `sel_in` (carried along with the activation) is
// used for the MAC while the other bank can be rewritten, so the next tile
// loads while the current one streams.
module npu_pe (
  input  logic        clk,
  input  logic        rst,
  input  logic [7:0]  a_in,
  input  logic        sel_in,
  input  logic [31:0] ps_in,
  output logic [7:0]  a_out,
  output logic        sel_out,
  output logic [31:0] ps_out,
  input  logic        wr_en,
  input  logic        wr_bank,
  input  logic [7:0]  wr_data
);
  logic [7:0] w0, w1;
  wire  [7:0] w = sel_in ? w1 : w0;
  wire signed [15:0] prod = $signed(a_in) * $signed(w);

  always_ff @(posedge clk) begin
    a_out   <= a_in;
    sel_out <= sel_in;
    ps_out  <= ps_in + 32'(prod);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      w0 <= '0;
      w1 <= '0;
    end else if (wr_en) begin
      if (wr_bank) w1 <= wr_data;
      else         w0 <= wr_data;
    end
  end
endmodule
