// DPI functions imported by npu_sim_top: byte-addressed reads and writes of
// up to 64 bytes on the host buffers, and (for cocotb) loading/dumping the
// DRAM image from/to files named by environment variables.
#include "npu_dpi_mem.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "svdpi.h"

NpuHostMem &npu_host_mem() {
    static NpuHostMem mem;
    return mem;
}

namespace {

// Resolves [addr, addr + n) to host bytes, or nullptr when outside both windows.
uint8_t *resolve(uint32_t addr, int n, bool write) {
    NpuHostMem &m = npu_host_mem();
    uint64_t end = uint64_t(addr) + uint64_t(n);
    if (addr >= NPU_INSN_WINDOW) {
        uint64_t off = addr - NPU_INSN_WINDOW;
        if (write || off + uint64_t(n) > m.insn_bytes) return nullptr;
        return const_cast<uint8_t *>(m.insns) + off;
    }
    if (end > m.dram_bytes) return nullptr;
    return m.dram + addr;
}

// Buffers backing the cocotb flow (files in, file out).
std::vector<uint8_t> g_file_dram, g_file_insns;

std::vector<uint8_t> read_file(const char *path) {
    std::vector<uint8_t> data;
    FILE *f = path ? std::fopen(path, "rb") : nullptr;
    if (!f) {
        std::fprintf(stderr, "npu_dpi_mem: cannot open %s\n", path ? path : "(unset)");
        return data;
    }
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    data.resize(size > 0 ? size_t(size) : 0);
    if (!data.empty() && std::fread(data.data(), 1, data.size(), f) != data.size()) data.clear();
    std::fclose(f);
    return data;
}

}  // namespace

extern "C" int npu_mem_read(unsigned addr, int nbytes, svBitVecVal *data) {
    std::memset(data, 0, 64);
    const uint8_t *src = resolve(addr, nbytes, false);
    if (!src) return 1;
    // svBitVecVal words are little-endian 32-bit chunks: byte i -> bits 8i..8i+7
    for (int i = 0; i < nbytes; i++) data[i / 4] |= svBitVecVal(src[i]) << (8 * (i % 4));
    return 0;
}

extern "C" int npu_mem_write(unsigned addr, int nbytes, const svBitVecVal *data) {
    uint8_t *dst = resolve(addr, nbytes, true);
    if (!dst) return 1;
    for (int i = 0; i < nbytes; i++) dst[i] = uint8_t(data[i / 4] >> (8 * (i % 4)));
    return 0;
}

// cmd 1: load $NPU_DRAM_IN and $NPU_INSNS_IN; cmd 2: write DRAM to $NPU_DRAM_OUT.
extern "C" void npu_dram_control(int cmd) {
    NpuHostMem &m = npu_host_mem();
    if (cmd == 1) {
        g_file_dram = read_file(std::getenv("NPU_DRAM_IN"));
        g_file_insns = read_file(std::getenv("NPU_INSNS_IN"));
        m.dram = g_file_dram.data();
        m.dram_bytes = g_file_dram.size();
        m.insns = g_file_insns.data();
        m.insn_bytes = g_file_insns.size();
    } else if (cmd == 2) {
        const char *path = std::getenv("NPU_DRAM_OUT");
        FILE *f = path ? std::fopen(path, "wb") : nullptr;
        if (!f) {
            std::fprintf(stderr, "npu_dpi_mem: cannot write %s\n", path ? path : "(unset)");
            return;
        }
        if (m.dram_bytes) std::fwrite(m.dram, 1, m.dram_bytes, f);
        std::fclose(f);
    }
}
