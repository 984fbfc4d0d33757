"""Grouped, depthwise and 1-D convs offload on the reference NPU, through `vendor-sdk run`.

The models are float ONNX graphs quantized by onnxruntime's static quantizer (QDQ,
per-channel weights); each run must offload every conv and agree with onnxruntime
(>= 99.9% within 1 LSB, at most 2 LSB anywhere)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from vendor_sdk.cli import app
from vendor_sdk.runtime.quantize import quantize


class _Graph:
    """A float model under construction: seeded He-uniform weights, positive biases."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}

    def conv(self, x: str, ci: int, co: int, k: int, *, group: int = 1, stride: int = 1,
             rank: int = 4, clip: bool = False) -> str:
        n = len(self.nodes)
        fan = ci // group * k ** (rank - 2)
        shape = (co, ci // group, *([k] * (rank - 2)))
        self.inits[f"w{n}"] = ((self.rng.random(shape, np.float32) - 0.5)
                               * 2 * np.sqrt(3.0 / fan)).astype(np.float32)
        self.inits[f"b{n}"] = (self.rng.random(co, np.float32) * 0.2).astype(np.float32)
        self.nodes.append(helper.make_node(
            "Conv", [x, f"w{n}", f"b{n}"], [f"conv{n}"], name=f"conv{n}", group=group,
            kernel_shape=[k] * (rank - 2), strides=[stride] * (rank - 2),
            pads=[k // 2] * (2 * (rank - 2))))
        out = f"conv{n}"
        if clip:
            self.inits.setdefault("lo", np.array(0.0, np.float32))
            self.inits.setdefault("hi", np.array(6.0, np.float32))
            self.nodes.append(helper.make_node("Clip", [out, "lo", "hi"], [f"clip{n}"],
                                               name=f"clip{n}"))
            out = f"clip{n}"
        return out

    def save(self, path: Path, x_shape: list[int], out: str, y_shape: list[int]) -> Path:
        self.nodes.append(helper.make_node("Identity", [out], ["y"], name="out"))
        g = helper.make_graph(
            self.nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
            [numpy_helper.from_array(v, k) for k, v in self.inits.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, str(path))
        return quantize(path, path.with_suffix(".int8.onnx"))


def run_cli(*args: str) -> tuple[int, int, float, float]:
    """`vendor-sdk run ...` (fsim, every NPU layer checked bit-exact against its integer
    reference): (offloaded, compute ops, % of elements within 1 LSB of onnxruntime, max
    error in LSB)."""
    res = CliRunner().invoke(app, ["run", *args, "--top", "1"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # rich wraps lines at the terminal's width
    off = re.search(r"offloaded: (\d+)/(\d+)", text)
    agree = re.search(r"vs onnxruntime: \S+: max ([\d.e+-]+) LSB, [\d.]+% of elements off, "
                      r"([\d.]+)% by more than 1 LSB", text)
    assert off and agree, res.output
    return int(off[1]), int(off[2]), 100.0 - float(agree[2]), float(agree[1])


def assert_offloaded_and_close(*args: str) -> None:
    off, total, within, worst = run_cli(*args)
    assert off == total, f"only {off}/{total} compute ops offloaded"
    assert within >= 99.9 and worst <= 2.0, (within, worst)


def test_mobilenet_v2_block_offloads_and_matches(tmp_path: Path) -> None:
    """1x1 expand + Clip(0, 6), 3x3 depthwise (stride 1 and 2) + Clip(0, 6), 1x1 project."""
    g = _Graph(0)
    h = g.conv("x", 16, 96, 1, clip=True)
    h = g.conv(h, 96, 96, 3, group=96, clip=True)
    h = g.conv(h, 96, 24, 1)
    h = g.conv(h, 24, 144, 1, clip=True)
    h = g.conv(h, 144, 144, 3, group=144, stride=2, clip=True)
    h = g.conv(h, 144, 32, 1)
    assert_offloaded_and_close(str(g.save(tmp_path / "mbv2.onnx", [1, 16, 14, 14], h,
                                          [1, 32, 7, 7])))


@pytest.mark.parametrize(("ci", "co", "group"), [
    (16, 24, 4),   # 4 inputs, 6 outputs per group: super-groups of 2 groups at DIM 8
    (12, 12, 12),  # depthwise over channels that no super-group divides: one block
    (6, 9, 3),     # 2 inputs, 3 outputs per group, neither a divisor of DIM
])
def test_grouped_conv_offloads_and_matches(tmp_path: Path, ci: int, co: int,
                                           group: int) -> None:
    g = _Graph(1)
    h = g.conv("x", ci, co, 3, group=group)
    assert_offloaded_and_close(str(g.save(tmp_path / "grp.onnx", [1, ci, 9, 9], h,
                                          [1, co, 9, 9])))


def test_conv1d_stack_offloads_and_matches(tmp_path: Path) -> None:
    """Conv1d 3 + Relu, depthwise Conv1d 5/2 + Clip(0, 6), pointwise Conv1d: the [N, C, L]
    activations live as [N, 1, L, C] on the NPU (a rank-3 Conv was a traceback)."""
    g = _Graph(2)
    h = g.conv("x", 12, 24, 3, rank=3, clip=False)
    g.nodes.append(helper.make_node("Relu", [h], ["relu"], name="relu"))
    h = g.conv("relu", 24, 24, 5, group=24, stride=2, rank=3, clip=True)
    h = g.conv(h, 24, 16, 1, rank=3)
    _assert_all_offloaded(g.save(tmp_path / "c1d.onnx", [1, 12, 40], h, [1, 16, 20]))


def test_conv1d_activation_read_by_an_add_goes_to_the_host(tmp_path: Path) -> None:
    """A residual Add of two 1-D conv outputs would read their NPU rows as [.., L]: it
    runs on the host (its reason in the report), the convs on the NPU, results agree."""
    g = _Graph(3)
    a = g.conv("x", 8, 16, 3, rank=3)
    b = g.conv("x", 8, 16, 1, rank=3)
    g.nodes.append(helper.make_node("Add", [a, b], ["sum"], name="residual"))
    model = g.save(tmp_path / "res.onnx", [1, 8, 24], "sum", [1, 16, 24])
    off, total, within, worst = run_cli(str(model))
    assert (off, total) == (2, 3)
    assert within >= 99.9 and worst <= 2.0, (within, worst)


def test_grouped_conv_with_dilation_asymmetric_pads_and_batch(tmp_path: Path) -> None:
    """Group 8 (2 channels each), dilation 2, strides (2, 1), pads (2, 1, 2, 3), batch 2."""
    g = _Graph(4)
    h = g.conv("x", 16, 16, 3, group=8)
    g.nodes[-1].attribute.extend([helper.make_attribute("dilations", [2, 2])])
    for a in g.nodes[-1].attribute:
        if a.name == "pads":
            a.ints[:] = [2, 1, 2, 3]
        if a.name == "strides":
            a.ints[:] = [2, 1]
    _assert_all_offloaded(g.save(tmp_path / "dil.onnx", [2, 16, 11, 9], h, [2, 16, 6, 9]))


def _assert_all_offloaded(model: Path) -> None:
    assert_offloaded_and_close(str(model))
