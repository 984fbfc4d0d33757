// Row-wide datapaths of the exec unit: the vector ALU and the requantizer.
// Both are combinational; the exec unit feeds one row per cycle.
module npu_alu
  import npu_isa_pkg::*;
#(
  parameter int DIM = 8
) (
  input  logic [3:0]        op,
  input  logic [DIM*32-1:0] a,      // ACC[dst]
  input  logic [DIM*32-1:0] b,      // ACC[src] or the broadcast immediate
  output logic [DIM*32-1:0] y
);
  function automatic logic [31:0] alu1(input logic [3:0] o, input logic [31:0] x,
                                      input logic [31:0] v);
    logic [4:0] sh;
    logic signed [31:0] q;
    sh = v[4:0];
    q = $signed(x) >>> sh;   // separate statement: keeps the shift arithmetic
    case (o)
      ALU_ADD: return x + v;
      ALU_SUB: return x - v;
      ALU_MAX: return ($signed(x) > $signed(v)) ? x : v;
      ALU_MIN: return ($signed(x) < $signed(v)) ? x : v;
      ALU_MUL: return x * v;               // low 32 bits are sign-agnostic
      ALU_SHR: begin
        // round half up without overflow: floor(x / 2^sh) + bit sh-1 of x
        if (sh == 0) return x;
        return q + 32'(x[sh - 1]);
      end
      ALU_SHL: return x << sh;
      default: return v;                   // ALU_MOV
    endcase
  endfunction

  always_comb begin
    for (int e = 0; e < DIM; e++) y[32*e +: 32] = alu1(op, a[32*e +: 32], b[32*e +: 32]);
  end
endmodule

// Requantization of one ACC row:
//   y[c] = sat8(clamp(zp + round_shift(int64(acc[c]) * mult[c], sh[c] & 63), lo, hi))
// round_shift(p, s) = floor(p / 2^s) + bit s-1 of p (half up, cannot overflow);
// mult/sh come from channel 0 when per_chan is clear.
module npu_requant #(
  parameter int DIM = 8
) (
  input  logic [DIM*32-1:0] acc,
  input  logic [DIM*32-1:0] mult,
  input  logic [DIM*32-1:0] shift,
  input  logic [DIM*32-1:0] zlh,     // element 0 zp, 1 lo, 2 hi
  input  logic              per_chan,
  output logic [DIM*8-1:0]  y
);
  function automatic logic [7:0] rq1(input logic [31:0] x, input logic [31:0] m,
                                     input logic [31:0] s, input logic [31:0] zp,
                                     input logic [31:0] lo, input logic [31:0] hi);
    logic signed [63:0] p, q, r, v;
    logic [5:0] sh;
    sh = s[5:0];
    p = $signed({{32{x[31]}}, x}) * $signed({{32{m[31]}}, m});
    q = p >>> sh;
    r = (sh == 0) ? p : q + $signed(64'(p[sh - 1]));
    v = r + $signed({{32{zp[31]}}, zp});
    if (v < $signed({{32{lo[31]}}, lo})) v = $signed({{32{lo[31]}}, lo});
    if (v > $signed({{32{hi[31]}}, hi})) v = $signed({{32{hi[31]}}, hi});
    if (v < -64'sd128) v = -64'sd128;
    if (v > 64'sd127) v = 64'sd127;
    return v[7:0];
  endfunction

  always_comb begin
    for (int c = 0; c < DIM; c++) begin
      y[8*c +: 8] = rq1(acc[32*c +: 32],
                        per_chan ? mult[32*c +: 32] : mult[31:0],
                        per_chan ? shift[32*c +: 32] : shift[31:0],
                        zlh[31:0], zlh[63:32], zlh[95:64]);
    end
  end
endmodule
