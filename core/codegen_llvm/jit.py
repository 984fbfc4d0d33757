"""Machine code for the host: LLVM's O3 pipeline (new pass manager) and MCJIT.

One MCJIT engine per process holds every compiled function; each PrimFunc
gets its own LLVM module and a symbol derived from the hash of its printed
text, which is also the cache key — equal programs compile once.

No fast-math: float operations keep the program's order and rounding — the
program's, after the host schedule (:func:`core.schedule.host.host_schedule`),
which splits float sums over contiguous memory into partial sums unless
``reassociate=False``. Ordered (strict) float reductions are enabled, so a
loop like ``s += exp(x[k] - m)`` still vectorises its ``exp`` while adding in
source order; the results are the interpreter's (on the scheduled program) up
to the rounding of ``exp``/``log``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import llvmlite.binding as llvm
from llvmlite import ir

from core.codegen_llvm.emit import Signature, emit_function
from core.codegen_llvm.error import CodegenError
from core.codegen_llvm.mathlib import keep_vector_variants, vector_isas
from core.schedule.host import host_schedule
from core.tir.printer import func_str
from core.tir.stmt import PrimFunc

OPT_LEVEL = 3


@dataclass(frozen=True)
class Artifact:
    """A compiled PrimFunc: entry address, signature, the IR (before and after -O3)."""

    address: int
    signature: Signature
    ir_text: str
    optimized_ir: str
    compile_seconds: float


class _Jit:
    """The process-wide LLVM state: target machine, engine, cache (guarded by a lock)."""

    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        # Ordered FP reductions: `s += f(x[k])` vectorises f and still adds in order.
        llvm.set_option("", "-force-ordered-reductions")
        self.vector_isas = vector_isas()
        target = llvm.Target.from_triple(llvm.get_process_triple())
        self.tm = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=_features(),
            opt=OPT_LEVEL, codemodel="jitdefault", jit=True)
        backing = llvm.parse_assembly("")
        backing.triple = llvm.get_process_triple()
        self.engine = llvm.create_mcjit_compiler(backing, self.tm)
        self.cache: dict[str, Artifact] = {}
        self.lock = threading.Lock()

    def compile(self, f: PrimFunc, reassociate: bool = True) -> Artifact:
        key = f"reassociate={reassociate}\n{func_str(f)}"
        with self.lock:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
            start = time.perf_counter()
            symbol = "tir_" + hashlib.sha256(key.encode()).hexdigest()[:24]
            text, sig = _emit(f, symbol, self.tm, reassociate=reassociate)
            try:
                mod = llvm.parse_assembly(text)
                mod.verify()
            except RuntimeError as e:  # a code generator bug, not a user error
                raise CodegenError(f"{f.name}: emitted LLVM IR is invalid: {e}") from e
            _optimize(mod, self.tm)
            optimized = str(mod)
            self.engine.add_module(mod)
            self.engine.finalize_object()
            address = self.engine.get_function_address(symbol)
            art = Artifact(address, sig, text, optimized, time.perf_counter() - start)
            self.cache[key] = art
            return art


def emit_ir(f: PrimFunc, schedule: bool = True, reassociate: bool = True) -> str:
    """LLVM IR text of ``f`` as emitted, before optimisation (function ``tir_<name>``);
    ``schedule=False`` skips the default host schedule."""
    return _emit(f, f"tir_{f.name}", None, schedule, reassociate)[0]


def _emit(f: PrimFunc, symbol: str, tm: llvm.TargetMachine | None,
          schedule: bool = True, reassociate: bool = True) -> tuple[str, Signature]:
    module = ir.Module(name=f.name)
    module.triple = llvm.get_process_triple()
    if tm is not None:
        module.data_layout = str(tm.target_data)
    # The schedule keeps every parameter and size variable, so the signature is f's.
    sig = emit_function(host_schedule(f, reassociate) if schedule else f, module, symbol)
    keep_vector_variants(module)
    return str(module), sig


def _optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = True
    pto.loop_interleaving = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


def _features() -> str:
    """The host's features, minus gathers for the vectoriser: on the x86 cores here a
    gather costs about as much as its scalar loads, and LLVM's cost model would
    otherwise vectorise an outer loop across rows (strided) once the inner one has
    been unrolled, instead of keeping the contiguous lanes the schedule built."""
    features = llvm.get_host_cpu_features().flatten()
    if "+avx2" in features.split(","):
        features += ",+prefer-no-gather"
    return features


_JIT: _Jit | None = None
_INIT_LOCK = threading.Lock()


def jit() -> _Jit:
    global _JIT
    with _INIT_LOCK:
        if _JIT is None:
            _JIT = _Jit()
        return _JIT


def compile_artifact(f: PrimFunc, reassociate: bool = True) -> Artifact:
    """Machine code for ``f``, from the cache when an equal program was compiled before.
    ``reassociate=False`` keeps float reductions in program order (see host_schedule)."""
    return jit().compile(f, reassociate)
