"""`vendor-sdk sweep` in process: each point against a compile + run of its own, a bad
value recorded, a wrong result exits 1, bad input exits 2, resume, check-intrinsics."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from vendor_sdk.check.run import CheckOptions, check_intrinsics
from vendor_sdk.cli import app
from vendor_sdk.compile import compile_model
from vendor_sdk.plugins import resolve_target
from vendor_sdk.runtime.compare import model_inputs, run_compiled
from vendor_sdk.sweep.run import plan_sweep, run_sweep

RefCopy = Callable[..., Path]

VENDOR_SDK = Path(sys.executable).parent / "vendor-sdk"


def sram(dim: int, acc_rows: int = 2048) -> dict[str, int]:
    """reference_npu's memories (target.yaml) at DIM / ACC_ROWS, in bytes."""
    return {"inp": 2048 * dim, "wgt": 1024 * dim, "acc": acc_rows * dim * 4,
            "out": 2048 * dim, "qp": 192 * dim * 4, "lut": 128 * dim}


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["sweep", *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def test_each_point_is_its_own_compile_and_run(sweep_models: Path, tmp_path: Path,
                                               results: Any, ref_copy: RefCopy) -> None:
    plan = plan_sweep("reference_npu", ["DIM=8,16", "ACC_ROWS=1024"], [sweep_models])
    summary = run_sweep(plan, tmp_path / "out")
    assert summary.exit_code == 0 and summary.ran == 4
    got = {(r["params"]["DIM"], r["model"]): r for r in results(tmp_path / "out")}
    assert len(got) == 4
    for dim in (8, 16):
        target = resolve_target(ref_copy(tmp_path / f"dim{dim}", DIM=dim, ACC_ROWS=1024))
        for name in ("small", "tiny"):
            model = sweep_models / f"{name}.onnx"
            c = compile_model(model, target, {"N": 1}, name=name)
            r = run_compiled(c, model, model_inputs(model, 1, 0), "fsim", check="output")
            rec = got[(dim, name)]
            assert rec["status"] == "ok" and r.check.ok, rec["reason"]
            assert (rec["cycles"], rec["macs"]) == (r.cycles, r.macs) and r.cycles > 0
            assert rec["utilization"] == r.ideal / r.cycles
            assert rec["ideal"] == r.macs / (dim * dim)  # peak_macs_per_cycle: DIM * DIM
            assert rec["sram_bytes"] == sram(dim, 1024)
            assert rec["onchip_bytes"] == sum(sram(dim, 1024).values())
            assert rec["all_params"]["DIM"] == dim and rec["all_params"]["ACC_ROWS"] == 1024
            assert r.layers is not None
            assert [(x["function"], x["cycles"]) for x in rec["layers"]] == \
                [(ls.function, ls.cycles) for _, ls in r.layers]
            assert rec["agreement"]["verdict"] == "ok"
            assert [a["exact"] for a in rec["agreement"]["outputs"]] == \
                [a.exact for a in r.agreement]
    # DIM is what the array does: a 16 x 16 array reaches the MAC bound in fewer cycles
    assert got[(16, "small")]["ideal"] * 4 == got[(8, "small")]["ideal"]


def test_cli_records_bad_values_and_resumes(sweep_models: Path, tmp_path: Path,
                                            results: Any) -> None:
    env = {**os.environ, "COLUMNS": "200"}

    def sweep() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENDOR_SDK), "sweep", "--target", "reference_npu", "--param", "DIM=8,6,eight",
             "--models", str(sweep_models / "tiny.onnx"), "-o", "res"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    done = sweep()
    assert done.returncode == 0, done.stdout + done.stderr  # failed points are not fatal
    assert "Traceback" not in done.stdout + done.stderr
    out = tmp_path / "res"
    recs = {r["config"]: r for r in results(out)}
    assert [r["status"] for r in recs.values()] == ["ok", "failed", "failed"]
    assert "dim=6 must be 4, 8, 16, 32 or 64" in recs["DIM=6"]["reason"]  # the runtime's word
    assert recs["DIM=eight"]["reason"].startswith("params.DIM: ")  # the loader's, by field
    assert "1 ok, 0 mismatch, 2 failed" in done.stdout
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["param.DIM"], r["status"], r["cycles"]) for r in rows] == \
        [("8", "ok", str(recs["DIM=8"]["cycles"])), ("6", "failed", ""),
         ("eight", "failed", "")]
    page = (out / "index.html").read_text()
    assert "<svg" in page and "tiny: cycles per configuration" in page
    assert not re.search(r"(src|href)=\"?https?:", page)  # self-contained
    # resume: the ok point is kept as it was, the failed ones run again
    again = sweep()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 points already in res" in again.stdout
    assert results(out)[0] == recs["DIM=8"]  # timings included: it did not run again
    assert len((out / "results.jsonl").read_text().splitlines()) == 5


MISCOMPILE = ("uint32_t q = per_chan ? c : 0;",  # a DIM=16 array reads channel 0's scale
              "uint32_t q = per_chan ? (dim == 16 ? 0 : c) : 0;")


def test_a_wrong_result_exits_1(sweep_models: Path, tmp_path: Path, results: Any,
                                ref_copy: RefCopy) -> None:
    yaml = ref_copy(tmp_path / "npu", MISCOMPILE)
    code, out = invoke("--target", str(yaml), "--param", "DIM=8,16", "--models",
                       str(sweep_models / "small.onnx"), "-o", str(tmp_path / "res"))
    assert code == 1, out
    ok, bad = results(tmp_path / "res")
    assert (ok["config"], ok["status"]) == ("DIM=8", "ok")
    assert (bad["config"], bad["status"]) == ("DIM=16", "mismatch")
    assert bad["agreement"]["verdict"] == "failed" and bad["reason"]
    assert "mismatch: DIM=16 small:" in out
    # the reference: the same copy's DIM=16 output is far from onnxruntime's
    model = sweep_models / "small.onnx"
    t16 = resolve_target(ref_copy(tmp_path / "npu16", MISCOMPILE, DIM=16))
    r = run_compiled(compile_model(model, t16, {"N": 1}, name="small"), model,
                     model_inputs(model, 1, 0), "fsim")
    assert not r.check.ok and not np.array_equal(r.outputs[0], r.reference[0])


def test_bad_input_exits_2_before_any_point(sweep_models: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    cases = [
        (["--param", "ACC_ROW=1024", "--models", str(sweep_models)],  # the shared handler's
         ["error: --param ACC_ROW: target reference_npu", "no such parameter",
          "hint: did you mean 'ACC_ROWS'?"]),
        (["--param", "DIM", "--models", str(sweep_models)], ["expected NAME=V1,V2"]),
        (["--models", str(tmp_path / "nope.onnx")], ["nope.onnx: no such file"]),
        (["--models", str(sweep_models), "--backend", "gpu"], ["--backend gpu", "fsim, rtl"]),
        (["--models", str(sweep_models), "--only", "gemm_i8_i32"], ["add --check-intrinsics"]),
        (["--target", "no_such_npu", "--models", str(sweep_models)], ["no_such_npu"]),
        (["--check-intrinsics", "--param", "DIM=8,16", "--only", "gemm_i8_i3"],
         ["error: --only gemm_i8_i3: selects no check-intrinsics case of reference_npu",
          "hint: did you mean 'gemm_i8_i32'?"]),
        (["--check-intrinsics", "--only", "requant_i32_i8", "--only", "zzz"],
         ["error: --only zzz: selects no", "hint: reference_npu has: gemm_i8_i32,"]),
    ]
    for args, says in cases:
        code, text = invoke(*args, "-o", str(out))
        flat = " ".join(text.split())
        assert code == 2, (args, text)
        assert all(s in flat for s in says), (args, text)
        assert "Traceback" not in text and not out.exists()
    out.write_text("")
    code, text = invoke("--models", str(sweep_models), "-o", str(out))
    assert code == 2 and f"error: -o {out}: is a file" in " ".join(text.split()), text


def test_check_intrinsics_over_the_grid(tmp_path: Path, results: Any) -> None:
    code, out = invoke("--check-intrinsics", "--param", "DIM=8,6", "--only", "requant_i32_i8",
                       "-o", str(tmp_path / "res"))
    assert code == 0, out
    ok, bad = results(tmp_path / "res")
    assert ok["status"] == "ok" and ok["model"] is None and ok["failures"] == {}
    assert bad["status"] == "failed" and "dim=6" in bad["reason"]
    ref = check_intrinsics(resolve_target("reference_npu"), CheckOptions(
        tmp_path / "ref", only=("requant_i32_i8",), progress=lambda _m: None))
    assert ref.passed and ok["cases"] == len(ref.outcomes)
    assert [(x["variant"], x["cases"], x["failed"], x["rtl_cycles"]) for x in ok["intrinsics"]] \
        == [(row.name, row.cases, row.failed, row.rtl_cycles) for row in ref.rows]
