"""Loader round trip, all-errors-at-once, plugin discovery, and init -> package -> install."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vendor_sdk import plugins
from vendor_sdk.cli import app
from vendor_sdk.target import TargetError, dump_target, load_target, load_target_text

REF = Path("reference_npu/target.yaml").resolve()


def test_round_trip_gives_an_equal_target() -> None:
    first = load_target(REF)
    again = load_target_text(dump_target(first.spec), REF)  # same dir: templates, rtl resolve
    assert again == first and again.spec == first.spec
    assert set(again.semantics) == set(first.semantics)


def test_all_errors_in_a_file_are_reported_at_once() -> None:
    text = REF.read_text()
    for old, new in [("rows: INP_ROWS", "rows: INP_ROW"), ("scope: wgt}", "scope: wgtt}"),
                     ("root: act", "root: actt"), ("target: reference_npu", "target: 1x")]:
        text = text.replace(old, new, 1)
    with pytest.raises(TargetError) as info:
        load_target_text(text, REF)
    paths = [d.path for d in info.value.diagnostics]
    assert {"memories.inp.rows", "intrinsics.gemm_i8_i32.inputs.B.scope",
            "patterns.conv2d_bias_relu.root", "target"} <= set(paths)
    inp = next(d for d in info.value.diagnostics if d.path == "memories.inp.rows")
    assert inp.hint == "did you mean 'INP_ROWS'?"
    line = text.splitlines()[inp.line - 1]
    assert line[inp.col - 1:].startswith("INP_ROW")


def test_expression_errors_point_inside_the_yaml_string() -> None:
    text = REF.read_text().replace("sum(k, A[m,k] * B[k,n])\"\n", "sum(k, A[m,k] * B[n,k])\"\n", 1)
    with pytest.raises(TargetError) as info:
        load_target_text(text, REF)
    d = info.value.diagnostics[0]
    assert text.splitlines()[d.line - 1][d.col - 1:].startswith("n,k]")


def test_docs_examples_load() -> None:
    docs = Path("docs/target_yaml.md").read_text()
    blocks = [b.split("```", 1)[0] for b in docs.split("```yaml\n")[1:]]
    assert blocks
    for block in blocks:
        if block.startswith("schema_version"):
            load_target_text(block, REF)  # anchored next to the reference templates
        else:
            yaml.safe_load(block)


def test_bundled_plugin_is_discovered_ok() -> None:
    found = {p.name: p for p in plugins.discover()}
    ref = found["reference_npu"]
    assert ref.status == "ok" and ref.package == "vendor-sdk" and ref.path == REF
    assert plugins.resolve_target("reference_npu").name == "reference_npu"


def test_broken_plugins_are_listed_and_isolated(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    bad_yaml = tmp_path / "target.yaml"
    bad_yaml.write_text("schema_version: 1\ntarget: bad\n"
                        "memories: {a: {dtype: int9, rows: 1, row_elems: 1}}\n")
    (tmp_path / "badplug.py").write_text(
        f"def target():\n    return {str(bad_yaml)!r}\n\ndef nothing():\n    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugins.entry_points
    eps = [*real(group=plugins.GROUP),
           EntryPoint("missing_mod", "no_such_module_xyz:target", plugins.GROUP),
           EntryPoint("bad_yaml", "badplug:target", plugins.GROUP),
           EntryPoint("not_a_path", "badplug:nothing", plugins.GROUP)]
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps)
    found = {p.name: p for p in plugins.discover()}
    assert found["reference_npu"].status == "ok"
    assert found["missing_mod"].status == "broken"
    assert "ModuleNotFoundError" in found["missing_mod"].error
    assert found["bad_yaml"].status == "broken" and "memories.a.dtype" in found["bad_yaml"].error
    assert "expected a path" in found["not_a_path"].error
    result = CliRunner().invoke(app, ["targets"])
    assert result.exit_code == 0 and "broken" in result.output and "ok" in result.output
    result = CliRunner().invoke(app, ["validate", "bad_yaml"])
    assert result.exit_code == 2 and "memories.a.dtype" in result.output


def test_validate_unknown_name_suggests_installed_targets() -> None:
    result = CliRunner().invoke(app, ["validate", "reference_np"])
    assert result.exit_code == 2 and "did you mean 'reference_npu'" in result.output


def test_init_package_install_targets_validate(tmp_path: Path) -> None:
    """The CI path: init --defaults -> package -> fresh venv -> targets lists it ok."""
    pkg = tmp_path / "acme"
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(pkg), "--defaults", "-d", "vendor=Acme",
                                 "-d", "dim=16"])
    assert result.exit_code == 0, result.output
    target_yaml = pkg / "acme_npu" / "target.yaml"
    assert "DIM: 16" in target_yaml.read_text()
    assert load_target(target_yaml).name == "acme_npu"
    result = runner.invoke(app, ["package", str(pkg), "--outdir", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output
    wheel = next((tmp_path / "dist").glob("acme_npu-0.1.0-*.whl"))
    venv = tmp_path / "venv"
    # The fresh venv sees vendor-sdk (and its dependencies) from this environment
    # through a .pth hook, so the test stays fast and offline; only the plugin
    # wheel is installed into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([py, "-c", query], capture_output=True, text=True,
                             check=True).stdout.strip()
    Path(purelib, "_parent_env.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    listing = subprocess.run(
        [py, "-c", "from vendor_sdk.cli import main; main()", "targets"],
        capture_output=True, text=True, env={"COLUMNS": "200", "PATH": str(venv / "bin")})
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if "acme_npu" in line)
    assert "ok" in row and "acme-npu" in row
    check = subprocess.run([py, "-c", "from vendor_sdk.cli import main; main()", "validate",
                            "acme_npu"], capture_output=True, text=True,
                           env={"COLUMNS": "200", "PATH": str(venv / "bin")})
    assert check.returncode == 0, check.stderr
    assert "site-packages" in check.stdout.replace("\n", "")


def test_init_update_keeps_vendor_edits(tmp_path: Path) -> None:
    pkg = tmp_path / "p"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(pkg), "--defaults"]).exit_code == 0
    target_yaml = pkg / "acme_npu" / "target.yaml"
    edited = target_yaml.read_text().replace("DIM: 8", "DIM: 4")
    target_yaml.write_text(edited)
    test_file = pkg / "tests" / "test_target.py"
    test_file.write_text("# the vendor's own tests\n")
    result = runner.invoke(app, ["init", str(pkg), "--update", "--defaults"])
    assert result.exit_code == 0, result.output
    assert target_yaml.read_text() == edited
    # The skeleton did not change, so the vendor's rewrite stands (three-way update,
    # tests/target/test_wizard_update.py).
    assert test_file.read_text() == "# the vendor's own tests\n"
    again = runner.invoke(app, ["init", str(pkg), "--defaults"])
    assert again.exit_code == 2 and "--update" in again.output


def test_init_rejects_unknown_question(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "x"), "--defaults", "-d", "dims=4"])
    assert result.exit_code == 2 and "did you mean 'dim'" in result.output


def test_validate_finds_the_target_of_a_package_root(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vendor_sdk.cli import app

    runner = CliRunner()
    pkg = tmp_path / "acme"
    made = runner.invoke(app, ["init", str(pkg), "--defaults", "-d", "vendor=Acme"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["validate", str(pkg)])
    assert result.exit_code == 0, result.output
    (pkg / "extra").mkdir()
    (pkg / "extra" / "target.yaml").write_text("schema_version: 1\n")
    ambiguous = runner.invoke(app, ["validate", str(pkg)])
    assert ambiguous.exit_code == 2 and "target.yaml" in ambiguous.output
