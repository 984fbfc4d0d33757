"""`vendor-sdk export`: a compiled model as ONNX that onnxruntime runs, its NPU regions as
custom nodes backed by the compiled library (docs/export.md).

    from vendor_sdk.export import export_model          # write x.npu.onnx + x.npu/
    import vendor_sdk.export.ort as npu                 # the kernels, for onnxruntime
    onnxruntime.InferenceSession("x.npu.onnx", npu.session_options("x.npu.onnx"))
"""

from vendor_sdk.export.errors import ExportError
from vendor_sdk.export.model import Exported, ExportedRegion, export_model

__all__ = ["ExportError", "Exported", "ExportedRegion", "export_model"]
