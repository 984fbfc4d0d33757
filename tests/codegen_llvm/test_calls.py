"""The call wrapper's checks, the compile cache, the emitted IR's shape, and the errors
for programs that are not host code."""

from __future__ import annotations

import numpy as np
import pytest

from core.builder import FunctionBuilder, single_function_module
from core.codegen_llvm import CodegenError, compile_artifact, compile_func, emit_ir
from core.executor import ExecutionError, Executor
from core.tir import (
    Allocate,
    Bin,
    Buffer,
    Const,
    For,
    IntrinCall,
    Load,
    PrimFunc,
    Region,
    Store,
    TensorIntrin,
    Var,
    call,
    check,
)
from core.types import TensorType

N = Var("N")
I, J = Var("i"), Var("j")


def _scale(name: str = "scale") -> PrimFunc:
    """out[i, j] = 2 * a[i, j] over a symbolic number of rows."""
    a, out = Buffer("a", "float32", (N, Const(8))), Buffer("out", "float32", (N, Const(8)))
    body = For(I, N, For(J, Const(8), Store(out, (I, J), Bin(
        "*", Load(a, (I, J)), Const(2.0, "float32")))))
    return check(PrimFunc(name, (a, out), body))


def test_wrong_dtype_rank_shape_and_layout_are_refused() -> None:
    cf = compile_func(_scale())
    with pytest.raises(CodegenError, match="a expects float32 of rank 2"):
        cf(np.zeros((3, 8), np.float64))
    with pytest.raises(CodegenError, match="a expects float32 of rank 2"):
        cf(np.zeros(8, np.float32))
    with pytest.raises(CodegenError, match=r"has shape \(3, 7\), declared \[N, 8\]"):
        cf(np.zeros((3, 7), np.float32))
    with pytest.raises(CodegenError, match="not C-contiguous"):
        cf(np.zeros((3, 16), np.float32)[:, ::2])
    with pytest.raises(CodegenError, match="takes 1 arrays, got 2"):
        cf(np.zeros((3, 8), np.float32), np.zeros((3, 8), np.float32))


def test_sizes_must_agree_and_outputs_must_not_alias() -> None:
    cf = compile_func(_scale())
    a = np.ones((3, 8), np.float32)
    with pytest.raises(CodegenError, match="binds N=4, but it is 3"):
        cf.run([a, np.zeros((4, 8), np.float32)])
    with pytest.raises(CodegenError, match="output out overlaps a"):
        cf.run([a, a])
    out = np.zeros((3, 8), np.float32)
    cf.run([a, out])
    np.testing.assert_array_equal(out, 2 * a)


def test_cache_is_keyed_by_program_text() -> None:
    first = compile_artifact(_scale())
    assert compile_artifact(_scale()) is first
    renamed = compile_artifact(_scale("other"))
    assert renamed is not first and renamed.signature.symbol != first.signature.symbol
    assert first.signature.sizes == ("N",)


def test_emitted_ir_has_noalias_buffers_and_i64_sizes_and_vectorizes() -> None:
    text = emit_ir(_scale())
    assert 'define void @"tir_scale"(ptr noalias %"a", ptr noalias %"out", i64 %"N")' in text
    optimized = compile_artifact(_scale()).optimized_ir
    assert "<16 x float>" in optimized or "<8 x float>" in optimized


def test_intrinsic_calls_are_not_host_code() -> None:
    a, out = Buffer("a", "float32", (Const(4),)), Buffer("out", "float32", (Const(4),))
    da, dout = Buffer("x", "float32", (Const(4),)), Buffer("y", "float32", (Const(4),))
    desc = PrimFunc("copy4", (da, dout), For(I, Const(4), Store(dout, (I,), Load(da, (I,)))))
    intrin = TensorIntrin("npu_copy4", desc)
    f = PrimFunc("offloaded", (a, out), IntrinCall(intrin, (
        Region(a, (Const(0),), (Const(4),)), Region(out, (Const(0),), (Const(4),)))))
    with pytest.raises(CodegenError, match=r"still contains an NPU intrinsic call npu_copy4\(a"):
        compile_func(f)


def test_scratch_buffers_on_stack_and_heap() -> None:
    """A small static Allocate lives on the stack, a symbolic one on the heap; both work."""
    a, out = Buffer("a", "int32", (N,)), Buffer("out", "int32", (N,))
    for n in (Const(16), N):
        tmp = Buffer("tmp", "int32", (n,))
        body = Allocate(tmp, _square_via(tmp, a, out, n))
        f = check(PrimFunc("scratch", (a, out), body))
        x = np.arange(16, dtype=np.int32) - 5
        np.testing.assert_array_equal(compile_func(f)(x)[0], call(f, [x])[0])
        assert ("malloc" in emit_ir(f)) == (n == N)


def _square_via(tmp: Buffer, a: Buffer, out: Buffer, n: Var | Const) -> For:
    from core.tir import seq

    return For(I, n, seq(Store(tmp, (I,), Bin("*", Load(a, (I,)), Load(a, (I,)))),
                         Store(out, (I,), Bin("+", Load(tmp, (I,)), Const(1, "int32")))))


def test_executor_host_switch() -> None:
    fb = FunctionBuilder("main")
    x = fb.param("x", TensorType("float32", (2, 3)))
    module = single_function_module(fb.finish([fb.op("Relu", x)]))
    with pytest.raises(ExecutionError, match="unknown host 'gpu'"):
        Executor(module, host="gpu")
