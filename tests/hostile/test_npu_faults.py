"""A target whose program faults on the NPU (issue 15): every backend stops with the same
error at the same instruction, and the message names the layer, its ONNX node and the
intrinsic call or glue behind that instruction, so a vendor knows which line to fix.

The faults are the mistakes a vendor makes in target.yaml and the glue: a dependency flag
too many in an emit snippet (the unit waits for a token nobody sends: DEADLOCK), an SRAM
row past the end of a memory (ROW_RANGE), a DRAM address the glue computed wrongly
(DRAM_RANGE on a store)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from example_npu import __file__ as example_init
from reference_npu import __file__ as reference_init
from tests.hostile.conftest import Outcome, cli


def _copy(tmp: Path, package_init: str, edits: dict[str, tuple[str, str, int]]) -> Path:
    """The bundled target copied to ``tmp`` with literal replacements per file
    (file -> (old, new, expected count)); returns its target.yaml."""
    src = Path(package_init).parent
    dst = tmp / src.name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, (old, new, count) in edits.items():
        path = dst / rel
        text = path.read_text()
        assert text.count(old) == count, (rel, old)
        path.write_text(text.replace(old, new))
    return dst / "target.yaml"


def _stop(out: Outcome) -> tuple[str, str]:
    """(error name, instruction index) of the NPU's stop, from the message."""
    m = re.search(r"(DEADLOCK|ROW_RANGE|DRAM_RANGE)(?: \(\d+\))? at instruction (\d+)", out.text)
    assert m, out.text
    return m[1], m[2]


@pytest.fixture(scope="module")
def deadlocking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Requantization waits for a store->exec token (POP_NEXT) that is never pushed."""
    tmp = tmp_path_factory.mktemp("deadlock")
    return _copy(tmp, reference_init, {"target.yaml": (
        "npu_requant({{ ctx }}, {{ deps }}", "npu_requant({{ ctx }}, ({{ deps }}) | 2u", 2)})


@pytest.mark.parametrize("backend", ["fsim", "rtl"])
def test_a_deadlock_is_the_same_error_on_both_backends_and_names_its_source(
        backend: str, deadlocking: Path, models: dict[str, Path], tmp_path: Path) -> None:
    out = cli("run", models["int8"], "--target", deadlocking, "--backend", backend,
              cwd=tmp_path)
    assert out.code == 2, out.text
    assert _stop(out) == ("DEADLOCK", "23"), out.text  # fsim and the RTL: one answer
    assert out.names(f"NPU ({backend}) stopped", "layer reference_npu_region0_0_dense_bias",
                     "ONNX node fc0", "intrinsic call requant_i32_i8_pc",
                     "emit snippet of intrinsics.requant_i32_i8_pc in target.yaml"), out.text


@pytest.fixture(scope="module")
def row_range(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example NPU's requantization reads its descriptor 200 rows past the right one:
    past the end of the prm memory (192 rows)."""
    tmp = tmp_path_factory.mktemp("row_range")
    return _copy(tmp, example_init, {"target.yaml": (
        "3 * {{ mult.row }}", "3 * {{ mult.row }} + 200", 2)})


@pytest.mark.parametrize("backend", ["fsim", "rtl"])
def test_an_sram_range_fault_on_the_example_npu_names_its_intrinsic(
        backend: str, row_range: Path, models: dict[str, Path], tmp_path: Path) -> None:
    out = cli("run", models["int8"], "--target", row_range, "--backend", backend,
              cwd=tmp_path)
    assert out.code == 2, out.text
    assert _stop(out) == ("ROW_RANGE", "12"), out.text
    assert out.names("layer example_npu_region0_0_dense_bias", "ONNX node fc0",
                     "intrinsic call requant_i32_i8_pc"), out.text


def test_a_glue_fault_is_blamed_on_the_glue_not_an_intrinsic(
        tmp_path: Path, models: dict[str, Path]) -> None:
    """The glue stores every row 1 GiB past its DRAM address: the faulting STORE is the
    glue's movement after the layer's last intrinsic call, which the message says."""
    target = _copy(tmp_path, reference_init, {"templates/runtime.c.j2": (
        "vsdk_data_row(rt, VSDK_G_STORE, mem, sram, dram);",
        "vsdk_data_row(rt, VSDK_G_STORE, mem, sram, dram + 0x40000000u);", 1)})
    out = cli("run", models["int8"], "--target", target, cwd=tmp_path)
    assert out.code == 2, out.text
    assert _stop(out)[0] == "DRAM_RANGE", out.text
    assert out.names("layer reference_npu_region0_0_dense_bias", "ONNX node fc0",
                     "the glue's data movement or synchronisation"), out.text
    assert "emit snippet" not in out.text
