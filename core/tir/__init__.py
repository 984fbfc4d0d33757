"""Tensor IR: loop-nest programs over buffers (see docs/tensor_ir.md)."""

from core.tir.expr import (
    INDEX,
    Bin,
    Cast,
    Const,
    Expr,
    Load,
    RShiftRound,
    Select,
    Unary,
    Var,
    as_expr,
    binop,
    cast,
    const,
    from_dim,
    select,
    smax,
    smin,
)
from core.tir.interp import InterpError, call, run
from core.tir.printer import expr_str, func_str, stmt_str
from core.tir.stmt import (
    Allocate,
    Block,
    Buffer,
    For,
    IntrinCall,
    IterVar,
    PrimFunc,
    Region,
    Seq,
    Stmt,
    Store,
    TensorIntrin,
    seq,
)
from core.tir.verify import VerifyError, check, size_vars, verify

__all__ = [
    "INDEX", "Allocate", "Bin", "Block", "Buffer", "Cast", "Const", "Expr", "For",
    "InterpError", "IntrinCall", "IterVar", "Load", "PrimFunc", "RShiftRound", "Region",
    "Select", "Seq", "Stmt", "Store", "TensorIntrin", "Unary", "Var", "VerifyError", "as_expr",
    "binop", "call", "cast", "check", "const", "expr_str", "from_dim", "func_str", "run",
    "select", "seq", "size_vars", "smax", "smin", "stmt_str", "verify",
]
