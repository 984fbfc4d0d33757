"""The custom op an exported NPU region becomes: its domain, attributes and op types.

onnxruntime-extensions' Python custom ops live in one domain (``ai.onnx.contrib``; the
library sets it, a PyOp cannot choose another) and declare a fixed list of input and
output element types per op type. A region takes and gives int8 tensors (uint8 in a
model quantized with uint8 activations: the SDK shifts them to int8 exactly, and the
kernel does the same at the boundary), and their number varies, so each signature is its
own op type: ``NpuRegion_2i8_1i8`` takes two int8 tensors and gives one. The kernel
module registers every signature up to ``MAX_PORTS`` inputs and outputs before any
session exists (the extensions library reads its op list once, when a SessionOptions
registers it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOMAIN = "ai.onnx.contrib"  # onnxruntime-extensions' PyOp domain (fixed by that library)
OP_PREFIX = "NpuRegion"
MAX_PORTS = 8  # inputs and outputs of one region node; more is an ExportError

# Node attributes, all strings: the region's entry function, the package directory
# (relative to the model file), the export's id (the package's export.json holds the
# same), the backend chosen at export and the target the library was built for.
ATTRIBUTES = ("region", "package", "export_id", "backend", "target")

# ONNX element type -> (short code in the op type, numpy dtype)
DTYPES: dict[int, tuple[str, np.dtype]] = {
    3: ("i8", np.dtype(np.int8)),   # TensorProto.INT8
    2: ("u8", np.dtype(np.uint8)),  # TensorProto.UINT8
}


@dataclass(frozen=True, slots=True)
class Signature:
    """ONNX element types of a region node's inputs and outputs (one type per side)."""

    inputs: int    # ONNX element type of every input
    n_inputs: int
    outputs: int   # ONNX element type of every output
    n_outputs: int

    @property
    def op_type(self) -> str:
        return (f"{OP_PREFIX}_{self.n_inputs}{DTYPES[self.inputs][0]}_"
                f"{self.n_outputs}{DTYPES[self.outputs][0]}")


def all_signatures() -> list[Signature]:
    """Every signature the kernel module registers."""
    return [Signature(i, n, o, m) for i in DTYPES for o in DTYPES
            for n in range(1, MAX_PORTS + 1) for m in range(1, MAX_PORTS + 1)]
