"""`vendor-sdk export --verify` on a terminal shows its run step as `run` does: "region k
of n" with the cycles so far. The expected regions and cycles come from `run --json` of
the same model, not from the progress code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from terminals import BIN
from terminals import cli_env as _env
from terminals import on_tty as _on_tty

from vendor_sdk.runtime.examples import mlp
from vendor_sdk.runtime.quantize import quantize


def test_export_verify_shows_region_k_of_n(tmp_path: Path) -> None:
    model = quantize(mlp(tmp_path / "mlp.onnx", sizes=(16, 8, 4)), tmp_path / "mlp.int8.onnx")
    # relu0 on the host splits the MLP into two regions: region 2 starts after cycles
    facts = json.loads(subprocess.run(
        [str(BIN), "run", str(model), "--host", "relu0", "--check", "none", "--json"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True,
        stdin=subprocess.DEVNULL).stdout)
    regions = [r["name"] for r in facts["regions"]]
    assert len(regions) == 2, facts
    code, out, err = _on_tty(["export", str(model), "--host", "relu0", "--verify", "-o",
                              "x.onnx"], tmp_path)
    assert code == 0, out + err
    assert "bit-identical" in out
    step = "verify: vendor-sdk run on fsim: "
    assert f"{step}region 1 of 2 ({regions[0]})" in err, err
    cycles = facts["regions"][0]["cycles"]
    assert f"{step}region 2 of 2 ({regions[1]}), {cycles:,} cycles so far" in err, err
    assert "Traceback" not in err
