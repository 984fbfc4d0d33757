// RTL-side additions to the generated npu_isa_pkg (opcodes, memory ids,
// error codes, register offsets and field positions all come from there):
// decoded-instruction structs built from its field getters, memory-port
// client tags and the perf-counter count.
package npu_pkg;
  import npu_isa_pkg::*;

  localparam int N_PERF = SNAP_BYTES / 8;   // 64-bit counters, npu_stats order

  // Memory-port client tags (lower index wins arbitration).
  localparam int N_CLIENTS = 5;
  localparam logic [2:0] TAG_FETCH = 3'd0;
  localparam logic [2:0] TAG_ST    = 3'd1;
  localparam logic [2:0] TAG_EXLD  = 3'd2;
  localparam logic [2:0] TAG_LD    = 3'd3;
  localparam logic [2:0] TAG_SNAP  = 3'd4;

  typedef struct packed {
    logic       push_next;
    logic       push_prev;
    logic       pop_next;
    logic       pop_prev;
    logic [2:0] opcode;
  } hdr_t;

  // LOAD and STORE share one layout.
  typedef struct packed {
    logic [2:0]  mem_id;
    logic [15:0] sram_base;
    logic [31:0] dram_base;
    logic [11:0] y_size;
    logic [11:0] x_size;
    logic [15:0] x_stride;
    logic [3:0]  y_pad0, y_pad1, x_pad0, x_pad1;
    logic [7:0]  pad_val;
  } dma_t;

  typedef struct packed {
    logic        accum, load_w;
    logic [13:0] wgt_tile, inp_base, acc_base;
    logic [9:0]  iter_out, iter_in;
    logic [13:0] inp_fo, inp_fi, acc_fo, acc_fi;
  } gemm_t;

  typedef struct packed {
    logic [3:0]  alu_op;
    logic        use_imm;
    logic [13:0] dst, src;
    logic [9:0]  iter_out, iter_in;
    logic [11:0] dst_fo, dst_fi, src_fo, src_fi;
    logic [15:0] imm;
  } alu_t;

  // REQ and LUT (table in place of qp_idx/per_chan) share one struct.
  typedef struct packed {
    logic        is_lut;
    logic [13:0] src, dst;
    logic [5:0]  qp_idx;      // LUT: table
    logic [9:0]  iter_out, iter_in;
    logic [11:0] src_fo, src_fi, dst_fo, dst_fi;
    logic        per_chan, dst_inp;
  } req_t;

  typedef struct packed {
    logic        finish;
    logic [1:0]  queue;
    logic        perf_snap;
    logic [31:0] snap_addr;
  } sync_t;

  function automatic hdr_t dec_hdr(input logic [127:0] i);
    hdr_t h;
    h.opcode = hdr_opcode(i);       h.pop_prev = hdr_pop_prev(i);
    h.pop_next = hdr_pop_next(i);   h.push_prev = hdr_push_prev(i);
    h.push_next = hdr_push_next(i);
    return h;
  endfunction

  function automatic dma_t dec_dma(input logic [127:0] i);
    dma_t d;
    d.mem_id = load_mem_id(i);       d.sram_base = load_sram_base(i);
    d.dram_base = load_dram_base(i); d.y_size = load_y_size(i);
    d.x_size = load_x_size(i);       d.x_stride = load_x_stride(i);
    d.y_pad0 = load_y_pad0(i);       d.y_pad1 = load_y_pad1(i);
    d.x_pad0 = load_x_pad0(i);       d.x_pad1 = load_x_pad1(i);
    d.pad_val = load_pad_val(i);
    return d;
  endfunction

  function automatic gemm_t dec_gemm(input logic [127:0] i);
    gemm_t g;
    g.accum = gemm_accum(i);         g.load_w = gemm_load_w(i);
    g.wgt_tile = gemm_wgt_tile(i);   g.inp_base = gemm_inp_base(i);
    g.acc_base = gemm_acc_base(i);   g.iter_out = gemm_iter_out(i);
    g.iter_in = gemm_iter_in(i);     g.inp_fo = gemm_inp_fo(i);
    g.inp_fi = gemm_inp_fi(i);       g.acc_fo = gemm_acc_fo(i);
    g.acc_fi = gemm_acc_fi(i);
    return g;
  endfunction

  function automatic alu_t dec_alu(input logic [127:0] i);
    alu_t a;
    a.alu_op = alu_alu_op(i);        a.use_imm = alu_use_imm(i);
    a.dst = alu_dst(i);              a.src = alu_src(i);
    a.iter_out = alu_iter_out(i);    a.iter_in = alu_iter_in(i);
    a.dst_fo = alu_dst_fo(i);        a.dst_fi = alu_dst_fi(i);
    a.src_fo = alu_src_fo(i);        a.src_fi = alu_src_fi(i);
    a.imm = alu_imm(i);
    return a;
  endfunction

  function automatic req_t dec_req(input logic [127:0] i);
    req_t r;
    r.is_lut = hdr_opcode(i) == OP_LUT;
    if (r.is_lut) begin
      r.src = lut_src_acc(i);        r.dst = lut_dst(i);
      r.qp_idx = 6'(lut_table(i));   r.iter_out = lut_iter_out(i);
      r.iter_in = lut_iter_in(i);    r.src_fo = lut_src_fo(i);
      r.src_fi = lut_src_fi(i);      r.dst_fo = lut_dst_fo(i);
      r.dst_fi = lut_dst_fi(i);      r.per_chan = 1'b0;
      r.dst_inp = lut_dst_inp(i);
    end else begin
      r.src = req_src_acc(i);        r.dst = req_dst(i);
      r.qp_idx = req_qp_idx(i);      r.iter_out = req_iter_out(i);
      r.iter_in = req_iter_in(i);    r.src_fo = req_src_fo(i);
      r.src_fi = req_src_fi(i);      r.dst_fo = req_dst_fo(i);
      r.dst_fi = req_dst_fi(i);      r.per_chan = req_per_chan(i);
      r.dst_inp = req_dst_inp(i);
    end
    return r;
  endfunction

  function automatic sync_t dec_sync(input logic [127:0] i);
    sync_t s;
    s.finish = sync_finish(i);       s.queue = sync_queue(i);
    s.perf_snap = sync_perf_snap(i); s.snap_addr = sync_snap_addr(i);
    return s;
  endfunction

  // One past the last row of the loop base + i*fo + j*fi (i < no, j < ni);
  // 0 when the loop is empty, so "end > rows" means out of range.
  function automatic logic [31:0] span_end(input logic [15:0] base, input logic [9:0] no,
                                           input logic [9:0] ni, input logic [15:0] fo,
                                           input logic [15:0] fi);
    if (no == 0 || ni == 0) return 32'd0;
    return 32'(base) + 32'(no - 1'b1) * 32'(fo) + 32'(ni - 1'b1) * 32'(fi) + 32'd1;
  endfunction
endpackage
