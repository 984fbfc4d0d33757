"""Shared by the report tests: a small model compiled and run once, and a real browser.

The browser is the distribution's headless Chromium (`make browser` installs it; `make
test` depends on that). It is never skipped: without it the tests fail and say how to
install it."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from vendor_sdk.compile import Compiled, compile_model
from vendor_sdk.runtime.compare import RunResult, model_inputs, run_compiled
from vendor_sdk.runtime.examples import cnn
from vendor_sdk.runtime.quantize import quantize

INSTALL = "make browser  (apt-get update && apt-get install -y --no-install-recommends chromium)"


@dataclass(frozen=True)
class Cnn:
    float_path: Path
    path: Path
    compiled: Compiled
    result: RunResult


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory: pytest.TempPathFactory) -> Cnn:
    d = tmp_path_factory.mktemp("report_models")
    src = cnn(d / "cnn.onnx")
    q = quantize(src, d / "cnn.int8.onnx", random=2)
    c = compile_model(q, "reference_npu", {"N": 1})
    return Cnn(src, q, c, run_compiled(c, q, model_inputs(q, 1, 0), "fsim", check="none"))


class Dom(HTMLParser):
    """Every start tag's attributes, in document order, by tag."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def all(self, tag: str, **want: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v
                                                            for k, v in want.items())]

    def table_rows(self) -> list[dict[str, str]]:
        """The per-layer table's rows, in the order the page's script left them."""
        return [a for t, a in self.tags if t == "tr" and "data-node" in a]


@dataclass(frozen=True)
class Chromium:
    exe: str

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.exe, "--headless", "--no-sandbox", "--disable-gpu",
                               "--hide-scrollbars", *args], capture_output=True, text=True,
                              timeout=120, check=True)

    def dom(self, page: Path, fragment: str = "") -> Dom:
        """The document after its script ran (Chromium serializes the live DOM)."""
        url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
        return Dom(self._run("--virtual-time-budget=3000", "--dump-dom", url).stdout)

    def screenshot(self, page: Path, png: Path, size: str = "1400,1000",
                   fragment: str = "") -> np.ndarray:
        url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
        self._run(f"--screenshot={png}", f"--window-size={size}", url)
        return read_png(png)


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail(f"headless Chromium is not installed; install it with: {INSTALL}")
    return Chromium(exe)


def read_png(path: Path) -> np.ndarray:
    """An 8-bit RGB(A) PNG as a [H, W, C] uint8 array (what Chromium writes: no palette,
    no interlace); the five scanline filters of the PNG specification undone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + n
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    ch = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * ch)
    out = np.zeros((h, w * ch), np.int32)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        prev = out[y - 1] if y else np.zeros(w * ch, np.int32)
        if f in (0, 2):
            out[y] = (line + (prev if f == 2 else 0)) % 256
            continue
        row = np.zeros(w * ch, np.int32)
        for x in range(w * ch):  # sub / average / Paeth depend on the decoded left byte
            a = row[x - ch] if x >= ch else 0
            b, c = prev[x], prev[x - ch] if x >= ch else 0
            if f == 1:
                pred = a
            elif f == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            row[x] = (line[x] + pred) % 256
        out[y] = row
    return out.reshape(h, w, ch)[:, :, :3].astype(np.uint8)
