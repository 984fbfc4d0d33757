"""cocotb testbenches on the example NPU's RTL (ex_core), run through vendor_sdk.sim's
cocotb runner with one cached Verilator build per configuration."""

from __future__ import annotations

import pathlib

import pytest

from example_npu import RTL_DIR
from vendor_sdk.sim import CocotbDesign, run_cocotb

TB_DIR = pathlib.Path(__file__).resolve().parent / "cocotb"
SMALL = {"ACT_ROWS": 64, "WTS_ROWS": 64, "PSUM_ROWS": 64, "RES_ROWS": 64, "PRM_ROWS": 12}


def design(n: int, k: int) -> CocotbDesign:
    sources = [RTL_DIR / "ex_lint.vlt", RTL_DIR / "ex_cocotb.vlt", RTL_DIR / "ex_isa_pkg.sv",
               RTL_DIR / "ex_dot.sv", RTL_DIR / "ex_requant.sv", RTL_DIR / "ex_valu.sv",
               RTL_DIR / "ex_core.sv"]
    params = {"N": n, "K": k, **SMALL}
    return CocotbDesign("ex_core", tuple(sources), tuple(params.items()))


@pytest.mark.parametrize(("n", "k"), [(4, 16), (8, 32)])
def test_ex_core(n: int, k: int, tmp_path: pathlib.Path) -> None:
    env = {"EX_N": str(n), "EX_K": str(k), "EX_PRM_ROWS": str(SMALL["PRM_ROWS"])}
    result = run_cocotb(design(n, k), "tb_ex_core", tmp_path, module_dirs=[TB_DIR],
                        extra_env=env)
    assert result.tests == 3, f"expected 3 cocotb tests ({result.results_xml})"
    assert not result.failures, "\n".join(result.failures)
