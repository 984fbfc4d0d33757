// RTL backend of the NPU driver: the Verilated npu_sim_top in a shared
// library. npu.c dlopen()s it and calls npu_rtl_run / npu_rtl_hw_config
// (contract in ../npu_types.h). DRAM is served in place through DPI
// (npu_dpi_mem.cpp); this file only drives the register port and the clock.
#include <cstring>
#include <memory>
#include <mutex>

#include "Vnpu_sim_top.h"
#include "npu_dpi_mem.h"
#include "npu_isa.h"
#include "npu_types.h"
#include "verilated.h"

namespace {

// The DPI memory is process-global, so runs are serialised.
std::mutex g_run_lock;

class Machine {
  public:
    Machine() : ctx_(new VerilatedContext), top_(new Vnpu_sim_top(ctx_.get(), "npu")) {
        top_->clk = 0;
        top_->rst = 1;
        top_->reg_wen = 0;
        top_->dram_ctl = 0;
        for (int i = 0; i < 2; i++) tick();
        top_->rst = 0;
        tick();
    }
    ~Machine() { top_->final(); }

    void tick() {
        top_->clk = 1;
        top_->eval();
        top_->clk = 0;
        top_->eval();
    }
    void write(uint32_t addr, uint32_t value) {
        top_->reg_addr = uint8_t(addr);
        top_->reg_wdata = value;
        top_->reg_wen = 1;
        tick();
        top_->reg_wen = 0;
    }
    uint32_t read(uint32_t addr) {
        top_->reg_addr = uint8_t(addr);
        top_->eval();
        return top_->reg_rdata;
    }
    uint64_t read64(uint32_t addr) { return read(addr) | uint64_t(read(addr + 4)) << 32; }
    bool done() const { return top_->done; }

  private:
    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Vnpu_sim_top> top_;
};

}  // namespace

extern "C" int npu_rtl_hw_config(npu_hw_config *cfg) {
    if (!cfg) return -1;
    std::lock_guard<std::mutex> guard(g_run_lock);
    Machine m;
    cfg->dim = m.read(NPU_REG_HW_DIM);
    cfg->inp_rows = m.read(NPU_REG_HW_INP_ROWS);
    cfg->wgt_rows = m.read(NPU_REG_HW_WGT_ROWS);
    cfg->acc_rows = m.read(NPU_REG_HW_ACC_ROWS);
    cfg->out_rows = m.read(NPU_REG_HW_OUT_ROWS);
    cfg->qp_rows = m.read(NPU_REG_HW_QP_ROWS);
    cfg->lut_rows = m.read(NPU_REG_HW_LUT_ROWS);
    cfg->token_depth = m.read(NPU_REG_HW_TOKEN_DEPTH);
    cfg->insn_queue_depth = m.read(NPU_REG_HW_INSN_QUEUE_DEPTH);
    return 0;
}

extern "C" int npu_rtl_run(const uint8_t *insns, uint32_t n_insns, uint8_t *dram,
                           uint64_t dram_bytes, uint64_t max_cycles, npu_stats *stats) {
    if (!stats || (n_insns && !insns) || (dram_bytes && !dram)) return -1;
    // DRAM must stay below the instruction window (32-bit DRAM addresses)
    if (dram_bytes > NPU_INSN_WINDOW) return -1;
    std::lock_guard<std::mutex> guard(g_run_lock);
    NpuHostMem &mem = npu_host_mem();
    mem.dram = dram;
    mem.dram_bytes = dram_bytes;
    mem.insns = insns;
    mem.insn_bytes = uint64_t(n_insns) * 16u;

    Machine m;
    m.write(NPU_REG_INSN_ADDR, NPU_INSN_WINDOW);
    m.write(NPU_REG_INSN_COUNT, n_insns);
    m.write(NPU_REG_DRAM_BYTES, uint32_t(dram_bytes));
    m.write(NPU_REG_START, 1);
    uint64_t cycles = 0;
    while (!m.done() && cycles < max_cycles) {
        m.tick();
        cycles++;
    }

    std::memset(stats, 0, sizeof *stats);
    stats->cycles = m.read64(NPU_REG_CYCLES);
    stats->gemm_rows = m.read64(NPU_REG_GEMM_ROWS);
    stats->gemm_busy = m.read64(NPU_REG_GEMM_BUSY);
    stats->ld_busy = m.read64(NPU_REG_LD_BUSY);
    stats->st_busy = m.read64(NPU_REG_ST_BUSY);
    stats->ex_busy = m.read64(NPU_REG_EX_BUSY);
    stats->dma_rd_bytes = m.read64(NPU_REG_DMA_RD_BYTES);
    stats->dma_wr_bytes = m.read64(NPU_REG_DMA_WR_BYTES);
    stats->insns = m.read64(NPU_REG_INSNS);
    stats->cycles_are_estimate = 0;
    if (m.done()) {
        stats->status = m.read(NPU_REG_STATUS);
        stats->error_code = (stats->status >> NPU_STATUS_CODE_LSB) & 0xFFu;
        stats->error_pc = stats->error_code ? m.read(NPU_REG_ERROR_PC) : 0;
    } else {
        stats->error_code = NPU_ERR_WATCHDOG;
        stats->error_pc = 0;
        stats->status = 1u << NPU_STATUS_DONE_LSB | 1u << NPU_STATUS_ERROR_LSB |
                        uint32_t(NPU_ERR_WATCHDOG) << NPU_STATUS_CODE_LSB;
    }
    mem = NpuHostMem{};
    return int(stats->error_code);
}
