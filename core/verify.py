"""Well-formedness checks for graph modules: SSA, scoping, and type consistency."""

from __future__ import annotations

from core.errors import VendorSdkError
from core.graph import Call, Constant, Function, Module, TupleGetItem, Var, args_of
from core.infer import infer_expr
from core.ops import get_op
from core.ops.registry import OpError
from core.types import same_type


class VerifyError(VendorSdkError):
    """The module is malformed; ``problems`` lists every finding, each naming its binding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _check_function(f: Function, m: Module) -> list[str]:
    problems: list[str] = []
    defined: dict[str, Var] = {}

    def define(v: Var, where: str) -> None:
        if v.name in defined:
            problems.append(f"{where}: %{v.name} is defined twice (SSA)")
        defined[v.name] = v

    def use(v: Var, where: str) -> None:
        d = defined.get(v.name)
        if d is None:
            problems.append(f"{where}: uses %{v.name} before it is defined")
        elif d.type != v.type:
            problems.append(f"{where}: %{v.name} is used with type {v.type}, defined as {d.type}")

    for p in f.params:
        define(p, f"@{f.name} parameter %{p.name}")
    for block in f.blocks:
        for b in block.bindings:
            where = f"@{f.name}: %{b.var.name}" + (f" ({b.source})" if b.source else "")
            for a in args_of(b.value):
                if isinstance(a, Var):
                    use(a, where)
            if isinstance(b.value, Call):
                try:
                    op = get_op(b.value.op)
                    if block.dataflow and not op.pure:
                        problems.append(f"{where}: impure op {op.name} inside a dataflow block")
                    missing = [k for k, s in op.attrs.items()
                               if k not in b.value.attrs and s.default is not None]
                    if missing:
                        problems.append(f"{where}: attributes {missing} not filled in")
                except OpError as e:
                    problems.append(f"{where}: {e}")
                    continue
            if isinstance(b.value, TupleGetItem) and b.value.value.name not in defined:
                continue
            try:
                inferred = infer_expr(b.value, m)
            except OpError as e:
                problems.append(f"{where}: type inference failed: {e}")
                continue
            if not same_type(inferred, b.var.type):
                problems.append(f"{where}: annotated {b.var.type} but the call gives {inferred}")
            define(b.var, where)
    for o in f.outputs:
        if isinstance(o, Var):
            use(o, f"@{f.name} return")
        elif not isinstance(o, Constant):
            problems.append(f"@{f.name} return: {o!r} is not a value")
    return problems


def verify(m: Module) -> None:
    """Raise :class:`VerifyError` listing all problems; return quietly if there are none."""
    problems: list[str] = []
    if m.entry not in m:
        problems.append(f"module has no entry function '{m.entry}'")
    names = [f.name for f in m.functions]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"function @{dup} is defined twice")
    for f in m.functions:
        if isinstance(f, Function):
            problems.extend(_check_function(f, m))
    if problems:
        raise VerifyError(problems)
