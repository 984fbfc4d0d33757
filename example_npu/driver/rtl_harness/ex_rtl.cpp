// The RTL backend of the example NPU's driver: the Verilated ex_core in a shared
// library that ex.c dlopen()s (contract: ex_rtl_config_fn / ex_rtl_run_fn in ex_types.h).
// This file is ex_core's environment: it drives the clock and answers the instruction
// fetch and DRAM word requests the core registers, one cycle after each request.
#include <cstring>
#include <memory>

#include "Vex_core.h"
#include "ex_types.h"
#include "verilated.h"

namespace {

class Machine {
  public:
    Machine() : ctx_(new VerilatedContext), top_(new Vex_core(ctx_.get(), "ex")) {
        top_->clk = 0;
        top_->rst = 1;
        top_->start = 0;
        tick();
        tick();
        top_->rst = 0;
    }
    ~Machine() { top_->final(); }

    void tick() {
        top_->clk = 1;
        top_->eval();
        top_->clk = 0;
        top_->eval();
    }
    Vex_core &top() { return *top_; }

  private:
    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Vex_core> top_;
};

uint32_t hw_field(Vex_core &top, int i) { return top.hw_config[i]; }

}  // namespace

extern "C" int ex_rtl_config(ex_config *cfg) {
    if (!cfg) return -1;
    Machine m;
    Vex_core &top = m.top();
    *cfg = ex_config{hw_field(top, 0), hw_field(top, 1), hw_field(top, 2), hw_field(top, 3),
                     hw_field(top, 4), hw_field(top, 5), hw_field(top, 6), 0};
    return 0;
}

extern "C" int ex_rtl_run(const uint64_t *prog, uint32_t n_insns, uint8_t *dram,
                          uint64_t dram_bytes, uint64_t max_cycles, ex_status *status) {
    if (!status || (n_insns && !prog) || (dram_bytes && !dram)) return -1;
    Machine m;  // a fresh model: SRAMs start zeroed, as fsim's do
    Vex_core &top = m.top();
    top.n_insns = n_insns;
    top.dram_bytes = dram_bytes;
    top.start = 1;
    m.tick();
    top.start = 0;
    for (uint64_t cycle = 0; !top.done; cycle++) {
        if (cycle >= max_cycles) return -2;
        // answer what the core registered at the last edge, before the next one
        top.ifetch_valid = top.ifetch_req;
        if (top.ifetch_req) {
            if (top.ifetch_pc >= n_insns) return -3;
            top.ifetch_data = prog[top.ifetch_pc];
        }
        top.bus_rvalid = top.bus_req && !top.bus_we;
        if (top.bus_req) {
            uint64_t addr = top.bus_addr;
            if (addr + 4 > dram_bytes || addr % 4) return -3;
            if (top.bus_we) {
                uint32_t v = top.bus_wdata;
                std::memcpy(dram + addr, &v, 4);  // little-endian host
            } else {
                uint32_t v;
                std::memcpy(&v, dram + addr, 4);
                top.bus_rdata = v;
            }
        }
        m.tick();
    }
    for (uint32_t c = 0; c < EX_N_COUNTERS; c++)
        status->counters[c] = uint64_t(top.counters[2 * c]) | uint64_t(top.counters[2 * c + 1]) << 32;
    status->error = top.error;
    status->error_pc = top.error_pc;
    return 0;
}
