"""C driver of the reference NPU (npu.h) and its build; Python access is reference_npu.bindings."""
