"""Floor divisions and modulos of outer loops' variables are declared once per loop and the
C computes the same values: random index expressions printed by the C writer inside
random loop nests are compiled by gcc (-Wshadow -Wunused -Werror: no name shadows
another, none is declared unused), run at every point of their loops, and compared with
the IR's own integer arithmetic (vendor_sdk.codegen.cexpr.evaluate) at that point."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

from codegen.test_readable_c import recomputed

from core.tir.expr import Const, Expr, Var, binop
from vendor_sdk.codegen.cexpr import evaluate
from vendor_sdk.codegen.cwriter import CWriter
from vendor_sdk.codegen.invariants import term_name

TEMPLATES = Path(__file__).resolve().parents[2] / "vendor_sdk" / "codegen_templates"


def _runtime_helpers() -> str:
    """vsdk_fdiv and vsdk_fmod exactly as the generated header defines them."""
    text = (TEMPLATES / "header.h.j2").read_text()
    start = text.index("static inline int64_t vsdk_fdiv")
    end = text.index("\n", text.index("static inline int64_t vsdk_fmod"))
    return text[start:end + 1]


def _expr(rng: random.Random, names: list[str], depth: int = 0) -> Expr:
    """A random index expression over ``names``: sums, products by constants, floor
    divisions and modulos by positive constants (tile sizes)."""
    if depth >= 3 or rng.random() < 0.25:
        return Var(rng.choice(names)) if rng.random() < 0.8 else Const(rng.randint(-5, 9))
    op = rng.choice(("+", "+", "*", "//", "%", "//", "%"))
    a = _expr(rng, names, depth + 1)
    if op in ("//", "%"):
        return binop(op, a, Const(rng.randint(2, 7)))
    if op == "*":
        return binop(op, a, Const(rng.randint(-3, 8)))
    return binop(op, a, _expr(rng, names, depth + 1))


def _program(seed: int) -> tuple[str, dict[int, tuple[list[str], Expr]]]:
    """C statements: a random nest of loops (some siblings, one of one iteration, which
    prints nothing), printing random expressions at every level; and what each print
    reports (its loop variables and expression)."""
    rng = random.Random(seed)
    w = CWriter()
    prints: dict[int, tuple[list[str], Expr]] = {}

    def emit() -> None:
        names = [v.name for v, _ in w.loops]
        for _ in range(rng.randint(1, 3)):
            e = _expr(rng, names)
            k = len(prints)
            prints[k] = (names, e)
            # a loop of one iteration has no C variable: its variable is 0
            args = ", ".join([str(v.name) if x != Const(1) else "0" for v, x in w.loops]
                             + ["0"] * (4 - len(names)))
            w.out(f"report({k}, {args}, {w.ct(e)});")

    def nest(level: int) -> None:
        for k in range(rng.randint(1, 2) if level else 1):
            var = Var(f"{'tes'[min(level, 2)]}_{'abcd'[level]}{k or ''}")
            w.open_loop(var, Const(rng.choice((1, 2, 3, 5, 8)) if level == 2 else
                                   rng.randint(2, 6)))
            emit()
            if level < 3:
                nest(level + 1)
            emit()
            w.close_loop()

    nest(0)
    return "\n".join(w.lines), prints


def _run(tmp: Path, body: str) -> str:
    src = tmp / "prog.c"
    src.write_text("#include <stdint.h>\n#include <stdio.h>\n" + _runtime_helpers() +
                   "static void report(int k, int64_t a, int64_t b, int64_t c, int64_t d, "
                   "int64_t v) {\n"
                   '    printf("%d %lld %lld %lld %lld %lld\\n", k, (long long)a, (long long)b, '
                   "(long long)c, (long long)d, (long long)v);\n}\n"
                   f"int main(void) {{\n{body}\n    return 0;\n}}\n")
    exe = tmp / "prog"
    subprocess.run(["gcc", "-std=c11", "-O0", "-Wall", "-Wextra", "-Wshadow", "-Werror",
                    str(src), "-o", str(exe)], check=True, capture_output=True, text=True)
    return subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout


def test_hoisted_terms_compute_the_same_values(tmp_path: Path) -> None:
    declared = 0
    for seed in range(12):
        body, prints = _program(seed)
        assert recomputed(body) == [], body
        declared += len(re.findall(r"const int64_t \w+_(?:div|mod)\w* = ", body))
        seen = set()
        for line in _run(tmp_path, body).splitlines():
            k, *point, got = map(int, line.split())
            names, e = prints[k]
            env = dict(zip(names, point, strict=False))
            assert got == evaluate(e, env), (seed, k, env, body)
            seen.add(k)
        assert seen == set(prints), seed  # every print ran (extents are >= 1)
    assert declared > 20  # the programs do exercise the hoisting


def test_declared_where_the_variable_is_bound() -> None:
    """``t_k // 3`` printed two loops inside ``t_k``'s: declared once at the top of
    ``t_k``'s body (above the inner loops), named after what it is, reused by a sibling
    loop; printed in ``t_k``'s own body it stays in full (it changes with ``t_k``); a
    term of a size argument stays where it is; a name the function uses is not taken."""
    t_k, e, f, big_n = Var("t_k"), Var("e"), Var("f"), Var("N")
    w = CWriter(taken=["t_k_mod2"])
    w.open_loop(t_k, Const(9))
    w.out(f"own({w.ct(binop('//', t_k, Const(3)))});")
    for inner in (e, f):
        w.open_loop(inner, Const(4))
        w.out(f"use({w.ct(binop('+', binop('//', t_k, Const(3)), inner))}, "
              f"{w.ct(binop('%', t_k, Const(2)))}, {w.ct(binop('//', big_n, Const(2)))});")
        w.close_loop()
    w.close_loop()
    assert w.lines == [
        "    for (int64_t t_k = 0; t_k < 9; t_k++) {",
        "        const int64_t t_k_div3 = vsdk_fdiv(t_k, 3);",
        "        const int64_t t_k_mod2_2 = vsdk_fmod(t_k, 2);",
        "        own(vsdk_fdiv(t_k, 3));",
        "        for (int64_t e = 0; e < 4; e++) {",
        "            use(t_k_div3 + e, t_k_mod2_2, vsdk_fdiv(N, 2));",
        "        }",
        "        for (int64_t f = 0; f < 4; f++) {",
        "            use(t_k_div3 + f, t_k_mod2_2, vsdk_fdiv(N, 2));",
        "        }",
        "    }",
    ]


def test_names_say_what_a_term_is() -> None:
    from core import symbolic as sym
    from core.schedule.common import to_dim

    def name(e: Expr) -> str:
        d = to_dim(e)
        assert isinstance(d, sym.Sym) and len(d.terms) == 1
        ((atom,), _) = d.terms[0]
        return term_name(atom)

    t_p, e_p, t_k = Var("t_p"), Var("e_p"), Var("t_k")
    flat = binop("+", binop("*", t_p, Const(64)), e_p)
    assert name(binop("//", t_k, Const(3))) == "t_k_div3"
    assert name(binop("%", binop("//", t_k, Const(2)), Const(3))) == "t_k_div2_mod3"
    assert name(binop("//", flat, Const(55))) == "p_div55"  # one axis' tile and element
    assert name(binop("%", binop("+", t_k, e_p), Const(5))) == "e_p_t_k_mod5"
