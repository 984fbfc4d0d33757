"""Elementwise fusion (core.lower.fuse): what fuses, what must not, and that fused programs
give the unfused chain's bits through the TIR interpreter and as machine code."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lowering_inputs import Build, N, f32, i8, module_of, scalar

from core.builder import FunctionBuilder, single_function_module
from core.executor import run
from core.graph import CallTIR, Module, Var
from core.lower import lower_module
from core.tir import PrimFunc
from core.types import TensorType

HOSTS = ("interp", "llvm")


def _tir_calls(m: Module) -> list[CallTIR]:
    return [b.value for b in m.main.bindings if isinstance(b.value, CallTIR)]


def _same_bits(module: Module, inputs: list[np.ndarray]) -> Module:
    """Fused == unfused bit for bit on every host; returns the fused module."""
    fused, unfused = lower_module(module), lower_module(module, fuse=False)
    for host in HOSTS:
        want = run(unfused, inputs, host=host)
        got = run(fused, inputs, host=host)
        for g, w in zip(got, want, strict=True):
            assert (g.dtype, g.shape) == (w.dtype, w.shape)
            assert g.tobytes() == w.tobytes(), (host, g, w)
    return fused


CASES: list[tuple[str, Build, list[np.ndarray]]] = [
    ("add_relu", lambda fb, a, b: [fb.op("Relu", fb.op("Add", a, b))],
     [f32(2, 3, 4, 5), f32(2, 3, 4, 5)]),
    ("broadcast_chain", lambda fb, a, b, c: [fb.op("Clip", fb.op("Relu", fb.op("Mul", fb.op(
        "Add", a, b), c)), scalar(-0.25), scalar(0.75))], [f32(2, 3, 4), f32(3, 1), f32(4)]),
    ("broadcast_left", lambda fb, a, b: [fb.op("Sub", b, fb.op("Neg", a))],
     [f32(3, 4, 5), f32(3, 1, 5)]),
    ("leaky_twice", lambda fb, a, b: [fb.op("LeakyRelu", fb.op("LeakyRelu", fb.op(
        "Sub", a, b), alpha=0.2), alpha=0.3)], [f32(2, 7), f32(7)]),
    ("div_sigmoid_abs", lambda fb, a, b: [fb.op("Abs", fb.op("Sigmoid", fb.op("Div", a, b)))],
     [f32(2, 9), f32(2, 9)]),
    ("same_input_twice", lambda fb, a: [fb.op("Mul", fb.op("Floor", a), a)], [f32(3, 6)]),
    ("qdq_chain", lambda fb, a, b: [fb.op("Relu", fb.op("DequantizeLinear", fb.op(
        "QuantizeLinear", fb.op("Add", a, b), scalar(0.05), np.array(-3, np.int8)), scalar(0.05),
        np.array(-3, np.int8)))], [f32(2, 3, 6), f32(6)]),
    ("dequant_per_axis", lambda fb, q: [fb.op("Relu", fb.op(
        "DequantizeLinear", q, np.array([0.1, 0.2, 0.3], np.float32),
        np.array([1, -2, 3], np.int8), axis=1))], [i8(2, 3, 4)]),
    ("cast_chain", lambda fb, a: [fb.op("Cast", fb.op("Add", fb.op("Cast", fb.op(
        "Mul", a, scalar(40.0)), to="int8"), np.array(100, np.int8)), to="float32")], [f32(3, 8)]),
    ("int8_add_relu", lambda fb, a, b: [fb.op("Relu", fb.op("Add", a, b))],
     [i8(2, 9), i8(9)]),
]


@pytest.mark.parametrize("symbolic_batch", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize(("name", "build", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_chain_fuses_into_one_program_with_the_same_bits(
        name: str, build: Build, inputs: list[np.ndarray], symbolic_batch: bool) -> None:
    fused = _same_bits(module_of(build, inputs, symbolic_batch), inputs)
    assert len(_tir_calls(fused)) == 1


def test_add_relu_is_one_program_named_after_both() -> None:
    fb = FunctionBuilder("main")
    t = TensorType("float32", (N, 4))
    a, b = fb.param("a", t), fb.param("b", t)
    y = fb.op("Relu", fb.op("Add", a, b, name="s", source="Add_0"), name="y", source="Relu_1")
    fused = lower_module(single_function_module(fb.finish([y])))
    (binding,) = fused.main.bindings
    assert binding.value == CallTIR("main_y_add_relu", (a, b), y.type)
    assert binding.source == "Add_0, Relu_1"  # errors still name the ONNX nodes
    assert [f.name for f in fused.functions if isinstance(f, PrimFunc)] == ["main_y_add_relu"]


def _unfused_vars(build: Build, inputs: list[np.ndarray]) -> set[str]:
    """Names of the values that stay separate tensor programs (checked bit for bit too)."""
    fused = _same_bits(module_of(build, inputs, False), inputs)
    return {b.var.name for b in fused.main.bindings if isinstance(b.value, CallTIR)}


def test_value_with_two_consumers_is_not_fused() -> None:
    kept = _unfused_vars(lambda fb, a, b: (lambda s: [fb.op("Relu", s), fb.op("Neg", s)])(
        fb.op("Add", a, b, name="s")), [f32(2, 5), f32(5)])
    assert kept == {"s", "relu", "neg"}


def test_function_output_used_later_is_not_fused() -> None:
    kept = _unfused_vars(lambda fb, a, b: (lambda s: [s, fb.op("Relu", s)])(
        fb.op("Add", a, b, name="s")), [f32(2, 5), f32(2, 5)])
    assert kept == {"s", "relu"}


def test_broadcast_intermediate_is_not_recomputed() -> None:
    # Fusing Relu(b) into the Add would compute it once per output element, not once.
    kept = _unfused_vars(lambda fb, a, b: [fb.op("Add", a, fb.op("Relu", b))],
                         [f32(2, 3, 4), f32(3, 1)])
    assert kept == {"relu", "add"}


def test_copies_and_reductions_are_not_fused() -> None:
    kept = _unfused_vars(lambda fb, x: [fb.op("Relu", fb.op("Transpose", fb.op(
        "Conv", x, f32(4, 3, 3, 3), pads=(1, 1, 1, 1)), perm=(0, 2, 3, 1)))],
                         [f32(1, 3, 5, 5)])
    assert kept == {"conv", "transpose", "relu"}


UNARY = ("Relu", "Neg", "Abs", "Floor", "Sigmoid", "LeakyRelu", "Clip")
BINARY = ("Add", "Sub", "Mul", "Div", "Max", "Min")


@st.composite
def _chains(draw: st.DrawFn) -> tuple[Build, list[np.ndarray], bool]:
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    seed = draw(st.integers(0, 2**16))
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(UNARY + BINARY))
        # Operands: an earlier value (mostly the last, so chains form), or for the second
        # operand of a binary op a new input broadcast to the chain's shape.
        first = draw(st.integers(-2, -1))
        second = None
        if op in BINARY:
            drop = draw(st.integers(0, len(shape)))
            ones = draw(st.lists(st.booleans(), min_size=len(shape) - drop,
                                 max_size=len(shape) - drop))
            second = draw(st.one_of(st.integers(-3, -1), st.just(tuple(
                1 if one else d for one, d in zip(ones, shape[drop:], strict=True)))))
        steps.append((op, first, second, draw(st.booleans())))
    g = np.random.default_rng(seed)
    inputs = [g.standard_normal(shape).astype(np.float32)]
    for _, _, second, _ in steps:
        if isinstance(second, tuple):
            inputs.append(g.standard_normal(second).astype(np.float32))

    def build(fb: FunctionBuilder, *params: Var) -> list:
        values, rest, outs = [params[0]], list(params[1:]), []
        for op, first, second, is_output in steps:
            a = values[max(first, -len(values))]
            if op == "Clip":
                v = fb.op(op, a, scalar(-0.5), scalar(0.8))
            elif op == "LeakyRelu":
                v = fb.op(op, a, alpha=0.15)
            elif op in UNARY:
                v = fb.op(op, a)
            else:
                b = rest.pop(0) if isinstance(second, tuple) else values[max(second, -len(values))]
                v = fb.op(op, a, b)
            values.append(v)
            if is_output:
                outs.append(v)
        return [*outs, values[-1]] if values[-1] not in outs else outs

    return build, inputs, draw(st.booleans())


@settings(max_examples=30, deadline=None)
@given(_chains())
def test_random_elementwise_chains_keep_bits(chain: tuple[Build, list[np.ndarray], bool]
                                             ) -> None:
    build, inputs, symbolic_batch = chain
    _same_bits(module_of(build, inputs, symbolic_batch), inputs)
