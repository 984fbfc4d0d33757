"""Everyday model families written as PyTorch modules and exported by torch.onnx.

These are inputs we did not write as ONNX: the graphs (operand order of residual Adds,
Clip for ReLU6, Gemm with bias, LayerNormalization, Conv1d, depthwise convs, the shape
arithmetic around reshapes) are whatever torch's exporter produces. Weights come from
torch's own initialisers under a fixed seed; BatchNorm statistics are made non-trivial
so folding them is exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn


def _randomize_bn(m: nn.Module, g: torch.Generator) -> None:
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm1d | nn.BatchNorm2d):
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            bn.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            bn.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            bn.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


class BasicBlock(nn.Module):
    """ResNet's basic block; `out = branch + shortcut` as torchvision writes it."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.down is None else self.down(x)
        return torch.relu(out + shortcut)


class ResNetTiny(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.MaxPool2d(2))
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2))
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    """MobileNet-V2's block: 1x1 expand, 3x3 depthwise, 1x1 project, ReLU6."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV2Tiny(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU6())
        self.blocks = nn.Sequential(InvertedResidual(16, 16, 1, 4),
                                    InvertedResidual(16, 24, 2, 4),
                                    InvertedResidual(24, 24, 1, 4))
        self.fc = nn.Linear(24, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Conv1dNet(nn.Module):
    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(4, 16, 5, padding=2), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 32, 3, padding=1, dilation=1), nn.ReLU())
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=2))


class Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                                 nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder block (tokens [B, T, D]) written as ViT code
    writes it: qkv projection, reshapes to heads, scaled dot products, softmax, GELU MLP."""

    def __init__(self, d: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, d // self.heads) \
            .permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        x = x + self.mlp(self.norm2(x))
        return self.head(x.mean(dim=1))


# name -> (module factory, example input shape)
MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "resnet_tiny": (ResNetTiny, (1, 3, 32, 32)),
    "mobilenetv2_tiny": (MobileNetV2Tiny, (1, 3, 32, 32)),
    "conv1d": (Conv1dNet, (1, 4, 64)),
    "mlp": (Mlp, (1, 64)),
    "encoder": (EncoderBlock, (1, 16, 32)),
}


def export(name: str, path: Path, seed: int = 0, opset: int = 17) -> Path:
    """Export MODELS[name] (eval mode, seeded weights) with torch.onnx's TorchScript
    exporter, the one most deployed models went through."""
    make, shape = MODELS[name]
    torch.manual_seed(seed)
    model = make().eval()
    _randomize_bn(model, torch.Generator().manual_seed(seed))
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), input_names=["input"],
                          output_names=["output"], opset_version=opset, dynamo=False)
    return path
