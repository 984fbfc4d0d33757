"""`vendor-sdk init`'s starting points, prompts and options, and `vendor-sdk package`'s
check that every file a target.yaml names ships in the wheel (through the CLI)."""

from __future__ import annotations

import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from vendor_sdk.cli import app
from vendor_sdk.plugins import DEFAULT_TARGET, resolve_target
from vendor_sdk.target import load_target
from vendor_sdk.wizard import ANSWERS_FILE, starting_points
from vendor_sdk.wizard.named import named

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> Result:
    result = runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_starting_points_are_the_bundled_targets_then_blank() -> None:
    """Every target vendor-sdk registers is a starting point (registering one more makes it a
    choice), the default target first, `blank` last."""
    points = list(starting_points())
    registered = {ep.name for ep in distribution("vendor-sdk").entry_points
                  if ep.group == "vendor_sdk.targets"}
    assert points[0] == DEFAULT_TARGET and points[-1] == "blank"
    assert set(points[:-1]) == registered


def test_defaults_derive_the_default_target_with_the_given_params(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "p"), "--defaults", "-d", "vendor=Acme",
                    "-d", "dim=16", "-d", "inp_rows=1024")
    assert result.exit_code == 0, result.output
    assert f"from {DEFAULT_TARGET}" in " ".join(result.output.split())  # Rich wraps
    mine = load_target(tmp_path / "p" / "acme_npu" / "target.yaml").spec
    ref = resolve_target(DEFAULT_TARGET).spec
    assert mine.target == "acme_npu" and f"derived from {DEFAULT_TARGET}" in mine.description
    assert mine.params == {**ref.params, "DIM": 16, "INP_ROWS": 1024}
    for section in ("memories", "intrinsics", "patterns", "runtime", "movement", "counters",
                    "sim", "peak_macs_per_cycle"):
        assert getattr(mine, section) == getattr(ref, section), section
    recorded = yaml.safe_load((tmp_path / "p" / ANSWERS_FILE).read_text())
    assert recorded["start"] == DEFAULT_TARGET and recorded["dim"] == 16


def test_interactive_prompts_show_the_choices_and_take_typed_values(tmp_path: Path) -> None:
    ref = resolve_target(DEFAULT_TARGET)
    # start (default), vendor, target_name, package_name, then one line per param: DIM
    # typed, the rest their defaults.
    lines = ["", "Foo", "", "", "x16", "16"] + [""] * (len(ref.params) - 1)
    result = invoke("init", str(tmp_path / "p"), stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    for choice in starting_points():
        assert choice in result.output
    assert "'x16' is not an integer" in result.output
    spec = load_target(tmp_path / "p" / "foo_npu" / "target.yaml").spec
    assert spec.params["DIM"] == 16 and spec.target == "foo_npu"


def test_input_that_ends_early_is_a_clean_error(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "p"), "--from", "blank", stdin="Foo\n")
    assert result.exit_code == 2, result.output
    assert "input ended" in result.output and "-d" in result.output
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "nope"), "'nope' is not one of"),
    (("-d", "intrinsics=[gemm]"), f"not a question of the '{DEFAULT_TARGET}' starting point"),
    (("--from", "blank", "-d", f"start={DEFAULT_TARGET}"), "disagree"),
    (("--from", "blank", "-d", "dim=12"), "dim=12: 12 is not one of 4, 8, 16, 32"),
    (("-d", "dim=eight"), "'eight' is not an integer"),
])
def test_bad_choices_exit_2_with_the_reason(tmp_path: Path, args: tuple[str, ...],
                                            message: str) -> None:
    result = invoke("init", str(tmp_path / "p"), "--defaults", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "p").exists()


def test_update_keeps_a_derived_package_own_files(tmp_path: Path) -> None:
    pkg = tmp_path / "p"
    assert invoke("init", str(pkg), "--defaults").exit_code == 0
    files = {p: p.read_bytes() for p in pkg.rglob("*") if p.is_file()}
    driver = next(p for p in files if p.suffix == ".c" and p.parent.name != "templates")
    driver.write_text(driver.read_text() + "/* our change */\n")
    result = invoke("init", str(pkg), "--update", "--defaults")
    assert result.exit_code == 0, result.output
    assert driver.read_text().endswith("/* our change */\n")
    assert {p for p in pkg.rglob("*") if p.is_file()} == set(files)
    blocked = invoke("init", str(pkg), "--update", "--from", "blank")
    assert blocked.exit_code == 2 and "--update keeps" in blocked.output


@pytest.fixture
def blank(tmp_path: Path) -> Path:
    result = invoke("init", str(tmp_path / "b"), "--from", "blank", "--defaults")
    assert result.exit_code == 0, result.output
    return tmp_path / "b"


def test_blank_wheel_holds_every_named_file(blank: Path, tmp_path: Path) -> None:
    result = invoke("package", str(blank), "--outdir", str(tmp_path / "dist"))
    assert result.exit_code == 0, result.output
    wheel = next((tmp_path / "dist").glob("acme_npu-*.whl"))
    target = load_target(blank / "acme_npu" / "target.yaml")
    files = [n.path.relative_to(blank.resolve()).as_posix() for n in named(target)
             if not n.is_dir]
    assert "acme_npu/fsim/fsim.c" in files and "acme_npu/rtl/harness.cpp" in files
    assert set(files) <= set(zipfile.ZipFile(wheel).namelist())


def test_package_refuses_a_named_file_outside_the_package(blank: Path, tmp_path: Path) -> None:
    yaml_path = blank / "acme_npu" / "target.yaml"
    (blank / "shared.c").write_text("int shared;\n")
    text = yaml_path.read_text()
    old = 'sources: ["runtime/*.c", "fsim/*.c"]'
    assert old in text
    yaml_path.write_text(text.replace(old, 'sources: ["runtime/*.c", "fsim/*.c", "../shared.c"]'))
    line = next(i for i, t in enumerate(yaml_path.read_text().splitlines(), 1) if "shared" in t)
    result = invoke("package", str(blank), "--outdir", str(tmp_path / "dist"))
    assert result.exit_code == 2, result.output
    assert f"target.yaml:{line}:" in result.output
    assert "runtime.sources[2]: '../shared.c'" in result.output
    assert "lies outside" in result.output
    assert not (tmp_path / "dist").exists()


def test_package_refuses_a_wheel_that_lacks_a_named_file(blank: Path, tmp_path: Path) -> None:
    pyproject = blank / "pyproject.toml"
    old = '"*" = ["*"]'
    assert old in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(old, '"*" = ["*.yaml"]'))
    result = invoke("package", str(blank), "--outdir", str(tmp_path / "dist"))
    assert result.exit_code == 2, result.output
    assert "lacks acme_npu/runtime/acme_npu.h" in result.output
    assert "acme_npu/templates/glue.c.j2" in result.output


def test_a_bundled_npu_naming_files_outside_itself_is_refused(blank: Path) -> None:
    from vendor_sdk.wizard import WizardError
    from vendor_sdk.wizard.starts import Bundled

    yaml_path = blank / "acme_npu" / "target.yaml"
    (blank / "shared.c").write_text("int shared;\n")
    text = yaml_path.read_text().replace('"fsim/*.c"]', '"fsim/*.c", "../shared.c"]')
    yaml_path.write_text(text)
    answers = {"vendor": "V", "target_name": "v_npu", "package_name": "v_npu"}
    with pytest.raises(WizardError,
                       match=r"runtime\.sources\[2\]: .?\.\./shared\.c.? lies outside"):
        Bundled("fake", yaml_path).files(answers)
    yaml_path.write_text(text.replace(', "../shared.c"]', "]"))
    files = Bundled("fake", yaml_path).files(answers)
    assert "v_npu/fsim/fsim.c" in files and "v_npu/shared.c" not in files
    assert b"target: v_npu" in files["v_npu/target.yaml"]
