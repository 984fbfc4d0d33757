/* reference_npu_region0_0_conv2d_bias_relu: Conv from ONNX node 'relu0', pattern conv2d_bias_relu (tensorize: gemm_i8_i32, requant_i32_i8_pc, alu_mov) */
/* input im2col (host): 4 reduction steps per row instead of 9, modelled 4,833 vs 8,846 cycles */
static void reference_npu_region0_0_conv2d_bias_relu(vsdk_rt *rt, int64_t N, uint32_t X, uint32_t Y, uint32_t c, uint32_t S) {
    (void)S;
    /* B: 2 acc rows from row 2046, loaded once */
    for (uint32_t r_ = 0; r_ < (uint32_t)(2); r_++) vsdk_load_row(rt, NPU_MEM_ACC, (uint32_t)(2046) + r_, (uint32_t)((c + 512u)) + r_ * 32u);
    /* requantization descriptors of every output channel, loaded once: 2 */
    for (uint32_t r_ = 0; r_ < (uint32_t)(6); r_++) vsdk_load_row(rt, NPU_MEM_QP, (uint32_t)(0) + r_, (uint32_t)((c + 576u)) + r_ * 32u);
    /* C_acc: int32[32, 16] in acc rows 0..+64 */
    /* A_inp: int8[2, 32, 32] in inp rows 0..+256 */
    /* B_wgt: int8[2, 32, 16] in wgt rows 0..+128 */
    /* stage B_load: W -> B_wgt (wgt) */
    for (int64_t B_load_n_blk = 0; B_load_n_blk < 2; B_load_n_blk++) {
        for (int64_t B_load_k = 0; B_load_k < 32; B_load_k++) {
            vsdk_load_row(rt, NPU_MEM_WGT, (uint32_t)(64 * B_load_n_blk + B_load_k), (uint32_t)((c + 0u) + 16 * B_load_k + 8 * B_load_n_blk));
        }
    }
    for (int64_t t_m = 0; t_m < 8 * N; t_m++) {
        const int64_t t_m_mod2 = vsdk_fmod(t_m, 2);
        const int64_t t_m_div8 = vsdk_fdiv(t_m, 8);
        const int64_t t_m_mod8 = vsdk_fmod(t_m, 8);
        /* stage C_init: B -> C_acc (acc) */
        /* fill C_init: B (acc row 2046..) -> C_acc, broadcast by alu_mov */
        for (int64_t C_init_n_blk = 0; C_init_n_blk < 2; C_init_n_blk++) {
            { /* C_init */
                const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(C_init_n_blk + 2046), (uint32_t)(1), 1, 0}, {NPU_MEM_ACC, (uint32_t)(32 * C_init_n_blk), (uint32_t)(32), 0, 1}};
                vsdk_flush(rt);
                uint32_t deps = vsdk_exec(rt, 2, acc_);
                const uint32_t mark_ = vsdk_mark(rt);
                npu_alu(vsdk_ctx(rt), deps, NPU_ALU_MOV, 0, (uint32_t)(32 * C_init_n_blk), (uint32_t)(C_init_n_blk + 2046), (uint32_t)(32), 1, 1, 0, 0, 0, 0);
                vsdk_check(rt, mark_);
                VSDK_SITE_("alu_mov (C_init)", mark_);
            }
        }
        /* stage A_load: X -> A_inp (inp) */
        vsdk_dram_fence(rt, NPU_MEM_INP);
        for (int64_t A_load_k_blk = 0; A_load_k_blk < 4; A_load_k_blk++) {
            for (int64_t A_load_m = 0; A_load_m < 32; A_load_m++) {
                vsdk_load_row(rt, NPU_MEM_INP, (uint32_t)(64 * A_load_k_blk + 32 * t_m_mod2 + A_load_m), (uint32_t)(X + 8192 * t_m_div8 + 1024 * t_m_mod8 + 512 * vsdk_fdiv(A_load_m, 16) + 32 * vsdk_fmod(A_load_m, 16) + 8 * A_load_k_blk));
            }
        }
        for (int64_t s_n = 0; s_n < 2; s_n++) {
            for (int64_t s_k = 0; s_k < 4; s_k++) {
                { /* gemm_i8_i32 */
                    const vsdk_access acc_[3] = {{NPU_MEM_INP, (uint32_t)(64 * s_k + 32 * t_m_mod2), (uint32_t)(32), 1, 0}, {NPU_MEM_WGT, (uint32_t)(64 * s_n + 8 * s_k), (uint32_t)(8), 1, 0}, {NPU_MEM_ACC, (uint32_t)(32 * s_n), (uint32_t)(32), 1, 1}};
                    vsdk_flush(rt);
                    uint32_t deps = vsdk_exec(rt, 3, acc_);
                    const uint32_t mark_ = vsdk_mark(rt);
                    npu_gemm(vsdk_ctx(rt), deps, 1, 1, (uint32_t)(8 * s_n + s_k), (uint32_t)(64 * s_k + 32 * t_m_mod2), (uint32_t)(32 * s_n), (uint32_t)(32), 1, 1, 0, 1, 0);
                    vsdk_check(rt, mark_);
                    VSDK_SITE_("gemm_i8_i32", mark_);
                }
            }
        }
        /* requantize C_store: 2 x 8 channels */
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(0), (uint32_t)(32), 1, 0}, {NPU_MEM_OUT, (uint32_t)(0), (uint32_t)(32), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(0), (uint32_t)(0), (uint32_t)(0), (uint32_t)(32), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(32), (uint32_t)(32), 1, 0}, {NPU_MEM_OUT, (uint32_t)(32), (uint32_t)(32), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(32), (uint32_t)(32), (uint32_t)(1), (uint32_t)(32), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        /* store C_store: C_acc (out) -> Y */
        for (int64_t C_store_n_blk = 0; C_store_n_blk < 2; C_store_n_blk++) {
            for (int64_t C_store_m = 0; C_store_m < 32; C_store_m++) {
                vsdk_store_row(rt, NPU_MEM_OUT, (uint32_t)(32 * C_store_n_blk + C_store_m), (uint32_t)(Y + 4096 * t_m_div8 + 512 * t_m_mod8 + 256 * vsdk_fdiv(C_store_m, 16) + 16 * vsdk_fmod(C_store_m, 16) + 8 * C_store_n_blk));
            }
        }
    }
    vsdk_flush(rt);
}

/* reference_npu_region0_1_conv2d_bias_relu: Conv from ONNX node 'relu1', pattern conv2d_bias_relu (tensorize: gemm_i8_i32, requant_i32_i8_pc, alu_mov) */
static void reference_npu_region0_1_conv2d_bias_relu(vsdk_rt *rt, int64_t N, uint32_t X, uint32_t Y, uint32_t c, uint32_t S) {
    (void)S;
    /* B: 4 acc rows from row 2044, loaded once */
    for (uint32_t r_ = 0; r_ < (uint32_t)(4); r_++) vsdk_load_row(rt, NPU_MEM_ACC, (uint32_t)(2044) + r_, (uint32_t)((c + 5376u)) + r_ * 32u);
    /* requantization descriptors of every output channel, loaded once: 4 */
    for (uint32_t r_ = 0; r_ < (uint32_t)(12); r_++) vsdk_load_row(rt, NPU_MEM_QP, (uint32_t)(0) + r_, (uint32_t)((c + 5504u)) + r_ * 32u);
    /* C_acc: int32[64, 32] in acc rows 0..+256 */
    /* A_inp: int8[2, 64, 16] in inp rows 0..+256 */
    /* B_wgt: int8[2, 16, 32] in wgt rows 0..+128 */
    for (int64_t t_m = 0; t_m < N; t_m++) {
        /* stage C_init: B -> C_acc (acc) */
        /* fill C_init: B (acc row 2044..) -> C_acc, broadcast by alu_mov */
        for (int64_t C_init_n_blk = 0; C_init_n_blk < 4; C_init_n_blk++) {
            { /* C_init */
                const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(C_init_n_blk + 2044), (uint32_t)(1), 1, 0}, {NPU_MEM_ACC, (uint32_t)(64 * C_init_n_blk), (uint32_t)(64), 0, 1}};
                vsdk_flush(rt);
                uint32_t deps = vsdk_exec(rt, 2, acc_);
                const uint32_t mark_ = vsdk_mark(rt);
                npu_alu(vsdk_ctx(rt), deps, NPU_ALU_MOV, 0, (uint32_t)(64 * C_init_n_blk), (uint32_t)(C_init_n_blk + 2044), (uint32_t)(64), 1, 1, 0, 0, 0, 0);
                vsdk_check(rt, mark_);
                VSDK_SITE_("alu_mov (C_init)", mark_);
            }
        }
        for (int64_t t_k = 0; t_k < 9; t_k++) {
            const int64_t t_k_mod2 = vsdk_fmod(t_k, 2);
            const int64_t t_k_div3 = vsdk_fdiv(t_k, 3);
            const int64_t t_k_mod3 = vsdk_fmod(t_k, 3);
            /* stage B_load: W -> B_wgt (wgt) */
            for (int64_t B_load_n_blk = 0; B_load_n_blk < 4; B_load_n_blk++) {
                for (int64_t B_load_k = 0; B_load_k < 16; B_load_k++) {
                    vsdk_load_row(rt, NPU_MEM_WGT, (uint32_t)(32 * B_load_n_blk + 16 * t_k_mod2 + B_load_k), (uint32_t)((c + 768u) + 1536 * t_k_div3 + 512 * t_k_mod3 + 32 * B_load_k + 8 * B_load_n_blk));
                }
            }
            /* stage A_load: X -> A_inp (inp) */
            vsdk_dram_fence(rt, NPU_MEM_INP);
            for (int64_t A_load_k_blk = 0; A_load_k_blk < 2; A_load_k_blk++) {
                for (int64_t A_load_m = 0; A_load_m < 64; A_load_m++) {
                    const int64_t iy = 2 * vsdk_fdiv(A_load_m, 8) + t_k_div3 - 1;
                    const int64_t ix = 2 * vsdk_fmod(A_load_m, 8) + t_k_mod3 - 1;
                    if (iy >= 0 && iy < 16 && ix >= 0 && ix < 16) {
                        vsdk_load_row(rt, NPU_MEM_INP, (uint32_t)(128 * A_load_k_blk + 64 * t_k_mod2 + A_load_m), (uint32_t)(X + 4096 * t_m + 256 * iy + 16 * ix + 8 * A_load_k_blk));
                    } else {
                        vsdk_pad_row(rt, NPU_MEM_INP, (uint32_t)(128 * A_load_k_blk + 64 * t_k_mod2 + A_load_m), -128);
                    }
                }
            }
            for (int64_t s_n = 0; s_n < 4; s_n++) {
                for (int64_t s_k = 0; s_k < 2; s_k++) {
                    { /* gemm_i8_i32 */
                        const vsdk_access acc_[3] = {{NPU_MEM_INP, (uint32_t)(128 * s_k + 64 * t_k_mod2), (uint32_t)(64), 1, 0}, {NPU_MEM_WGT, (uint32_t)(32 * s_n + 16 * t_k_mod2 + 8 * s_k), (uint32_t)(8), 1, 0}, {NPU_MEM_ACC, (uint32_t)(64 * s_n), (uint32_t)(64), 1, 1}};
                        vsdk_flush(rt);
                        uint32_t deps = vsdk_exec(rt, 3, acc_);
                        const uint32_t mark_ = vsdk_mark(rt);
                        npu_gemm(vsdk_ctx(rt), deps, 1, 1, (uint32_t)(4 * s_n + 2 * t_k_mod2 + s_k), (uint32_t)(128 * s_k + 64 * t_k_mod2), (uint32_t)(64 * s_n), (uint32_t)(64), 1, 1, 0, 1, 0);
                        vsdk_check(rt, mark_);
                        VSDK_SITE_("gemm_i8_i32", mark_);
                    }
                }
            }
        }
        /* requantize C_store: 4 x 8 channels */
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(0), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(0), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(0), (uint32_t)(0), (uint32_t)(0), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(64), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(64), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(64), (uint32_t)(64), (uint32_t)(1), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(128), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(128), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(128), (uint32_t)(128), (uint32_t)(2), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(192), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(192), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(192), (uint32_t)(192), (uint32_t)(3), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        /* store C_store: C_acc (out) -> Y */
        for (int64_t C_store_n_blk = 0; C_store_n_blk < 4; C_store_n_blk++) {
            for (int64_t C_store_m = 0; C_store_m < 64; C_store_m++) {
                vsdk_store_row(rt, NPU_MEM_OUT, (uint32_t)(64 * C_store_n_blk + C_store_m), (uint32_t)(Y + 2048 * t_m + 256 * vsdk_fdiv(C_store_m, 8) + 32 * vsdk_fmod(C_store_m, 8) + 8 * C_store_n_blk));
            }
        }
    }
    vsdk_flush(rt);
}

/* reference_npu_region0_2_conv2d_bias_relu: Conv from ONNX node 'relu2', pattern conv2d_bias_relu (tensorize: gemm_i8_i32, requant_i32_i8_pc, alu_mov) */
static void reference_npu_region0_2_conv2d_bias_relu(vsdk_rt *rt, int64_t N, uint32_t X, uint32_t Y, uint32_t c, uint32_t S) {
    (void)S;
    /* B: 3 acc rows from row 2045, loaded once */
    for (uint32_t r_ = 0; r_ < (uint32_t)(3); r_++) vsdk_load_row(rt, NPU_MEM_ACC, (uint32_t)(2045) + r_, (uint32_t)((c + 6656u)) + r_ * 32u);
    /* requantization descriptors of every output channel, loaded once: 3 */
    for (uint32_t r_ = 0; r_ < (uint32_t)(9); r_++) vsdk_load_row(rt, NPU_MEM_QP, (uint32_t)(0) + r_, (uint32_t)((c + 6784u)) + r_ * 32u);
    /* C_acc: int32[64, 24] in acc rows 0..+192 */
    /* A_inp: int8[2, 64, 8] in inp rows 0..+128 */
    /* B_wgt: int8[2, 8, 24] in wgt rows 0..+48 */
    for (int64_t t_m = 0; t_m < N; t_m++) {
        /* stage C_init: B -> C_acc (acc) */
        /* fill C_init: B (acc row 2045..) -> C_acc, broadcast by alu_mov */
        for (int64_t C_init_n_blk = 0; C_init_n_blk < 3; C_init_n_blk++) {
            { /* C_init */
                const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(C_init_n_blk + 2045), (uint32_t)(1), 1, 0}, {NPU_MEM_ACC, (uint32_t)(64 * C_init_n_blk), (uint32_t)(64), 0, 1}};
                vsdk_flush(rt);
                uint32_t deps = vsdk_exec(rt, 2, acc_);
                const uint32_t mark_ = vsdk_mark(rt);
                npu_alu(vsdk_ctx(rt), deps, NPU_ALU_MOV, 0, (uint32_t)(64 * C_init_n_blk), (uint32_t)(C_init_n_blk + 2045), (uint32_t)(64), 1, 1, 0, 0, 0, 0);
                vsdk_check(rt, mark_);
                VSDK_SITE_("alu_mov (C_init)", mark_);
            }
        }
        for (int64_t t_k = 0; t_k < 4; t_k++) {
            const int64_t t_k_mod2 = vsdk_fmod(t_k, 2);
            /* stage B_load: W -> B_wgt (wgt) */
            for (int64_t B_load_n_blk = 0; B_load_n_blk < 3; B_load_n_blk++) {
                for (int64_t B_load_k = 0; B_load_k < 8; B_load_k++) {
                    vsdk_load_row(rt, NPU_MEM_WGT, (uint32_t)(16 * B_load_n_blk + 8 * t_k_mod2 + B_load_k), (uint32_t)((c + 5888u) + 192 * t_k + 24 * B_load_k + 8 * B_load_n_blk));
                }
            }
            /* stage A_load: X -> A_inp (inp) */
            vsdk_dram_fence(rt, NPU_MEM_INP);
            for (int64_t A_load_m = 0; A_load_m < 64; A_load_m++) {
                vsdk_load_row(rt, NPU_MEM_INP, (uint32_t)(64 * t_k_mod2 + A_load_m), (uint32_t)(X + 2048 * t_m + 256 * vsdk_fdiv(A_load_m, 8) + 32 * vsdk_fmod(A_load_m, 8) + 8 * t_k));
            }
            for (int64_t s_n = 0; s_n < 3; s_n++) {
                { /* gemm_i8_i32 */
                    const vsdk_access acc_[3] = {{NPU_MEM_INP, (uint32_t)(64 * t_k_mod2), (uint32_t)(64), 1, 0}, {NPU_MEM_WGT, (uint32_t)(16 * s_n + 8 * t_k_mod2), (uint32_t)(8), 1, 0}, {NPU_MEM_ACC, (uint32_t)(64 * s_n), (uint32_t)(64), 1, 1}};
                    vsdk_flush(rt);
                    uint32_t deps = vsdk_exec(rt, 3, acc_);
                    const uint32_t mark_ = vsdk_mark(rt);
                    npu_gemm(vsdk_ctx(rt), deps, 1, 1, (uint32_t)(2 * s_n + t_k_mod2), (uint32_t)(64 * t_k_mod2), (uint32_t)(64 * s_n), (uint32_t)(64), 1, 1, 0, 1, 0);
                    vsdk_check(rt, mark_);
                    VSDK_SITE_("gemm_i8_i32", mark_);
                }
            }
        }
        /* requantize C_store: 3 x 8 channels */
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(0), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(0), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(0), (uint32_t)(0), (uint32_t)(0), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(64), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(64), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(64), (uint32_t)(64), (uint32_t)(1), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        { /* C_store */
            const vsdk_access acc_[2] = {{NPU_MEM_ACC, (uint32_t)(128), (uint32_t)(64), 1, 0}, {NPU_MEM_OUT, (uint32_t)(128), (uint32_t)(64), 0, 1}};
            vsdk_flush(rt);
            uint32_t deps = vsdk_exec(rt, 2, acc_);
            const uint32_t mark_ = vsdk_mark(rt);
            npu_requant(vsdk_ctx(rt), deps, (uint32_t)(128), (uint32_t)(128), (uint32_t)(2), (uint32_t)(64), 1, 1, 0, 1, 0, 1, 0);
            vsdk_check(rt, mark_);
            VSDK_SITE_("requant_i32_i8_pc (C_store)", mark_);
        }
        /* store C_store: C_acc (out) -> Y */
        for (int64_t C_store_n_blk = 0; C_store_n_blk < 3; C_store_n_blk++) {
            for (int64_t C_store_m = 0; C_store_m < 64; C_store_m++) {
                vsdk_store_row(rt, NPU_MEM_OUT, (uint32_t)(64 * C_store_n_blk + C_store_m), (uint32_t)(Y + 1536 * t_m + 192 * vsdk_fdiv(C_store_m, 8) + 24 * vsdk_fmod(C_store_m, 8) + 8 * C_store_n_blk));
            }
        }
    }
    vsdk_flush(rt);
}
