// Decode-time legality checks, applied by the fetch unit to each instruction
// in program order (same rules and priority as the functional model):
// ILLEGAL_OPCODE, ILLEGAL_MEM, ILLEGAL_FIELD, ILLEGAL_DEP, SRAM_RANGE,
// DRAM_RANGE. Checking at fetch makes the reported (code, pc) independent of
// how the three units interleave. Also says which unit queue gets it.
module npu_check
  import npu_isa_pkg::*, npu_pkg::*;
#(
  parameter int DIM = 8,
  parameter int INP_ROWS = 2048,
  parameter int WGT_ROWS = 1024,
  parameter int ACC_ROWS = 2048,
  parameter int OUT_ROWS = 2048,
  parameter int QP_ROWS = 192,
  parameter int LUT_ROWS = 128
) (
  input  logic [127:0] insn,
  input  logic [31:0]  dram_bytes,
  output logic [7:0]   err,
  output logic [1:0]   unit
);
  hdr_t h;  dma_t d;  gemm_t g;  alu_t a;  req_t r;  sync_t s;
  assign h = dec_hdr(insn);
  assign d = dec_dma(insn);
  assign g = dec_gemm(insn);
  assign a = dec_alu(insn);
  assign r = dec_req(insn);
  assign s = dec_sync(insn);

  function automatic logic [63:0] rows_of(input logic [2:0] mem);
    case (mem)
      MEM_INP: return 64'(INP_ROWS);
      MEM_WGT: return 64'(WGT_ROWS);
      MEM_ACC, MEM_ACC8: return 64'(ACC_ROWS);
      MEM_QP:  return 64'(QP_ROWS);
      MEM_OUT: return 64'(OUT_ROWS);
      MEM_LUT: return 64'(LUT_ROWS);
      default: return 64'd0;
    endcase
  endfunction

  logic [7:0]  kind_err, range_err;
  logic [63:0] box, eb, dram_end;
  always_comb begin
    // ---- opcode, memory id, fields; routing ----
    kind_err = ERR_OK;
    unit = Q_EX;
    case (h.opcode)
      OP_SYNC: begin
        unit = s.queue;
        if (s.queue == 2'd3) kind_err = ERR_ILLEGAL_FIELD;
      end
      OP_LOAD: begin
        if (d.mem_id == MEM_INP || d.mem_id == MEM_WGT) unit = Q_LD;
        else if (!(d.mem_id == MEM_ACC || d.mem_id == MEM_ACC8 || d.mem_id == MEM_QP ||
                   d.mem_id == MEM_LUT)) kind_err = ERR_ILLEGAL_MEM;
      end
      OP_STORE: begin
        unit = Q_ST;
        if (d.mem_id != MEM_OUT && d.mem_id != MEM_ACC) kind_err = ERR_ILLEGAL_MEM;
        else if (d.y_pad0 != 0 || d.y_pad1 != 0 || d.x_pad0 != 0 || d.x_pad1 != 0 ||
                 d.pad_val != 0) kind_err = ERR_ILLEGAL_FIELD;
      end
      OP_ALU: if (a.alu_op > ALU_MOV) kind_err = ERR_ILLEGAL_FIELD;
      OP_GEMM, OP_REQ, OP_LUT: ;
      default: kind_err = ERR_ILLEGAL_OPCODE;
    endcase

    // ---- SRAM rows, then DRAM bytes ----
    range_err = ERR_OK;
    box = '0;
    eb = '0;
    dram_end = '0;
    case (h.opcode)
      OP_SYNC:
        if (s.perf_snap && 64'(s.snap_addr) + 64'(SNAP_BYTES) > 64'(dram_bytes))
          range_err = ERR_DRAM_RANGE;
      OP_LOAD, OP_STORE: begin
        box = (h.opcode == OP_LOAD)
            ? (64'(d.y_pad0) + 64'(d.y_size) + 64'(d.y_pad1)) *
              (64'(d.x_pad0) + 64'(d.x_size) + 64'(d.x_pad1))
            : 64'(d.y_size) * 64'(d.x_size);
        eb = (d.mem_id == MEM_ACC || d.mem_id == MEM_QP) ? 64'(4 * DIM) : 64'(DIM);
        dram_end = 64'(d.dram_base) +
                   ((64'(d.y_size) - 1) * 64'(d.x_stride) + 64'(d.x_size) - 1) * eb + eb;
        if (box != 0 && 64'(d.sram_base) + box > rows_of(d.mem_id))
          range_err = ERR_SRAM_RANGE;
        else if (d.y_size != 0 && d.x_size != 0 && dram_end > 64'(dram_bytes))
          range_err = ERR_DRAM_RANGE;
      end
      OP_GEMM:
        if ((g.load_w && (32'(g.wgt_tile) + 1) * DIM > WGT_ROWS) ||
            span_end(16'(g.inp_base), g.iter_out, g.iter_in, 16'(g.inp_fo), 16'(g.inp_fi))
              > INP_ROWS ||
            span_end(16'(g.acc_base), g.iter_out, g.iter_in, 16'(g.acc_fo), 16'(g.acc_fi))
              > ACC_ROWS)
          range_err = ERR_SRAM_RANGE;
      OP_ALU:
        if (span_end(16'(a.dst), a.iter_out, a.iter_in, 16'(a.dst_fo), 16'(a.dst_fi))
              > ACC_ROWS ||
            (!a.use_imm &&
             span_end(16'(a.src), a.iter_out, a.iter_in, 16'(a.src_fo), 16'(a.src_fi))
              > ACC_ROWS))
          range_err = ERR_SRAM_RANGE;
      OP_REQ, OP_LUT:
        if ((r.is_lut ? (32'(r.qp_idx) + 1) * (256 / DIM) > LUT_ROWS
                      : 32'(r.qp_idx) * 3 + 3 > QP_ROWS) ||
            span_end(16'(r.src), r.iter_out, r.iter_in, 16'(r.src_fo), 16'(r.src_fi))
              > ACC_ROWS ||
            span_end(16'(r.dst), r.iter_out, r.iter_in, 16'(r.dst_fo), 16'(r.dst_fi))
              > (r.dst_inp ? INP_ROWS : OUT_ROWS))
          range_err = ERR_SRAM_RANGE;
      default: ;
    endcase

    // ---- priority: kind, then dependency flags, then ranges ----
    if (kind_err != ERR_OK) err = kind_err;
    else if ((unit == Q_LD && (h.pop_prev || h.push_prev)) ||
             (unit == Q_ST && (h.pop_next || h.push_next))) err = ERR_ILLEGAL_DEP;
    else err = range_err;
  end
endmodule
