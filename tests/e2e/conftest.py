"""Quantized models shared by the end-to-end tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendor_sdk.compile import Compiled, compile_model
from vendor_sdk.runtime.examples import cnn, mlp
from vendor_sdk.runtime.quantize import quantize


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {"mlp": quantize(mlp(d / "mlp.onnx"), d / "mlp.int8.onnx"),
            "cnn": quantize(cnn(d / "cnn.onnx"), d / "cnn.int8.onnx")}


@pytest.fixture(scope="session")
def compiled(models: dict[str, Path]) -> dict[str, Compiled]:
    return {k: compile_model(p, "reference_npu", {"N": 1}) for k, p in models.items()}
