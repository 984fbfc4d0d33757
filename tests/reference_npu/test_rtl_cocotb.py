"""cocotb testbenches on npu_sim_top, run through the cocotb Python runner with
one cached Verilator build per configuration (vendor_sdk.sim)."""

from __future__ import annotations

import pathlib

import pytest

from vendor_sdk.sim import DEFAULT_PARAMS, RtlParams, run_cocotb
from vendor_sdk.sim.reference import npu_cocotb_design

TB_DIR = pathlib.Path(__file__).resolve().parent / "cocotb"


def run_tb(module: str, tmp_path: pathlib.Path, params: RtlParams = DEFAULT_PARAMS,
           extra_env: dict[str, str] | None = None) -> None:
    env = {
        "NPU_DRAM_IN": str(tmp_path / "dram_in.bin"),
        "NPU_INSNS_IN": str(tmp_path / "insns.bin"),
        "NPU_DRAM_OUT": str(tmp_path / "dram_out.bin"),
        **(extra_env or {}),
    }
    result = run_cocotb(npu_cocotb_design(params), module, tmp_path, module_dirs=[TB_DIR],
                        extra_env=env)
    assert result.tests > 0, f"no cocotb tests ran ({result.results_xml})"
    assert not result.failures, "\n".join(result.failures)


@pytest.mark.parametrize("dim", [8, 4])
def test_units(dim: int, tmp_path: pathlib.Path) -> None:
    run_tb("tb_npu_units", tmp_path, RtlParams(dim=dim))
