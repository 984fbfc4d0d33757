"""Transcendental functions: libm for one value, glibc's libmvec for a vector of them.

LLVM's loop vectoriser vectorises a loop that calls a function only if it
knows a vector version of that call. This LLVM build has no command-line
switch for a vector library, so each scalar declaration carries the
``vector-function-abi-variant`` attribute naming libmvec's variants (AVX2
``d``, AVX-512 ``e``, as the host supports), and ``@llvm.compiler.used``
keeps those vector declarations alive until the vectoriser has run.

The scalar functions are declared under ``tir_``-prefixed names bound to
libm's addresses: under their own names LLVM recognises ``expf`` and friends
and rewrites them into intrinsics, which lose the variants and are
scalarised again by the backend.

Accuracy: libm is correctly rounded or within 1 ulp; libmvec within 4 ulp
(glibc's documented bound) — float rounding, not a different formula.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import llvmlite.binding as llvm
from llvmlite import ir
from llvmlite.ir.values import FunctionAttributes

from core.codegen_llvm.dtypes import PTR

# (op, dtype) -> libm name; float32 erf goes through double (see ExprEmitter.unary).
LIBM = {("exp", "float32"): "expf", ("log", "float32"): "logf", ("tanh", "float32"): "tanhf",
        ("exp", "float64"): "exp", ("log", "float64"): "log", ("tanh", "float64"): "tanh",
        ("erf", "float64"): "erf"}
# libmvec ISA letter -> (host feature, vector register bits).
_ISAS = (("d", "avx2", 256), ("e", "avx512f", 512))


class _Attributes(FunctionAttributes):
    """llvmlite's attribute set, plus the attributes it does not know (quoted or not)."""

    def add(self, name: str) -> None:
        if name.startswith('"') or name == "willreturn":
            set.add(self, name)
        else:
            super().add(name)


@functools.cache
def vector_isas() -> tuple[tuple[str, int], ...]:
    """The libmvec ISAs usable here: libmvec loaded and the host CPU has the feature."""
    path = ctypes.util.find_library("mvec")
    if path is None:
        return ()
    llvm.load_library_permanently(path)
    features = llvm.get_host_cpu_features()
    return tuple((isa, bits) for isa, feature, bits in _ISAS if features.get(feature))


@functools.cache
def has_scalef() -> bool:
    """Whether ``llvm.ldexp`` on float vectors is one instruction here (AVX-512's
    ``vscalefps``) rather than a libm call per element."""
    return bool(llvm.get_host_cpu_features().get("avx512f"))


@functools.cache
def _bind_libm() -> None:
    """Make each ``tir_<name>`` resolve to libm's ``<name>`` in JIT-compiled code."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    for name in set(LIBM.values()):
        llvm.add_symbol(f"tir_{name}", ctypes.cast(getattr(libm, name), ctypes.c_void_p).value)


def declare(module: ir.Module, op: str, dtype: str, ty: ir.Type) -> ir.Function:
    """The scalar function computing ``op`` on ``dtype``, with its vector variants."""
    _bind_libm()
    name = LIBM[(op, dtype)]
    symbol = f"tir_{name}"
    existing = module.globals.get(symbol)
    if isinstance(existing, ir.Function):
        return existing
    fn = ir.Function(module, ir.FunctionType(ty, [ty]), symbol)
    fn.attributes = _Attributes()
    for attr in ("nounwind", "readnone", "willreturn"):
        fn.attributes.add(attr)
    elem_bits = 32 if dtype == "float32" else 64
    variants = []
    for isa, bits in vector_isas():
        lanes = bits // elem_bits
        vec = f"_ZGV{isa}N{lanes}v_{name}"
        vty = ir.VectorType(ty, lanes)
        if vec not in module.globals:
            ir.Function(module, ir.FunctionType(vty, [vty]), vec)
        variants.append(f"_ZGV{isa}N{lanes}v_{symbol}({vec})")
    if variants:
        fn.attributes.add(f'"vector-function-abi-variant"="{",".join(variants)}"')
    return fn


def keep_vector_variants(module: ir.Module) -> None:
    """List every libmvec declaration in ``@llvm.compiler.used`` (call once, at the end)."""
    vecs = [g for g in module.functions if g.name.startswith("_ZGV")]
    if not vecs:
        return
    arr = ir.ArrayType(PTR, len(vecs))
    used = ir.GlobalVariable(module, arr, "llvm.compiler.used")
    used.linkage = "appending"
    used.section = "llvm.metadata"
    used.initializer = ir.Constant(arr, vecs)
