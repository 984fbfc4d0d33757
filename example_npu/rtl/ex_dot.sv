// The dot-product unit: one act row against the N rows of a weight tile, per cycle.
//   acc_out[n] = (init ? 0 : acc_in[n]) + sum_k a[k] * w[n][k]   (int8 x int8, int32 wrap)
module ex_dot #(
  parameter int N = 4,
  parameter int K = 16
) (
  input  logic [K*8-1:0]   a,       // act row, lane k in bits [8k +: 8]
  input  logic [N*K*8-1:0] w,       // tile: row n (output lane n) in bits [8Kn +: 8K]
  input  logic [N*32-1:0]  acc_in,  // psum row
  input  logic             init,
  output logic [N*32-1:0]  acc_out
);
  always_comb begin
    for (int n = 0; n < N; n++) begin
      int sum;
      sum = init ? 0 : int'(acc_in[n*32 +: 32]);
      for (int k = 0; k < K; k++)
        sum += int'($signed(a[k*8 +: 8])) * int'($signed(w[(n*K + k)*8 +: 8]));
      acc_out[n*32 +: 32] = sum;
    end
  end
endmodule
