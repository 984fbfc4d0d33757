// The example NPU: an in-order machine around a dot-product unit and a vector ALU.
//
// One instruction at a time: fetch (2 cycles), check, then one row per cycle (VDOT,
// REQ, VALU, FILL) or one 32-bit DRAM word per cycle (LOAD, STORE, SNAP). Nothing runs in
// parallel, so there are no dependencies to track: a program needs no barriers.
//
// Ports, all registered outputs; the environment (the C++ harness or a cocotb test)
// answers a request seen after a clock edge before the next edge:
//   ifetch_req/ifetch_pc  -> ifetch_valid/ifetch_data: instruction ifetch_pc
//   bus_req/bus_we/bus_addr/bus_wdata -> bus_rvalid/bus_rdata: one DRAM word (reads)
// Every DMA access is checked (alignment, range against dram_bytes) before it starts.
module ex_core
  import ex_isa_pkg::*;
#(
  parameter int N = 4,
  parameter int K = 16,
  parameter int ACT_ROWS = 4096,
  parameter int WTS_ROWS = 1024,
  parameter int PSUM_ROWS = 4096,
  parameter int RES_ROWS = 4096,
  parameter int PRM_ROWS = 192
) (
  input  logic        clk,
  input  logic        rst,
  input  logic        start,        // pulse: run instructions [0, n_insns)
  input  logic [31:0] n_insns,
  input  logic [63:0] dram_bytes,
  output logic        ifetch_req,
  output logic [31:0] ifetch_pc,
  input  logic        ifetch_valid,
  input  logic [63:0] ifetch_data,
  output logic        bus_req,
  output logic        bus_we,
  output logic [31:0] bus_addr,
  output logic [31:0] bus_wdata,
  input  logic        bus_rvalid,
  input  logic [31:0] bus_rdata,
  output logic        done,
  output logic [7:0]  error,
  output logic [31:0] error_pc,
  output logic [N_COUNTERS*64-1:0] counters,
  output logic [7*32-1:0] hw_config  // {prm, res, psum, wts, act rows, K, N}
);
  assign hw_config = {32'(PRM_ROWS), 32'(RES_ROWS), 32'(PSUM_ROWS), 32'(WTS_ROWS),
                      32'(ACT_ROWS), 32'(K), 32'(N)};

  // ---- memories (rows are packed: lane i in bits [width*i +: width]) ----
  logic [K*8-1:0]  act  [ACT_ROWS];
  logic [K*8-1:0]  wts  [WTS_ROWS];
  logic [N*32-1:0] psum [PSUM_ROWS];
  logic [N*8-1:0]  res  [RES_ROWS];
  logic [N*32-1:0] prm  [PRM_ROWS];

  typedef enum logic [2:0] {S_IDLE, S_FETCH, S_WAIT, S_EXEC, S_DMA, S_DONE} state_t;
  state_t state;
  logic [63:0] insn;
  logic [31:0] pc, i;
  logic [63:0] cnt [N_COUNTERS];

  // ---- decode (fields at the same place in LOAD, STORE and FILL) ----
  logic [3:0]  op;
  logic [2:0]  mem;
  logic        widen;
  logic [31:0] sram, rows, dram;
  assign op    = insn[OPCODE_LSB +: OPCODE_W];
  assign mem   = insn[LOAD_MEM_LSB +: LOAD_MEM_W];
  assign widen = insn[LOAD_WIDEN_LSB] && op != OP_FILL;
  assign sram  = 32'(insn[LOAD_SRAM_LSB +: LOAD_SRAM_W]);
  assign dram  = insn[LOAD_DRAM_LSB +: LOAD_DRAM_W];
  always_comb begin
    case (op)
      OP_LOAD, OP_STORE, OP_FILL: rows = 32'(insn[LOAD_ROWS_LSB +: LOAD_ROWS_W]);
      OP_VDOT: rows = 32'(insn[VDOT_ROWS_LSB +: VDOT_ROWS_W]);
      OP_REQ:  rows = 32'(insn[REQ_ROWS_LSB +: REQ_ROWS_W]);
      OP_VALU: rows = 32'(insn[VALU_ROWS_LSB +: VALU_ROWS_W]);
      default: rows = 0;
    endcase
  end

  function automatic logic [31:0] mem_rows(logic [2:0] m);
    case (m)
      MEM_ACT: return ACT_ROWS;
      MEM_WTS: return WTS_ROWS;
      MEM_PSUM: return PSUM_ROWS;
      MEM_RES: return RES_ROWS;
      default: return PRM_ROWS;
    endcase
  endfunction

  // DRAM words per row (row_words in ex_types.h)
  function automatic logic [31:0] row_words(logic [2:0] m, logic wide);
    case (m)
      MEM_ACT, MEM_WTS: return K / 4;
      MEM_PSUM: return wide ? N / 4 : N;
      MEM_RES: return N / 4;
      default: return N;
    endcase
  endfunction

  // base + (rows - 1) * step outside [0, limit)
  function automatic logic out_of(logic [31:0] base, logic [31:0] n, logic [31:0] step,
                                  logic [31:0] limit);
    return 64'(base) + 64'(n - 1) * 64'(step) >= 64'(limit);
  endfunction

  // ---- the check every instruction passes before it changes anything (fsim.c check) ----
  logic [7:0] err;
  always_comb begin
    err = ERR_OK;
    case (op)
      OP_NOP: ;
      OP_LOAD, OP_STORE: begin
        if (mem > MEM_PRM || (widen && (mem != MEM_PSUM || op == OP_STORE))) err = ERR_BAD_MEM;
        else if (rows == 0) ;
        else if (out_of(sram, rows, 1, mem_rows(mem))) err = ERR_ROW_RANGE;
        else if (dram[1:0] != 0) err = ERR_DRAM_ALIGN;
        else if (64'(dram) + 64'(rows * row_words(mem, widen) * 4) > dram_bytes)
          err = ERR_DRAM_RANGE;
      end
      OP_FILL: begin
        if (mem > MEM_PRM) err = ERR_BAD_MEM;
        else if (rows != 0 && out_of(sram, rows, 1, mem_rows(mem))) err = ERR_ROW_RANGE;
      end
      OP_VDOT:
        if (rows != 0 && (out_of(32'(insn[VDOT_A_ROW_LSB +: VDOT_A_ROW_W]), rows,
                                 32'(insn[VDOT_A_STEP_LSB +: VDOT_A_STEP_W]), ACT_ROWS) ||
                          out_of(32'(insn[VDOT_P_ROW_LSB +: VDOT_P_ROW_W]), rows,
                                 32'(insn[VDOT_P_STEP_LSB +: VDOT_P_STEP_W]), PSUM_ROWS) ||
                          32'(insn[VDOT_TILE_LSB +: VDOT_TILE_W]) >= WTS_ROWS / N))
          err = ERR_ROW_RANGE;
      OP_REQ:
        if (rows != 0 && (out_of(32'(insn[REQ_SRC_LSB +: REQ_SRC_W]), rows,
                                 32'(insn[REQ_S_STEP_LSB +: REQ_S_STEP_W]), PSUM_ROWS) ||
                          out_of(32'(insn[REQ_DST_LSB +: REQ_DST_W]), rows,
                                 32'(insn[REQ_D_STEP_LSB +: REQ_D_STEP_W]), RES_ROWS) ||
                          32'(insn[REQ_DESC_LSB +: REQ_DESC_W]) + 2 >= PRM_ROWS))
          err = ERR_ROW_RANGE;
      OP_VALU:
        if (rows != 0 && (out_of(32'(insn[VALU_DST_LSB +: VALU_DST_W]), rows, 1, PSUM_ROWS) ||
                          (insn[VALU_FN_LSB +: VALU_FN_W] < FN_ADDI &&
                           out_of(32'(insn[VALU_SRC_LSB +: VALU_SRC_W]), rows, 1, PSUM_ROWS))))
          err = ERR_ROW_RANGE;
      OP_SNAP:
        if (insn[1:0] != 0) err = ERR_DRAM_ALIGN;
        else if (64'(dram) + 64'(8 * N_COUNTERS) > dram_bytes) err = ERR_DRAM_RANGE;
      default: err = ERR_BAD_OPCODE;
    endcase
  end

  // ---- row i of the streaming instructions ----
  logic [31:0] a_idx, p_idx, s_idx, d_idx, tile_row, desc;
  assign a_idx = 32'(insn[VDOT_A_ROW_LSB +: VDOT_A_ROW_W]) + i * 32'(insn[VDOT_A_STEP_LSB +: VDOT_A_STEP_W]);
  assign p_idx = 32'(insn[VDOT_P_ROW_LSB +: VDOT_P_ROW_W]) + i * 32'(insn[VDOT_P_STEP_LSB +: VDOT_P_STEP_W]);
  assign tile_row = 32'(insn[VDOT_TILE_LSB +: VDOT_TILE_W]) * N;
  assign desc = 32'(insn[REQ_DESC_LSB +: REQ_DESC_W]);
  always_comb begin
    if (op == OP_REQ) begin
      s_idx = 32'(insn[REQ_SRC_LSB +: REQ_SRC_W]) + i * 32'(insn[REQ_S_STEP_LSB +: REQ_S_STEP_W]);
      d_idx = 32'(insn[REQ_DST_LSB +: REQ_DST_W]) + i * 32'(insn[REQ_D_STEP_LSB +: REQ_D_STEP_W]);
    end else begin  // VALU: contiguous; ADDI/MAXI read their own row as the (unused) source
      d_idx = 32'(insn[VALU_DST_LSB +: VALU_DST_W]) + i;
      s_idx = insn[VALU_FN_LSB +: VALU_FN_W] < FN_ADDI ? 32'(insn[VALU_SRC_LSB +: VALU_SRC_W]) + i
                                                       : d_idx;
    end
  end

  logic [N*K*8-1:0] tile;
  always_comb begin
    for (int n = 0; n < N; n++) tile[n*K*8 +: K*8] = wts[tile_row + n];
  end

  logic [N*32-1:0] dot_y, valu_y;
  logic [N*8-1:0]  req_y;
  ex_dot #(.N(N), .K(K)) dot (
    .a(act[a_idx]), .w(tile), .acc_in(psum[p_idx]), .init(insn[VDOT_INIT_LSB]), .acc_out(dot_y));
  ex_requant #(.N(N)) rq (
    .x(psum[s_idx]), .mult_row(prm[desc]), .shift_row(prm[desc + 1]), .clamp_row(prm[desc + 2]),
    .per_chan(insn[REQ_PER_CHAN_LSB]), .y(req_y));
  ex_valu #(.N(N)) alu (
    .fn(insn[VALU_FN_LSB +: VALU_FN_W]), .d(psum[d_idx]), .s(psum[s_idx]),
    .imm(insn[VALU_IMM_LSB +: VALU_IMM_W]), .y(valu_y));

  // ---- DMA: one word per cycle; (row, word) counters on the issue and receive sides ----
  logic [31:0] total, issued, recv, words, iss_row, iss_j, rcv_row, rcv_j;
  logic [N_COUNTERS*64-1:0] snap;  // SNAP's record, taken when it starts
  logic [31:0] store_word;
  always_comb begin
    case (mem)
      MEM_ACT:  store_word = act[iss_row][iss_j*32 +: 32];
      MEM_WTS:  store_word = wts[iss_row][iss_j*32 +: 32];
      MEM_PSUM: store_word = psum[iss_row][iss_j*32 +: 32];
      MEM_RES:  store_word = res[iss_row][iss_j*32 +: 32];
      default:  store_word = prm[iss_row][iss_j*32 +: 32];
    endcase
  end

  task automatic retire();
    pc <= pc + 1;
    i <= 0;
    cnt[CNT_INSNS] <= cnt[CNT_INSNS] + 1;
    state <= S_FETCH;
  endtask

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= S_IDLE;
      ifetch_req <= 0;
      bus_req <= 0;
      error <= ERR_OK;
      for (int c = 0; c < N_COUNTERS; c++) cnt[c] <= 0;
    end else begin
      if (state != S_IDLE && state != S_DONE) cnt[CNT_CYCLES] <= cnt[CNT_CYCLES] + 1;
      case (state)
        S_IDLE, S_DONE:
          if (start) begin
            pc <= 0;
            i <= 0;
            error <= ERR_OK;
            error_pc <= 0;
            for (int c = 0; c < N_COUNTERS; c++) cnt[c] <= 0;
            state <= S_FETCH;
          end
        S_FETCH:
          if (pc == n_insns) state <= S_DONE;
          else begin
            ifetch_req <= 1;
            ifetch_pc <= pc;
            state <= S_WAIT;
          end
        S_WAIT:
          if (ifetch_valid) begin
            insn <= ifetch_data;
            ifetch_req <= 0;
            state <= S_EXEC;
          end
        S_EXEC:
          if (err != ERR_OK) begin
            error <= err;
            error_pc <= pc;
            state <= S_DONE;
          end else if (op == OP_NOP || (rows == 0 && op != OP_SNAP)) retire();
          else begin
            case (op)
              OP_SNAP: begin  // a STORE of the counter record, counted in no DMA counter
                snap <= counters;
                words <= 2 * N_COUNTERS;
                total <= 2 * N_COUNTERS;
                issued <= 0;
                iss_row <= 0;
                iss_j <= 0;
                state <= S_DMA;
              end
              OP_LOAD, OP_STORE: begin
                words <= row_words(mem, widen);
                total <= rows * row_words(mem, widen);
                issued <= 0;
                recv <= 0;
                iss_row <= sram;
                iss_j <= 0;
                rcv_row <= sram;
                rcv_j <= 0;
                state <= S_DMA;
              end
              OP_FILL: begin
                case (mem)
                  MEM_ACT:  act[sram + i] <= {K{insn[7:0]}};
                  MEM_WTS:  wts[sram + i] <= {K{insn[7:0]}};
                  MEM_PSUM: psum[sram + i] <= {N{insn[31:0]}};
                  MEM_RES:  res[sram + i] <= {N{insn[7:0]}};
                  default:  prm[sram + i] <= {N{insn[31:0]}};
                endcase
                cnt[CNT_VALU_ROWS] <= cnt[CNT_VALU_ROWS] + 1;
              end
              OP_VDOT: begin
                psum[p_idx] <= dot_y;
                cnt[CNT_DOT_ROWS] <= cnt[CNT_DOT_ROWS] + 1;
              end
              OP_REQ: begin
                res[d_idx] <= req_y;
                cnt[CNT_VALU_ROWS] <= cnt[CNT_VALU_ROWS] + 1;
              end
              default: begin  // VALU
                psum[d_idx] <= valu_y;
                cnt[CNT_VALU_ROWS] <= cnt[CNT_VALU_ROWS] + 1;
              end
            endcase
            // streaming instructions: the next row, or retire after the last
            if (op != OP_LOAD && op != OP_STORE && op != OP_SNAP) begin
              if (i == rows - 1) retire();
              else i <= i + 1;
            end
          end
        S_DMA: begin
          if (op != OP_SNAP) cnt[CNT_DMA_BUSY] <= cnt[CNT_DMA_BUSY] + 1;
          if (issued != total) begin
            bus_req <= 1;
            bus_we <= op != OP_LOAD;
            bus_addr <= dram + issued * 4;
            bus_wdata <= op == OP_SNAP ? snap[issued*32 +: 32] : store_word;
            issued <= issued + 1;
            if (iss_j == words - 1) begin
              iss_j <= 0;
              iss_row <= iss_row + 1;
            end else iss_j <= iss_j + 1;
          end else bus_req <= 0;
          if (op != OP_LOAD && issued == total) begin
            if (op == OP_STORE) cnt[CNT_DMA_WR_BYTES] <= cnt[CNT_DMA_WR_BYTES] + 64'(total) * 4;
            retire();
          end
          if (op == OP_LOAD && bus_rvalid) begin
            case (mem)
              MEM_ACT:  act[rcv_row][rcv_j*32 +: 32] <= bus_rdata;
              MEM_WTS:  wts[rcv_row][rcv_j*32 +: 32] <= bus_rdata;
              MEM_RES:  res[rcv_row][rcv_j*32 +: 32] <= bus_rdata;
              MEM_PRM:  prm[rcv_row][rcv_j*32 +: 32] <= bus_rdata;
              default:
                if (widen)  // 4 int8 lanes, sign-extended
                  psum[rcv_row][rcv_j*128 +: 128] <= {{24{bus_rdata[31]}}, bus_rdata[31:24],
                                                     {24{bus_rdata[23]}}, bus_rdata[23:16],
                                                     {24{bus_rdata[15]}}, bus_rdata[15:8],
                                                     {24{bus_rdata[7]}}, bus_rdata[7:0]};
                else psum[rcv_row][rcv_j*32 +: 32] <= bus_rdata;
            endcase
            recv <= recv + 1;
            if (rcv_j == words - 1) begin
              rcv_j <= 0;
              rcv_row <= rcv_row + 1;
            end else rcv_j <= rcv_j + 1;
            if (recv == total - 1) begin
              cnt[CNT_DMA_RD_BYTES] <= cnt[CNT_DMA_RD_BYTES] + 64'(total) * 4;
              retire();
            end
          end
        end
        default: state <= S_IDLE;
      endcase
    end
  end

  assign done = state == S_DONE;
  always_comb begin
    for (int c = 0; c < N_COUNTERS; c++) counters[c*64 +: 64] = cnt[c];
  end
endmodule
