// The vector ALU's element-wise functions on one psum row (int32 lanes, wrapping).
module ex_valu
  import ex_isa_pkg::*;
#(
  parameter int N = 4
) (
  input  logic [2:0]      fn,
  input  logic [N*32-1:0] d,     // destination row (also the first operand)
  input  logic [N*32-1:0] s,     // source row (ignored by ADDI, MAXI)
  input  logic [15:0]     imm,   // sign-extended
  output logic [N*32-1:0] y
);
  always_comb begin
    for (int c = 0; c < N; c++) begin
      int a, b, r;
      a = int'(d[c*32 +: 32]);
      b = (fn == FN_ADDI || fn == FN_MAXI) ? int'($signed(imm)) : int'(s[c*32 +: 32]);
      case (fn)
        FN_ADD, FN_ADDI: r = a + b;
        FN_SUB: r = a - b;
        FN_MUL: r = a * b;
        FN_MAX, FN_MAXI: r = a > b ? a : b;
        FN_MIN: r = a < b ? a : b;
        default: r = b;  // MOV
      endcase
      y[c*32 +: 32] = r;
    end
  end
endmodule
