"""Hostile and broken target plugins: each `broken` with its reason in `vendor-sdk targets`
(which stays fast and exits 0), never the CLI's exit, a hang or a takeover of another
package's target name."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import cli

REF_YAML = Path(__file__).resolve().parents[2] / "reference_npu" / "target.yaml"


def install(root: Path, monkeypatch: pytest.MonkeyPatch, dist: str, module: str,
            entry: str = "evil_npu", attr: str = "target") -> None:
    """A distribution `dist` on sys.path whose entry point `entry` is module `dist_mod`."""
    mod = dist.replace("-", "_") + "_mod"
    root.mkdir(exist_ok=True)
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[vendor_sdk.targets]\n{entry} = {mod}:{attr}\n")
    (root / f"{mod}.py").write_text(module)
    monkeypatch.syspath_prepend(str(root))


GOOD = f"def target():\n    return {str(REF_YAML)!r}\n"

# (case, the plugin module's source, what its `broken` detail says)
BROKEN: list[tuple[str, str, tuple[str, ...]]] = [
    ("sys_exit", "import sys\nsys.exit(3)\n", ("sys.exit(3)",)),
    ("raises", "raise RuntimeError('boom at import')\n", ("RuntimeError", "boom at import")),
    ("os_exit", "import os\nos._exit(5)\n", ("exited with code 5",)),
    ("keyboard_interrupt", "raise KeyboardInterrupt\n", ("KeyboardInterrupt",)),
    ("blocks", "import time\ntime.sleep(600)\n", ("did not load within 3 s",)),
    ("not_a_path", "def target():\n    return 42\n", ("expected a path", "int")),
    ("missing_file", "def target():\n    return '/nonexistent/target.yaml'\n",
     ("/nonexistent/target.yaml", "cannot read")),
    ("no_attribute", "x = 1\n", ("AttributeError",)),
    ("alias_bomb", "import pathlib\n"
     "def target():\n    p = pathlib.Path(__file__).parent / 'target.yaml'\n"
     "    p.write_text('a: &a [1,1,1,1,1,1,1,1,1]\\n' + ''.join(\n"
     "        f'{c}: &{c} [' + ', '.join([f\"*{p}\"] * 9) + ']\\n'\n"
     "        for p, c in zip('abcdefgh', 'bcdefghi')))\n    return p\n",
     ("aliases expand",)),
]


@pytest.mark.parametrize("case,module,said", BROKEN, ids=[c[0] for c in BROKEN])
def test_a_broken_plugin_is_listed_broken(case: str, module: str, said: tuple[str, ...],
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    install(tmp_path / "site", monkeypatch, "evil-npu", module)
    monkeypatch.setenv("VENDOR_SDK_PLUGIN_SECONDS", "3")
    start = time.monotonic()
    out = cli("targets", cwd=tmp_path)
    assert time.monotonic() - start < 12, "a plugin held up `targets`"
    assert out.code == 0, out.text
    assert out.names("evil_npu", "broken", *said), out.text
    assert out.names("reference_npu", "ok"), out.text  # the others still load
    if case == "blocks":
        return  # by name it goes through the same deadline again (3 s more, nothing new)
    # using it by name is the same reason, exit 2 (a target that does not validate: its
    # located errors, as for the file)
    out = cli("validate", "evil_npu", cwd=tmp_path)
    assert out.code == 2 and out.names(*said[:1]), out.text


def test_a_plugin_printing_at_import_still_loads(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "site", monkeypatch, "noisy-npu", "print('hello {\"path\": 1}')\n" + GOOD,
            entry="noisy_npu")
    out = cli("targets", cwd=tmp_path)
    assert out.code == 0 and "hello" not in out.text, out.text
    assert cli("validate", "noisy_npu", cwd=tmp_path).code == 0


def test_a_plugin_cannot_patch_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins run in a child interpreter: one that rewrites the loader at import changes
    nothing in the process that lists and validates the targets."""
    patch = ("import vendor_sdk.target.load as load\n"
             "load.load_target = lambda *a, **k: 1 / 0\n") + GOOD
    install(tmp_path / "site", monkeypatch, "patcher-npu", patch, entry="patcher")
    out = cli("targets", cwd=tmp_path)
    assert out.code == 0 and out.names("patcher", "ok"), out.text
    assert cli("validate", "reference_npu", cwd=tmp_path).code == 0


@pytest.mark.parametrize("command", ["targets", "validate", "compile", "run"])
def test_two_packages_claiming_one_name_are_both_named(command: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       models: dict[str, Path]) -> None:
    """A package registering `reference_npu` does not take it over: the name is an error
    naming both distributions, everywhere the name is used."""
    install(tmp_path / "site", monkeypatch, "evil-npu", GOOD, entry="reference_npu")
    args: list[str | Path] = {
        "targets": ["targets"], "validate": ["validate", "reference_npu"],
        "compile": ["compile", models["int8"], "-o", tmp_path / "b"],  # the default target
        "run": ["run", models["int8"], "--target", "reference_npu"]}[command]
    out = cli(*args, cwd=tmp_path)
    assert out.code == (0 if command == "targets" else 2), out.text
    assert out.names("reference_npu", "registered by", "vendor-sdk", "evil-npu"), out.text
    assert not (tmp_path / "b").exists()


def test_a_target_path_still_works_when_its_name_is_claimed_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "site", monkeypatch, "evil-npu", GOOD, entry="reference_npu")
    assert cli("validate", REF_YAML, cwd=tmp_path).code == 0


def test_targets_stays_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading each plugin in a child costs little: five plugins (one blocking, under a 3 s
    deadline, generous for a loaded CI machine) list in a few seconds: the children run at
    once."""
    for i in range(4):
        install(tmp_path / f"site{i}", monkeypatch, f"ok{i}-npu", GOOD, entry=f"ok{i}")
    # it also starts a grandchild holding the pipe: killed with it, not waited for
    pidfile = tmp_path / "grandchild.pid"
    install(tmp_path / "siteb", monkeypatch, "slow-npu",
            "import pathlib, subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            f"pathlib.Path({str(pidfile)!r}).write_text(str(p.pid))\n"
            "time.sleep(600)\n", entry="slow")
    monkeypatch.setenv("VENDOR_SDK_PLUGIN_SECONDS", "3")
    start = time.monotonic()
    out = cli("targets", cwd=tmp_path)
    assert time.monotonic() - start < 12
    assert out.code == 0 and all(out.names(f"ok{i}") for i in range(4)), out.text
    assert out.names("slow", "did not load within 3 s"), out.text
    pid = int(pidfile.read_text())
    for _ in range(50):  # SIGKILL is asynchronous: give the kernel a moment to reap it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)  # the grandchild this test started; do not leave it behind
        raise AssertionError("the plugin's grandchild survived the timeout")


@pytest.mark.parametrize("command", ["compile", "run", "check-intrinsics"])
def test_a_broken_plugin_by_name_is_the_same_error_in_every_command(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        models: dict[str, Path]) -> None:
    install(tmp_path / "site", monkeypatch, "evil-npu", "import sys\nsys.exit(3)\n")
    args: list[str | Path] = {
        "compile": ["compile", models["int8"], "--target", "evil_npu", "-o", tmp_path / "b"],
        "run": ["run", models["int8"], "--target", "evil_npu"],
        "check-intrinsics": ["check-intrinsics", "evil_npu"]}[command]
    out = cli(*args, cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names("evil_npu", "is broken", "sys.exit(3)", "evil-npu"), out.text
    assert not (tmp_path / "b").exists()
