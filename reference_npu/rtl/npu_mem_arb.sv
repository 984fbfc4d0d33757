// Fixed-priority arbiter in front of the single memory port. Each client's
// requests carry its index as tag; the memory returns responses in order
// with the tag, so responses are routed back without per-client bookkeeping.
module npu_mem_arb #(
  parameter int N = 5,
  parameter int BUS_BYTES = 16
) (
  input  logic                   c_valid [N],
  output logic                   c_ready [N],
  input  logic                   c_write [N],
  input  logic [31:0]            c_addr  [N],
  input  logic [7:0]             c_nbytes[N],
  input  logic [BUS_BYTES*8-1:0] c_wdata [N],
  output logic                   c_resp  [N],
  output logic                   mem_req_valid,
  input  logic                   mem_req_ready,
  output logic                   mem_req_write,
  output logic [31:0]            mem_req_addr,
  output logic [7:0]             mem_req_nbytes,
  output logic [BUS_BYTES*8-1:0] mem_req_wdata,
  output logic [2:0]             mem_req_tag,
  input  logic                   mem_resp_valid,
  input  logic [2:0]             mem_resp_tag
);
  always_comb begin
    mem_req_valid = 1'b0;
    mem_req_write = 1'b0;
    mem_req_addr = '0;
    mem_req_nbytes = '0;
    mem_req_wdata = '0;
    mem_req_tag = '0;
    for (int i = N - 1; i >= 0; i--) begin   // lowest index wins
      if (c_valid[i]) begin
        mem_req_valid = 1'b1;
        mem_req_write = c_write[i];
        mem_req_addr = c_addr[i];
        mem_req_nbytes = c_nbytes[i];
        mem_req_wdata = c_wdata[i];
        mem_req_tag = 3'(i);
      end
    end
    for (int i = 0; i < N; i++) begin
      c_ready[i] = mem_req_ready && mem_req_valid && mem_req_tag == 3'(i);
      c_resp[i] = mem_resp_valid && mem_resp_tag == 3'(i);
    end
  end
endmodule
