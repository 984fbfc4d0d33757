// Host memory behind npu_sim_top's DPI memory model.
//
// DRAM is the caller's buffer, accessed in place: [0, dram_bytes).
// Instructions sit in their own window at NPU_INSN_WINDOW so DRAM stays
// exactly the caller's image. One model runs at a time per process.
#ifndef NPU_DPI_MEM_H
#define NPU_DPI_MEM_H

#include <cstdint>

constexpr uint32_t NPU_INSN_WINDOW = 0xF0000000u;

struct NpuHostMem {
    uint8_t *dram = nullptr;
    uint64_t dram_bytes = 0;
    const uint8_t *insns = nullptr;
    uint64_t insn_bytes = 0;
};

// The memory the DPI functions serve; set before running a model.
NpuHostMem &npu_host_mem();

#endif
