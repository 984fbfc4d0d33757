// Reference NPU top level: the fixed contract. Both harnesses (the C++
// library behind the driver's "rtl" backend and the cocotb testbenches) talk
// to these ports only, through npu_sim_top, so a vendor can put different
// RTL behind them and keep every test, trace replay and benchmark.
//
// Clock and reset: one clock, synchronous active-high `rst`. Reset zeroes
// every SRAM and the weight registers (the functional model starts from
// zero too); START does not, so state survives from one run to the next
// unless the harness resets.
//
// Register port (32-bit, byte offsets REG_* from npu_isa_pkg): combinational
// read of `reg_addr`, write on the rising edge when `reg_wen`.
//   START       write 1: run INSN_COUNT instructions from INSN_ADDR
//   STATUS      [0] done, [1] error, [15:8] error code (npu_isa_pkg ERR_*)
//   INSN_ADDR, INSN_COUNT   where the 16-byte little-endian instructions are
//   ERROR_PC    index of the instruction that stopped the machine
//   DRAM_BYTES  size of DRAM; fetch checks every DMA box and snap against it
//   HW_*        DIM and memory sizes, token and queue depths (HW_CONFIG)
//   CYCLES, GEMM_ROWS, GEMM_BUSY, LD_BUSY, ST_BUSY, EX_BUSY, DMA_RD_BYTES,
//   DMA_WR_BYTES, INSNS   64-bit counters (LO at the offset, HI at +4),
//               cleared by START, counting while running
// `done` mirrors STATUS.done (finished, or stopped by an error).
//
// Memory port (BUS_BYTES wide): the NPU issues at most one request per
// cycle while `mem_req_ready`: byte address, byte count 1..BUS_BYTES (data
// in the low bytes), write flag and data, and a tag. The memory answers
// every request, writes included, in request order, with the request's tag,
// read data and an error flag; responses cannot be back-pressured, so the
// NPU only issues what it can buffer. Latency is the memory's business
// (npu_sim_top models it with a parameter).
module npu_top
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int DIM = DEFAULT_DIM,
  parameter int BUS_BYTES = 16,
  parameter int INP_ROWS = DEFAULT_INP_ROWS,
  parameter int WGT_ROWS = DEFAULT_WGT_ROWS,
  parameter int ACC_ROWS = DEFAULT_ACC_ROWS,
  parameter int OUT_ROWS = DEFAULT_OUT_ROWS,
  parameter int QP_ROWS = DEFAULT_QP_ROWS,
  parameter int LUT_ROWS = DEFAULT_LUT_ROWS,
  parameter int QUEUE_DEPTH = DEFAULT_INSN_QUEUE_DEPTH,
  parameter int TOKEN_DEPTH = DEFAULT_TOKEN_DEPTH
) (
  input  logic        clk,
  input  logic        rst,
  // register port
  input  logic [7:0]  reg_addr,
  input  logic        reg_wen,
  input  logic [31:0] reg_wdata,
  output logic [31:0] reg_rdata,
  output logic        done,          // finished or stopped by an error
  // memory port
  output logic                   mem_req_valid,
  input  logic                   mem_req_ready,
  output logic                   mem_req_write,
  output logic [31:0]            mem_req_addr,
  output logic [7:0]             mem_req_nbytes,
  output logic [BUS_BYTES*8-1:0] mem_req_wdata,
  output logic [2:0]             mem_req_tag,
  input  logic                   mem_resp_valid,
  input  logic [2:0]             mem_resp_tag,
  input  logic [BUS_BYTES*8-1:0] mem_resp_rdata,
  input  logic                   mem_resp_err
);
  initial begin
    if (DIM != 4 && DIM != 8 && DIM != 16) $fatal(1, "DIM must be 4, 8 or 16");
    if (BUS_BYTES < 16 || BUS_BYTES > 64) $fatal(1, "BUS_BYTES must be 16..64");
    // run-time token counters are 8 bits; they never exceed the sum (README)
    if (TOKEN_DEPTH + QUEUE_DEPTH > 255) $fatal(1, "TOKEN_DEPTH + QUEUE_DEPTH must be < 256");
  end

  // ---------------- control registers ----------------
  logic [31:0] insn_addr, insn_count, error_pc, dram_bytes;
  logic        running, fin, errd;
  logic [7:0]  error_code;
  wire start = reg_wen && reg_addr == 8'(REG_START) && reg_wdata[0] && !running;
  wire srst  = rst || start;         // every run starts from clean control state
  wire halt  = !running;
  assign done = fin || errd;

  logic [63:0] perf [N_PERF];        // npu_stats order
  logic [N_PERF*64-1:0] perf_flat;
  for (genvar k = 0; k < N_PERF; k++) begin : g_perf
    assign perf_flat[64*k +: 64] = perf[k];
  end

  always_comb begin
    reg_rdata = '0;
    case (32'(reg_addr))
      REG_STATUS: begin
        reg_rdata[STATUS_DONE_LSB] = done;
        reg_rdata[STATUS_ERROR_LSB] = errd;
        reg_rdata[STATUS_CODE_LSB +: STATUS_CODE_W] = error_code;
      end
      REG_INSN_ADDR:           reg_rdata = insn_addr;
      REG_INSN_COUNT:          reg_rdata = insn_count;
      REG_ERROR_PC:            reg_rdata = error_pc;
      REG_DRAM_BYTES:          reg_rdata = dram_bytes;
      REG_HW_DIM:              reg_rdata = DIM;
      REG_HW_INP_ROWS:         reg_rdata = INP_ROWS;
      REG_HW_WGT_ROWS:         reg_rdata = WGT_ROWS;
      REG_HW_ACC_ROWS:         reg_rdata = ACC_ROWS;
      REG_HW_OUT_ROWS:         reg_rdata = OUT_ROWS;
      REG_HW_QP_ROWS:          reg_rdata = QP_ROWS;
      REG_HW_LUT_ROWS:         reg_rdata = LUT_ROWS;
      REG_HW_TOKEN_DEPTH:      reg_rdata = TOKEN_DEPTH;
      REG_HW_INSN_QUEUE_DEPTH: reg_rdata = QUEUE_DEPTH;
      default:
        for (int k = 0; k < N_PERF; k++) begin
          if (32'(reg_addr) == REG_CYCLES + 8 * k)     reg_rdata = perf[k][31:0];
          if (32'(reg_addr) == REG_CYCLES + 8 * k + 4) reg_rdata = perf[k][63:32];
        end
    endcase
  end

  // ---------------- instruction queues ----------------
  logic         disp_valid;
  logic [1:0]   disp_q;
  logic [127:0] disp_insn;
  logic [31:0]  disp_pc;
  logic [2:0]   q_full, q_empty, q_pop;
  logic [159:0] q_dout [3];
  for (genvar qi = 0; qi < 3; qi++) begin : g_queue
    logic [$clog2(QUEUE_DEPTH):0] cnt;
    npu_fifo #(.WIDTH(160), .DEPTH(QUEUE_DEPTH)) fifo (
      .clk, .rst(srst), .push(disp_valid && disp_q == qi[1:0]), .din({disp_pc, disp_insn}),
      .pop(q_pop[qi]), .dout(q_dout[qi]), .empty(q_empty[qi]), .full(q_full[qi]), .count(cnt));
  end

  // ---------------- dependency tokens ----------------
  // 0 load->exec, 1 exec->load, 2 exec->store, 3 store->exec.
  // TOKEN_DEPTH is enforced by fetch in program order; at run time a unit
  // can be ahead of its program-order balance by at most the instructions
  // queued for the consumer, so these counters cannot wrap.
  logic [3:0] tok_push, tok_pop, tok_avail;
  logic [7:0] tok_cnt [4];
  for (genvar t = 0; t < 4; t++) begin : g_tok
    assign tok_avail[t] = tok_cnt[t] != 0;
    always_ff @(posedge clk) begin
      if (srst) tok_cnt[t] <= '0;
      else if (running) tok_cnt[t] <= tok_cnt[t] + 8'(tok_push[t]) - 8'(tok_pop[t]);
    end
  end

  // ---------------- memory port clients ----------------
  logic                   c_valid [N_CLIENTS], c_ready [N_CLIENTS], c_write [N_CLIENTS];
  logic [31:0]            c_addr  [N_CLIENTS];
  logic [7:0]             c_nbytes[N_CLIENTS];
  logic [BUS_BYTES*8-1:0] c_wdata [N_CLIENTS];
  logic                   c_resp  [N_CLIENTS];
  npu_mem_arb #(.N(N_CLIENTS), .BUS_BYTES(BUS_BYTES)) arb (
    .c_valid, .c_ready, .c_write, .c_addr, .c_nbytes, .c_wdata, .c_resp,
    .mem_req_valid, .mem_req_ready, .mem_req_write, .mem_req_addr, .mem_req_nbytes,
    .mem_req_wdata, .mem_req_tag, .mem_resp_valid, .mem_resp_tag);
  assign c_write[TAG_FETCH] = 1'b0;
  assign c_write[TAG_LD]    = 1'b0;
  assign c_write[TAG_EXLD]  = 1'b0;
  assign c_write[TAG_ST]    = 1'b1;
  assign c_write[TAG_SNAP]  = 1'b1;
  assign c_wdata[TAG_FETCH] = '0;
  assign c_wdata[TAG_LD]    = '0;
  assign c_wdata[TAG_EXLD]  = '0;

  // ---------------- SRAMs ----------------
  logic              inp_we0, inp_we1, wgt_we, acc_we, out_we, qp_we;
  logic [15:0]       inp_wa0, inp_wa1, wgt_wa, acc_wa, out_wa, qp_wa;
  logic [DIM*8-1:0]  inp_wd0, inp_wd1, wgt_wd, out_wd;
  logic [DIM*32-1:0] acc_wd, qp_wd;
  logic [15:0]       inp_ra[1], wgt_ra[1], acc_ra[3], out_ra[1], qp_ra[1];
  logic [DIM*8-1:0]  inp_rd[1], wgt_rd[1], out_rd[1];
  logic [DIM*32-1:0] acc_rd[3], qp_rd[1];
  npu_sram #(.ROWS(INP_ROWS), .WIDTH(DIM*8), .NR(1)) inp_mem (
    .clk, .rst, .we0(inp_we0), .wa0(inp_wa0), .wd0(inp_wd0), .we1(inp_we1), .wa1(inp_wa1),
    .wd1(inp_wd1), .ra(inp_ra), .rd(inp_rd));
  npu_sram #(.ROWS(WGT_ROWS), .WIDTH(DIM*8), .NR(1)) wgt_mem (
    .clk, .rst, .we0(wgt_we), .wa0(wgt_wa), .wd0(wgt_wd), .we1(1'b0), .wa1('0), .wd1('0),
    .ra(wgt_ra), .rd(wgt_rd));
  npu_sram #(.ROWS(ACC_ROWS), .WIDTH(DIM*32), .NR(3)) acc_mem (
    .clk, .rst, .we0(acc_we), .wa0(acc_wa), .wd0(acc_wd), .we1(1'b0), .wa1('0), .wd1('0),
    .ra(acc_ra), .rd(acc_rd));
  npu_sram #(.ROWS(OUT_ROWS), .WIDTH(DIM*8), .NR(1)) out_mem (
    .clk, .rst, .we0(out_we), .wa0(out_wa), .wd0(out_wd), .we1(1'b0), .wa1('0), .wd1('0),
    .ra(out_ra), .rd(out_rd));
  npu_sram #(.ROWS(QP_ROWS), .WIDTH(DIM*32), .NR(1)) qp_mem (
    .clk, .rst, .we0(qp_we), .wa0(qp_wa), .wd0(qp_wd), .we1(1'b0), .wa1('0), .wd1('0),
    .ra(qp_ra), .rd(qp_rd));

  // ---------------- fetch ----------------
  logic f_all, f_blocked, f_err;
  logic [7:0] f_code;
  logic [31:0] f_pc;
  npu_fetch #(.BUS_BYTES(BUS_BYTES), .DIM(DIM), .INP_ROWS(INP_ROWS), .WGT_ROWS(WGT_ROWS),
              .ACC_ROWS(ACC_ROWS), .OUT_ROWS(OUT_ROWS), .QP_ROWS(QP_ROWS),
              .LUT_ROWS(LUT_ROWS), .TOKEN_DEPTH(TOKEN_DEPTH)) fetch (
    .clk, .rst, .halt, .start, .insn_addr, .insn_count, .dram_bytes,
    .all_dispatched(f_all),
    .blocked(f_blocked), .err_valid(f_err), .err_code(f_code), .err_pc(f_pc),
    .req_valid(c_valid[TAG_FETCH]), .req_ready(c_ready[TAG_FETCH]),
    .req_addr(c_addr[TAG_FETCH]), .req_nbytes(c_nbytes[TAG_FETCH]),
    .resp_valid(c_resp[TAG_FETCH]), .resp_data(mem_resp_rdata), .resp_err(mem_resp_err),
    .disp_valid, .disp_q, .disp_insn, .disp_pc, .q_full);

  // ---------------- perf snapshots ----------------
  logic [2:0]  snap_req, snap_done;
  logic [31:0] snap_addr [3];
  logic        snap_err;
  npu_snap #(.BUS_BYTES(BUS_BYTES)) snap (
    .clk, .rst(srst), .req(snap_req), .addr(snap_addr), .done(snap_done), .counters(perf_flat),
    .err(snap_err), .req_valid(c_valid[TAG_SNAP]), .req_ready(c_ready[TAG_SNAP]),
    .req_addr(c_addr[TAG_SNAP]), .req_nbytes(c_nbytes[TAG_SNAP]),
    .req_wdata(c_wdata[TAG_SNAP]), .resp_valid(c_resp[TAG_SNAP]), .resp_err(mem_resp_err));

  // ---------------- load / exec / store units ----------------
  // SYNC.finish only ends fetch (npu_fetch); the units treat it as a no-op
  logic ld_busy, ld_wait, ld_retire, ld_err;
  logic ex_busy, ex_wait, ex_retire, ex_err, gemm_row, gemm_busy;
  logic st_busy, st_wait, st_retire, st_err;
  logic [7:0] ld_code, ex_code, st_code;
  logic [31:0] ld_pc, ex_pc, st_pc;
  logic ld_inp_we, ld_wgt_we;
  logic [15:0] ld_row;
  logic [DIM*8-1:0] ld_data;

  npu_load_unit #(.DIM(DIM), .BUS_BYTES(BUS_BYTES)) load_unit (
    .clk, .rst(srst), .halt, .q_valid(!q_empty[0]), .q_insn(q_dout[0][127:0]),
    .q_pc(q_dout[0][159:128]), .q_pop(q_pop[0]),
    .tok_next_avail(tok_avail[1]), .pop_next(tok_pop[1]), .push_next(tok_push[0]),
    .busy(ld_busy), .waiting(ld_wait), .retire(ld_retire),
    .err_valid(ld_err), .err_code(ld_code), .err_pc(ld_pc),
    .snap_req(snap_req[0]), .snap_addr(snap_addr[0]), .snap_done(snap_done[0]),
    .snap_err,
    .req_valid(c_valid[TAG_LD]), .req_ready(c_ready[TAG_LD]), .req_addr(c_addr[TAG_LD]),
    .req_nbytes(c_nbytes[TAG_LD]), .resp_valid(c_resp[TAG_LD]), .resp_data(mem_resp_rdata),
    .resp_err(mem_resp_err),
    .inp_we(ld_inp_we), .wgt_we(ld_wgt_we), .wr_row(ld_row), .wr_data(ld_data));
  assign inp_we0 = ld_inp_we;
  assign inp_wa0 = ld_row;
  assign inp_wd0 = ld_data;
  assign wgt_we  = ld_wgt_we;
  assign wgt_wa  = ld_row;
  assign wgt_wd  = ld_data;

  npu_exec_unit #(.DIM(DIM), .BUS_BYTES(BUS_BYTES), .LUT_ROWS(LUT_ROWS)) exec_unit (
    .clk, .rst(srst), .halt, .q_valid(!q_empty[1]), .q_insn(q_dout[1][127:0]),
    .q_pc(q_dout[1][159:128]), .q_pop(q_pop[1]),
    .tok_prev_avail(tok_avail[0]), .tok_next_avail(tok_avail[3]),
    .pop_prev(tok_pop[0]), .pop_next(tok_pop[3]), .push_prev(tok_push[1]),
    .push_next(tok_push[2]),
    .busy(ex_busy), .waiting(ex_wait), .retire(ex_retire),
    .gemm_row, .gemm_busy, .err_valid(ex_err), .err_code(ex_code), .err_pc(ex_pc),
    .snap_req(snap_req[1]), .snap_addr(snap_addr[1]), .snap_done(snap_done[1]),
    .snap_err,
    .req_valid(c_valid[TAG_EXLD]), .req_ready(c_ready[TAG_EXLD]),
    .req_addr(c_addr[TAG_EXLD]), .req_nbytes(c_nbytes[TAG_EXLD]),
    .resp_valid(c_resp[TAG_EXLD]), .resp_data(mem_resp_rdata), .resp_err(mem_resp_err),
    .wgt_ra(wgt_ra[0]), .wgt_rd(wgt_rd[0]), .inp_ra(inp_ra[0]), .inp_rd(inp_rd[0]),
    .inp_we(inp_we1), .inp_wa(inp_wa1), .inp_wd(inp_wd1),
    .out_we, .out_wa, .out_wd, .acc_we, .acc_wa, .acc_wd,
    .acc_ra0(acc_ra[0]), .acc_rd0(acc_rd[0]), .acc_ra1(acc_ra[1]), .acc_rd1(acc_rd[1]),
    .qp_we, .qp_wa, .qp_wd, .qp_ra(qp_ra[0]), .qp_rd(qp_rd[0]));

  logic st_rd_acc;
  logic [15:0] st_row;
  npu_store_unit #(.DIM(DIM), .BUS_BYTES(BUS_BYTES)) store_unit (
    .clk, .rst(srst), .halt, .q_valid(!q_empty[2]), .q_insn(q_dout[2][127:0]),
    .q_pc(q_dout[2][159:128]), .q_pop(q_pop[2]),
    .tok_prev_avail(tok_avail[2]), .pop_prev(tok_pop[2]), .push_prev(tok_push[3]),
    .busy(st_busy), .waiting(st_wait), .retire(st_retire),
    .err_valid(st_err), .err_code(st_code), .err_pc(st_pc),
    .snap_req(snap_req[2]), .snap_addr(snap_addr[2]), .snap_done(snap_done[2]),
    .snap_err,
    .req_valid(c_valid[TAG_ST]), .req_ready(c_ready[TAG_ST]), .req_addr(c_addr[TAG_ST]),
    .req_nbytes(c_nbytes[TAG_ST]), .req_wdata(c_wdata[TAG_ST]), .resp_valid(c_resp[TAG_ST]),
    .resp_err(mem_resp_err),
    .rd_acc(st_rd_acc), .rd_row(st_row), .rd_data(st_rd_data));
  logic [DIM*32-1:0] st_rd_data;
  assign acc_ra[2] = st_row;
  assign out_ra[0] = st_row;
  assign st_rd_data = st_rd_acc ? acc_rd[2] : {{(DIM*24){1'b0}}, out_rd[0]};

  // ---------------- errors, completion, counters ----------------
  // Done when fetch has dispatched everything up to the end or the finish
  // SYNC and every unit has drained. Deadlock: nothing can move (units idle
  // or waiting for tokens, fetch done or blocked on a full queue) but the
  // program is not done; held for a few cycles so a token push in flight
  // is not mistaken for one. Reported pc: the oldest blocked queue head.
  logic [7:0]  e_code;
  logic [31:0] e_pc;
  logic        e_valid;
  logic [2:0]  stuck;
  wire units_quiet =
      !ld_busy && (q_empty[0] || ld_wait) &&
      !ex_busy && (q_empty[1] || ex_wait) &&
      !st_busy && (q_empty[2] || st_wait);
  wire all_done = f_all && q_empty == 3'b111 && !ld_busy && !ex_busy && !st_busy;
  wire no_progress = (f_all || f_blocked) && units_quiet && !all_done;
  logic [31:0] oldest_pc;
  always_comb begin
    oldest_pc = '1;
    for (int u = 0; u < 3; u++)
      if (!q_empty[u] && q_dout[u][159:128] < oldest_pc) oldest_pc = q_dout[u][159:128];
  end
  always_comb begin
    e_valid = 1'b1;
    e_code = ERR_OK;
    e_pc = '0;
    if (f_err)            begin e_code = f_code;  e_pc = f_pc;  end
    else if (ld_err)      begin e_code = ld_code; e_pc = ld_pc; end
    else if (ex_err)      begin e_code = ex_code; e_pc = ex_pc; end
    else if (st_err)      begin e_code = st_code; e_pc = st_pc; end
    else if (stuck == 3'd7) begin e_code = ERR_DEADLOCK; e_pc = oldest_pc; end
    else e_valid = 1'b0;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      running <= 1'b0; fin <= 1'b0; errd <= 1'b0;
      error_code <= ERR_OK; error_pc <= '0;
      insn_addr <= '0; insn_count <= '0; dram_bytes <= '0;
      stuck <= '0;
      for (int k = 0; k < N_PERF; k++) perf[k] <= '0;
    end else begin
      if (reg_wen && reg_addr == 8'(REG_INSN_ADDR))  insn_addr <= reg_wdata;
      if (reg_wen && reg_addr == 8'(REG_INSN_COUNT)) insn_count <= reg_wdata;
      if (reg_wen && reg_addr == 8'(REG_DRAM_BYTES)) dram_bytes <= reg_wdata;
      if (start) begin
        running <= 1'b1; fin <= 1'b0; errd <= 1'b0;
        error_code <= ERR_OK; error_pc <= '0; stuck <= '0;
        for (int k = 0; k < N_PERF; k++) perf[k] <= '0;
      end else if (running) begin
        stuck <= no_progress ? ((stuck == 3'd7) ? stuck : stuck + 1'b1) : '0;
        if (e_valid) begin
          running <= 1'b0; errd <= 1'b1; error_code <= e_code; error_pc <= e_pc;
        end else if (all_done) begin
          running <= 1'b0; fin <= 1'b1;
        end
        perf[0] <= perf[0] + 1;
        perf[1] <= perf[1] + 64'(gemm_row);
        perf[2] <= perf[2] + 64'(gemm_busy);
        perf[3] <= perf[3] + 64'(ld_busy);
        perf[4] <= perf[4] + 64'(st_busy);
        perf[5] <= perf[5] + 64'(ex_busy);
        perf[6] <= perf[6] + ((mem_req_valid && mem_req_ready && !mem_req_write &&
                               mem_req_tag != TAG_FETCH) ?
                              64'(mem_req_nbytes) : 64'd0);
        perf[7] <= perf[7] + ((mem_req_valid && mem_req_ready && mem_req_write &&
                               mem_req_tag != TAG_SNAP) ?
                              64'(mem_req_nbytes) : 64'd0);
        perf[8] <= perf[8] + 64'(ld_retire) + 64'(ex_retire) + 64'(st_retire);
      end
    end
  end
endmodule
