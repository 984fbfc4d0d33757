"""Per-layer counters from SYNC perf_snap records, on fsim and on the RTL: a row per offloaded
layer, positive cycles summing to the region's, MACs from the ONNX shapes; snapshots leave
the outputs bit-identical; a target without perf_snap.c.j2 compiles, runs and says per-layer
data is unavailable."""

from __future__ import annotations

import ctypes
import itertools
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

import reference_npu
from reference_npu.isa.encoding import INSN_BYTES, MemId, Store, Sync, decode_program
from vendor_sdk.cli import app
from vendor_sdk.cli import e2e as cli_e2e
from vendor_sdk.codegen.cexpr import CodegenError
from vendor_sdk.codegen.perf import PERF_SNAP_TEMPLATE, perf_snap_c
from vendor_sdk.compile import Compiled, compile_model
from vendor_sdk.runtime.compare import RunResult, model_inputs, run_compiled
from vendor_sdk.runtime.npu import NpuSession
from vendor_sdk.runtime.perf import add, layer_deltas

BATCH = 2


@pytest.fixture(scope="module")
def no_snap_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference NPU's target.yaml, RTL and templates, minus the snapshot template:
    what a vendor target that does not declare the capability looks like."""
    src = Path(reference_npu.__file__).parent
    dst = tmp_path_factory.mktemp("nosnap") / "reference_npu"
    for d in ("templates", "rtl", "driver"):
        shutil.copytree(src / d, dst / d)
    shutil.copy(src / "target.yaml", dst / "target.yaml")
    (dst / "templates" / PERF_SNAP_TEMPLATE).unlink()
    return dst / "target.yaml"


@pytest.fixture(scope="module")
def runs(models: dict[str, Path], compiled: dict[str, Compiled]) -> dict[str, RunResult]:
    feeds = model_inputs(models["cnn"], batch=BATCH, seed=5)
    return {b: run_compiled(compiled["cnn"], models["cnn"], feeds, b) for b in ("fsim", "rtl")}


def onnx_macs(path: Path, batch: int) -> dict[str, int]:
    """MACs per Conv / MatMul node, from the ONNX model's inferred shapes."""
    m = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = {v.name: [d.dim_value or batch for d in v.type.tensor_type.shape.dim]
              for v in (*m.graph.value_info, *m.graph.input, *m.graph.output)}
    shapes |= {t.name: list(t.dims) for t in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}

    def shape(name: str) -> list[int]:  # through the weight's DequantizeLinear
        n = producer.get(name)
        return shapes[n.input[0]] if name not in shapes and n is not None else shapes[name]

    out = {}
    for n in m.graph.node:
        if n.op_type == "Conv":
            co, ci, kh, kw = shape(n.input[1])
            b, _, ho, wo = shapes[n.output[0]]
            out[n.name] = b * co * ho * wo * ci * kh * kw
        elif n.op_type == "MatMul":
            k, cols = shape(n.input[1])
            out[n.name] = int(np.prod(shape(n.input[0])[:-1])) * k * cols
    return out


@pytest.mark.parametrize("backend", ["fsim", "rtl"])
def test_a_row_per_layer_cycles_sum_to_the_region(backend: str, runs: dict[str, RunResult],
                                                  compiled: dict[str, Compiled],
                                                  models: dict[str, Path]) -> None:
    res, c = runs[backend], compiled["cnn"]
    layers = res.layers
    assert layers is not None
    assert [ls.function for _, ls in layers] == \
        [lc.function for r in c.cmodel.regions for lc in r.layers]
    assert {ls.op for _, ls in layers} == {"Conv", "MaxPool", "MatMul"}
    macs = onnx_macs(models["cnn"], BATCH)
    for region in res.stats:
        rows = region.layers
        assert rows and all(ls.calls == 1 for ls in rows)
        assert all(ls.cycles > 0 for ls in rows), rows
        total: dict[str, int] = {}
        for ls in rows:
            total = add(total, ls.counters)
        # the per-layer table adds up to the region's, every counter by its target.yaml name
        assert total == region.counters and list(total) == list(c.target.spec.counters)
        assert sum(ls.macs for ls in rows) == region.macs
        for ls in rows:
            expect = sum(macs.get(n, 0) for n in ls.onnx_nodes)
            assert ls.macs == expect, (ls.function, ls.onnx_nodes)
            assert (ls.macs > 0) == (ls.op in ("Conv", "MatMul"))
    assert sum(ls.cycles for _, ls in layers) == res.cycles


def _program(sess: NpuSession) -> bytes:
    """The reference driver's instruction list on the session's device context (the
    reference runtime library carries the driver, npu.h)."""
    lib = ctypes.CDLL(str(sess.device.library))
    lib.npu_insn_count.restype = ctypes.c_uint32
    lib.npu_insn_count.argtypes = [ctypes.c_void_p]
    lib.npu_insns.restype = ctypes.c_void_p
    lib.npu_insns.argtypes = [ctypes.c_void_p]
    n = lib.npu_insn_count(sess.device.context) * INSN_BYTES
    return ctypes.string_at(lib.npu_insns(sess.device.context), n) if n else b""


@pytest.mark.parametrize("backend", ["fsim", "rtl"])
def test_each_snapshot_sees_exactly_the_stores_before_it(backend: str,
                                                         compiled: dict[str, Compiled]) -> None:
    """The snapshot sits on the store queue after a layer's last STORE: whatever the timing,
    it records every byte the STOREs before it in the program wrote and none after (on the
    exec queue it would run before the layer's last STOREs)."""
    c = compiled["cnn"]
    r = c.cmodel.regions[0]
    dim = int(c.target.params["DIM"])  # type: ignore[attr-defined]
    sess = NpuSession(c.library, {r.name: r}, c.target, backend)
    try:
        shape = tuple(d if isinstance(d, int) else 1 for d in r.slots[0].shape)
        sess.run_region(r.name, np.random.default_rng(0).integers(-128, 128, shape, np.int8))
        program = decode_program(_program(sess))
    finally:
        sess.close()
    stored, before_snaps = 0, []
    for insn in program:
        if isinstance(insn, Store):
            stored += insn.y_size * insn.x_size * dim * (4 if insn.mem_id == MemId.ACC else 1)
        elif isinstance(insn, Sync) and insn.perf_snap:
            before_snaps.append(stored)
    layers = sess.stats[r.name].layers
    assert layers is not None and len(before_snaps) == len(layers) - 1 > 0
    seen = list(itertools.accumulate(ls.counters["dma_wr_bytes"] for ls in layers))
    assert seen == [*before_snaps, stored]


def test_snapshots_keep_outputs_bit_identical(no_snap_target: Path, models: dict[str, Path],
                                              runs: dict[str, RunResult]) -> None:
    plain = compile_model(models["cnn"], str(no_snap_target), {"N": 1})
    assert all(r.perf_records is None for r in plain.cmodel.regions)
    assert not any("perf_snap" in text for text in plain.cmodel.files.values())
    feeds = model_inputs(models["cnn"], batch=BATCH, seed=5)
    for backend, with_snaps in runs.items():
        res = run_compiled(plain, models["cnn"], feeds, backend)
        assert res.layers is None
        for a, b in zip(res.outputs, with_snaps.outputs, strict=True):
            np.testing.assert_array_equal(a, b)
        # exact counters do not see the snapshots (DMA_WR_BYTES leaves perf_snap out)
        for name in ("gemm_rows", "dma_rd_bytes"):
            assert [s.counters[name] for s in res.stats] == \
                [s.counters[name] for s in with_snaps.stats]


def test_cli_prints_the_per_layer_table(models: dict[str, Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_e2e.console, "_width", 160)  # 80 columns squeeze the table
    res = CliRunner().invoke(app, ["run", str(models["cnn"]), "--backend", "fsim", "--top", "2"])
    assert res.exit_code == 0, res.output
    assert "NPU per layer on fsim" in res.output
    assert "top 2 of 5 layers by cycles" in res.output
    # conv1 is the costliest conv since conv0 (3 input channels) runs on im2col patches
    assert "3 other layers" in res.output and "conv1" in res.output


def test_cli_says_per_layer_data_is_unavailable(no_snap_target: Path,
                                                models: dict[str, Path]) -> None:
    res = CliRunner().invoke(app, ["run", str(models["mlp"]), "--target", str(no_snap_target)])
    assert res.exit_code == 0, res.output
    assert "100.00% within 1 LSB" in res.output
    assert "per-layer data unavailable" in res.output


def test_counters_going_backwards_are_an_error(compiled: dict[str, Compiled]) -> None:
    region = compiled["cnn"].cmodel.regions[0]
    n = len(region.layers) - 1
    names = tuple(compiled["cnn"].target.spec.counters)  # type: ignore[attr-defined]
    records = np.tile(np.arange(1, len(names) + 1, dtype=np.uint64), (n, 1)) * 100
    final = {k: int(v) * 2 for k, v in zip(names, records[-1], strict=True)}
    assert sum(d["cycles"] for d in layer_deltas(region, records, final, names)) == \
        final["cycles"]
    records[1, 0] = 1  # the second snapshot earlier than the first
    with pytest.raises(ValueError, match=r"went backwards over layer .*region0_1"):
        layer_deltas(region, records, final, names)
    with pytest.raises(ValueError, match="counter records for"):
        layer_deltas(region, records[:-1], final, names)


def test_a_broken_snapshot_template_names_itself(tmp_path: Path) -> None:
    (tmp_path / PERF_SNAP_TEMPLATE).write_text("npu_sync({{ context }}, 0, {{ queue }}, 0, 1, "
                                               "{{ addr }})\n")
    # a counter record to snapshot (target.yaml counters:), the broken template to render
    target = SimpleNamespace(templates_dir=tmp_path, spec=SimpleNamespace(counters={"cycles": 0}))
    with pytest.raises(CodegenError, match=r"perf_snap\.c\.j2.*'context' is undefined"):
        perf_snap_c(target, "rt->ctx", "addr")
    (tmp_path / PERF_SNAP_TEMPLATE).write_text("{# nothing #}\n")
    with pytest.raises(CodegenError, match="renders no C expression"):
        perf_snap_c(target, "rt->ctx", "addr")


def test_cli_table_fits_80_columns(models: dict[str, Path],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A narrow terminal gets the compact table: no cell squeezed to an ellipsis."""
    monkeypatch.setattr(cli_e2e.console, "_width", 80)
    res = CliRunner().invoke(app, ["run", str(models["cnn"]), "--backend", "fsim"])
    assert res.exit_code == 0, res.output
    table = res.output[res.output.index("NPU per layer"):]
    assert "bound by" in table and "conv0" in table and "…" not in table
    assert all(len(line) <= 80 for line in table.splitlines())
