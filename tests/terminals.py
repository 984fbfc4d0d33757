"""Run the installed `vendor-sdk` with its stderr on a pseudo-terminal (progress is drawn
only on a terminal) or on pipes, in an environment the test decides, not the caller's."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

BIN = Path(sys.executable).parent / "vendor-sdk"
# rich reads these; the test decides what stderr is, not the caller's environment
RICH_ENV = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM", "COLUMNS")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RICH_ENV}
    return env | {"TERM": "xterm", "COLUMNS": "250"}  # wide: progress lines are not cut


def on_tty(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """(exit code, stdout (a pipe), stderr (a pseudo-terminal) without escape codes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(BIN), *args], cwd=cwd, env=cli_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # the terminal's side, until the command closes it
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(master)
    return proc.returncode, out.decode(), ANSI.sub("", b"".join(chunks).decode())


def on_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], cwd=cwd, env=cli_env(), capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
