"""Host code: tensor programs (PrimFuncs) as machine code via llvmlite (see docs/host_codegen.md).

``compile_func(f)`` gives a :class:`CompiledFunc` — call it with the inputs
to get the outputs, or ``run`` it in place. The interpreter
(:mod:`core.tir.interp`) stays the definition of what a program computes;
this backend is tested against it.
"""

from core.codegen_llvm.call import CompiledFunc, compile_func
from core.codegen_llvm.error import CodegenError
from core.codegen_llvm.jit import Artifact, compile_artifact, emit_ir

__all__ = ["Artifact", "CodegenError", "CompiledFunc", "compile_artifact", "compile_func",
           "emit_ir"]
