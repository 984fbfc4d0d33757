// Requantization of one psum row into one res row (the vector ALU's REQ), per lane c:
//   y = int8(min(max(zp + round_half_up(x * mult >> shift), lo), hi))
// with mult/shift from lane c (per_chan) or lane 0 of descriptor rows 0 and 1, and
// zp, lo, hi from lanes 0, 1, 2 of descriptor row 2. Matches fsim.c requant().
module ex_requant #(
  parameter int N = 4
) (
  input  logic [N*32-1:0] x,
  input  logic [N*32-1:0] mult_row,
  input  logic [N*32-1:0] shift_row,
  input  logic [N*32-1:0] clamp_row,   // {.., hi, lo, zp}
  input  logic            per_chan,
  output logic [N*8-1:0]  y
);
  function automatic logic [7:0] requant(int xv, int mult, int shift, int zp, int lo, int hi);
    longint p, r, v;
    int s;
    p = longint'(xv) * longint'(mult);
    s = shift & 63;
    // (p + 2^(s-1)) >> s without overflow: the added half is bit s-1 of p
    r = (s == 0) ? p : (p >>> s) + ((p >>> (s - 1)) & 64'sd1);
    v = longint'(zp) + r;
    if (v < longint'(lo)) v = longint'(lo);  // max, then min: hi wins when lo > hi
    if (v > longint'(hi)) v = longint'(hi);
    if (v < -128) v = -128;
    else if (v > 127) v = 127;
    return v[7:0];
  endfunction

  always_comb begin
    for (int c = 0; c < N; c++) begin
      int q;
      q = per_chan ? c : 0;
      y[c*8 +: 8] = requant(int'(x[c*32 +: 32]), int'(mult_row[q*32 +: 32]),
                            int'(shift_row[q*32 +: 32]), int'(clamp_row[31:0]),
                            int'(clamp_row[63:32]), int'(clamp_row[95:64]));
    end
  end
endmodule
