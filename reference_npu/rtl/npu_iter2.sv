// Two-level loop (i < n_out, j < n_in) producing two row addresses
//   p = base_p + i*fo_p + j*fi_p,  q = base_q + i*fo_q + j*fi_q
// one pair per `step`. Used by the ALU and requant loops of the exec unit.
module npu_iter2 (
  input  logic        clk,
  input  logic        start,
  input  logic [9:0]  n_out,
  input  logic [9:0]  n_in,
  input  logic [15:0] base_p, fo_p, fi_p,
  input  logic [15:0] base_q, fo_q, fi_q,
  input  logic        step,
  output logic [15:0] p,
  output logic [15:0] q,
  output logic        last,      // current pair is the final one
  output logic        empty      // the loop has no iterations
);
  logic [9:0]  i, j, no, ni;
  logic [15:0] po, qo, fop, fip, foq, fiq;

  assign last  = (i == no - 1'b1) && (j == ni - 1'b1);
  assign empty = (no == 0) || (ni == 0);

  always_ff @(posedge clk) begin
    if (start) begin
      i <= '0; j <= '0; no <= n_out; ni <= n_in;
      p <= base_p; q <= base_q; po <= base_p; qo <= base_q;
      fop <= fo_p; fip <= fi_p; foq <= fo_q; fiq <= fi_q;
    end else if (step) begin
      if (j == ni - 1'b1) begin
        j <= '0;
        i <= i + 1'b1;
        po <= po + fop;
        qo <= qo + foq;
        p <= po + fop;
        q <= qo + foq;
      end else begin
        j <= j + 1'b1;
        p <= p + fip;
        q <= q + fiq;
      end
    end
  end
endmodule
