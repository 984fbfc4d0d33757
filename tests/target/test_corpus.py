"""A corpus of broken target files: each gives located errors and exit 2, never a traceback.

Most entries mutate the bundled reference_npu/target.yaml (one mistake each);
the rest are hand-written files. Each runs through `vendor-sdk validate`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vendor_sdk.cli import app

REF_DIR = Path("reference_npu").resolve()
REF_TEXT = (REF_DIR / "target.yaml").read_text()
LOCATED = re.compile(r"^(?P<file>\S+):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): (?P<msg>.+)$",
                     re.M)

# (old, new, expected field path fragment, error is on the mutated line)
MUTATIONS: list[tuple[str, str, str, bool]] = [
    ("schema_version: 1", "schema_version: 2", "schema_version", True),
    ("target: reference_npu", "target: reference-npu", "target", True),
    ("  DIM: 8", "  DIM: eight", "params.DIM", True),
    ("rows: INP_ROWS", "rows: INP_ROW", "memories.inp.rows", True),
    ('row_elems: DIM, doc: "GEMM', 'row_elem: DIM, doc: "GEMM', "memories.inp.row_elem", True),
    ("dtype: int32, rows: ACC_ROWS", "dtype: int33, rows: ACC_ROWS", "memories.acc.dtype", True),
    ("A[m,k] * B[k,n])\"\n", "A[m,k] * B[n,k])\"\n", "intrinsics.gemm_i8_i32.compute", True),
    ("A[m,k] * B[k,n])\"\n", "A[m,k] * B[k,n]\"\n", "intrinsics.gemm_i8_i32.compute", True),
    ("scope: wgt}", "scope: wgtt}", "intrinsics.gemm_i8_i32.inputs.B.scope", True),
    ("{{ B.tile }}", "{{ B.tiles }}", "intrinsics.gemm_i8_i32.emit", False),
    ("{{ B.tile }}", "{{ 8 * B.tile }}", "intrinsics.gemm_i8_i32.emit", False),
    ("{{ A.row }}, {{ C.row }}", "{{ A.row + '1' }}, {{ C.row }}",
     "intrinsics.gemm_i8_i32.emit", False),
    ("{{ A.row }}, {{ C.row }}", "{{ A.row }, {{ C.row }}", "intrinsics.gemm_i8_i32.emit", False),
    ("numerics: {overflow: wrap}", "numerics: {overflow: wrapp}", "numerics.overflow", True),
    ("range: [0, 63]}", "range: [63, 0]}", "inputs.shift.range", True),
    ("range: [-32768, 32767]", "range: [-32768, 99999999999]", "inputs.imm.range", True),
    ("root: act", "root: actt", "patterns.conv2d_bias_relu.root", True),
    ("lower: {template: dense.c.j2}", "lower: {template: dense.c}", "lower.template", True),
    ("lower: {tensorize: [alu_max,", "lower: {tensorize: [alu_maxx,", "tensorize[0]", True),
    ("lower: {tensorize: [alu_max, requant_i32_i8]}", "lower: {}", "patterns.maxpool2d.lower",
     True),
    ('sources: ["rtl/npu_isa_pkg.sv"', 'sources: ["rtl/npu_isa_pkg.v"', "sim.rtl.sources[0]", True),
    ("priority: 30", "priority: high", "patterns.conv2d_bias_relu.priority", True),
    # the C side of the contract (vendor_sdk/target/contract_checks.py)
    ("  header: npu.h", "  header: npu_driver.h", "runtime.header", True),
    ("  include: [driver]", "  include: [drivers]", "runtime.include[0]", True),
    ('  sources: ["driver/*.c"]', '  sources: ["drv/*.c"]', "runtime.sources[0]", True),
    ("  glue: runtime.c.j2", "  glue: glue.c.j2", "runtime.glue", True),
    ("  sync: tokens", "  sync: semaphores", "runtime.sync", True),
    ("      npu_gemm({{ ctx }}, {{ deps }},", "      npu_gemm({{ ctx }}, 0,",
     "intrinsics.gemm_i8_i32.emit", False),
    ("  store: [acc, out]", "  store: [acc]", "movement.store", True),
    ("  load: [inp, wgt, acc, qp, lut]", "  load: [inp, wgt, acc, qp, lutt]", "movement.load[4]",
     True),
    ("  cycles: {role: cycles}", "  cycles: {role: time}", "counters.cycles.role", True),
    ("  cycles: {role: cycles}", "  cycles: {role: other}", "counters", False),
    ("  ld_busy: {role: busy, unit: load}", "  ld_busy: {role: busy}", "counters.ld_busy", True),
    ("peak_macs_per_cycle: DIM * DIM", "peak_macs_per_cycle: DIM * DIMM",
     "peak_macs_per_cycle", True),
    ('    harness: ["driver/rtl_harness/*.cpp"]', '    harness: ["driver/harness/*.cpp"]',
     "sim.rtl.harness[0]", True),
    ('    harness: ["driver/rtl_harness/*.cpp"]', '    harness: ["/tmp/*.cpp"]',
     "sim.rtl.harness[0]", True),
    ('  sources: ["driver/*.c"]', '  sources: ["../driver/*.c"]', "runtime.sources[0]", True),
    ('    sources: ["rtl/npu_isa_pkg.sv"', '    sources: ["/rtl/npu_isa_pkg.sv"',
     "sim.rtl.sources[0]", True),
    ("in: [x, w, b]", "in: [x, w, bias]", "nodes.conv.in[2]", True),
    ('kernel_shape: "k <= 7", strides', 'kernel_shape: "k <=< 7", strides', "attrs.kernel_shape",
     True),
    ('op: "Relu | Clip", in: [conv', 'op: "Relu | Clip(min=)", in: [conv',
     "nodes.act.op", True),
    ("  inp: {dtype", "  inp {dtype", "(syntax)", False),
    ("templates: templates", "templates: tmpl", "templates", True),
    ("variants:\n      init:", "variantz:\n      init:", "gemm_i8_i32.variantz", True),
    ('compute: "D[m,c] = D[m,c] + S[m,c]"', 'compute: "D[m,c] = D[m,c] + T[m,c]"',
     "intrinsics.alu_add.compute", True),
    ('compute: "D[m,c] = max(D[m,c], 0)"', 'compute: "D[m,c] = maxx(D[m,c], 0)"',
     "intrinsics.alu_relu.compute", True),
    ("rshift_round(D[m,c], imm, half_up)", "rshift_round(D[m,c], imm, nearest)",
     "intrinsics.alu_shr_round_imm.compute", True),
    ("D[m,c] << imm", "D[m,c] << (imm * 4)", "intrinsics.alu_shl_imm.compute", True),
    ('compute: "D[m,c] = S[m,c]"', 'compute: "D[m,c] = S[m,c] + D[m,c]"',
     "intrinsics.alu_mov.compute", True),
    ("axes: {m: {min: 1, max: 1023}, n: DIM, k: DIM}", "axes: {m: {min: 1, max: 1023}, n: DIM}",
     "gemm_i8_i32.inputs.A.shape[1]", False),
    ("m: {min: 1, max: 1023}, n: DIM, k: DIM", "m: {min: 5, max: 1}, n: DIM, k: DIM",
     "gemm_i8_i32.axes.m", True),
    ("inout:\n      C:", "inout:\n      A:", "gemm_i8_i32.inout.A", False),
    ("  alu_sub:", "  alu_add:", "intrinsics.alu_add", True),
    ("schema_version: 1\n", "", "schema_version", False),
    ("memories:\n", "memorys:\n", "memorys", True),
    ("dtype: int8, shape: [m, k], scope: inp}", "dtype: int8, shape: m, scope: inp}",
     "inputs.A.shape", True),
    ("test: {random: 8,", "test: {random: -1,", "test.random", True),
    ("corners: [min, max, zero, edges]", "corners: [min, huge]", "test.corners[1]", True),
    ("params: {DIM: DIM, INP_ROWS", "params: {DIM: DIMS, INP_ROWS", "sim.rtl.params.DIM", True),
    ("top: npu_sim_top", "top: [npu_sim_top]", "sim.rtl.top", True),
    ("x: {dtype: int8, rank: 4}\n      w", "x: {dtype: int8, rank: 40}\n      w",
     "tensors.x.rank", True),
    ("tensors: {x: {dtype: int8, rank: 4}}\n    lower: {tensorize: [alu_max",
     "tensors: {x: {dtype: int8, rank: 4}, y: {dtype: int8}}\n    lower: {tensorize: [alu_max",
     "patterns.maxpool2d.tensors.y", True),
    ("Y: {dtype: int8, shape: [m, c], scope: out}", "Y: {dtype: int32, shape: [m, c], scope: out}",
     "outputs.Y.dtype", True),
    ("X: {dtype: int32, shape: [m, c], scope: acc}", "X: {dtype: int32, shape: [m], scope: acc}",
     "requant_i32_i8_pc.compute", False),
    ("numerics: {overflow: saturate}", "numerics: saturate", "requant_i32_i8_pc.numerics", True),
    ("emit: >-\n      npu_gemm", "emitt: >-\n      npu_gemm", "gemm_i8_i32.emitt", True),
    ("  DIM: 8\n", "  DIM: 8\n  DIM: 16\n", "params.DIM", False),
    ("in: [x, w, b], attrs: {group: 1", "in: [act, w, b], attrs: {group: 1",
     "patterns.conv2d_bias_relu", False),
    ("zp: {dtype: int32, scope: qp, role: param, range: [-128, 127]}",
     "zp: {dtype: int32, scope: qp, role: param, range: [-128]}", "inputs.zp.range", True),
    ("mult: {dtype: int32, shape: [c], scope: qp, role: param}",
     "mult: {dtype: int32, shape: [c], role: parameter}", "inputs.mult.role", True),
    ("S: {dtype: int32, shape: [m, c], scope: acc}}\n    inout: {D",
     "S: {dtype: int32, shape: [m, c]}}\n    inout: {D", "alu_add.inputs.S", True),
    ('op: "Relu | Clip", in: [conv', 'op: "Relu | Clipp", in: [conv',
     "nodes.act.op", True),
    ('op: "MatMul | Gemm(transA=0)"', 'op: "MatMul | Gem(transA=0)"', "nodes.mm.op", True),
    ("attrs: {group: 1,", "attrs: {groups: 1,", "conv.attrs.groups", True),
    ("x: {dtype: int8, rank: 4}\n      w", "x: {dtype: int8, rank: 4, shape: [1, 3]}\n      w",
     "tensors.x.shape", True),
    ("tensors: {x: {dtype: int8, rank: 4}}", "tensors: {x: {dtype: int8, shape: [1, 0, 8, 8]}}",
     "tensors.x.shape", True),
    ("b: {dtype: int32, rank: 1, const: true}", "b: {dtype: int32, rank: 1, optional: maybe}",
     "tensors.b.optional", True),
]

HANDWRITTEN: list[tuple[str, str]] = [
    ("", "(document)"),
    ("- a\n- b\n", "(document)"),
    ("key: [unclosed\n", "(syntax)"),
    ("schema_version: 1\ntarget: x\n\tmemories: {}\n", "(syntax)"),
    ("schema_version: 1\ntarget: x\nmemories: {a: {dtype: int8, rows: 0, row_elems: 1}}\n",
     "memories.a.rows"),
    ("schema_version: 1\ntarget: x\nmemories: {}\nintrinsics:\n  i:\n    axes: {m: 4}\n"
     "    inputs: {A: {dtype: int8, shape: [m], role: param}}\n"
     "    compute: 'A[m] = 1'\n    emit: ''\n", "intrinsics.i"),
    ("schema_version: 1\ntarget: x\nparams: {N: 4}\nmemories: {a: {dtype: int8, rows: N // 2, "
     "row_elems: 1}}\n", "memories.a.rows"),
]

CASES = [pytest.param(REF_TEXT.replace(old, new, 1), path, REF_TEXT.index(old), at,
                      id=f"mut{i:02d}-{path}") for i, (old, new, path, at) in enumerate(MUTATIONS)]
CASES += [pytest.param(text, path, None, False, id=f"hand{i}-{path}")
          for i, (text, path) in enumerate(HANDWRITTEN)]


def test_corpus_is_large_and_every_mutation_applies() -> None:
    assert len(CASES) >= 50
    for old, _, _, _ in MUTATIONS:
        assert old in REF_TEXT, old


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    shutil.copytree(REF_DIR / "templates", d / "templates")
    (d / "rtl").symlink_to(REF_DIR / "rtl")
    (d / "driver").symlink_to(REF_DIR / "driver")
    return d


@pytest.mark.parametrize(("text", "path", "at", "on_line"), CASES)
def test_broken_target_gives_located_errors_and_exit_2(workdir: Path, text: str, path: str,
                                                       at: int | None, on_line: bool) -> None:
    f = workdir / "target.yaml"
    f.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(f)])
    out = result.output
    assert result.exit_code == 2, out
    assert result.exception is None or isinstance(result.exception, SystemExit), out
    assert "Traceback" not in out
    found = [m for m in LOCATED.finditer(out) if m["file"] == str(f)]
    assert found, out
    assert any(path in m["path"] for m in found), out
    if on_line and at is not None:
        line = text.count("\n", 0, at) + 1
        assert any(path in m["path"] and int(m["line"]) == line for m in found), (line, out)
    assert "hint:" in out or all(m["path"] == "(syntax)" for m in found)
