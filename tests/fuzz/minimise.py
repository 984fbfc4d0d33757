"""Shrink a failing spec to the smallest one that fails the same way.

Greedy delta debugging over the spec's blocks (drop one, keep the drop when the failure
class is unchanged, until no single drop keeps it), then the batch, the input extents and
each block parameter (to its plainest value).
Every subset of blocks builds (modelgen skips blocks that no longer apply), so each step is
one quantize + compile + run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness import Outcome, run_case
from modelgen import Spec

# A block parameter's plainest value: a failure that survives it does not need the feature.
SIMPLER: dict[str, object] = {"act": "none", "bias": False, "residual": False, "gain": 1.0,
                              "swap": False, "k": 1, "stride": 1, "dilation": 1, "pad": "same",
                              "groups": "1", "transB": False}


def _simpler_blocks(spec: Spec) -> list[Spec]:
    out = []
    for i, b in enumerate(spec.blocks):
        for j, (k, v) in enumerate(b.params):
            if k in SIMPLER and v != SIMPLER[k] and type(v) is type(SIMPLER[k]):
                params = (*b.params[:j], (k, SIMPLER[k]), *b.params[j + 1:])
                blocks = (*spec.blocks[:i], replace(b, params=params), *spec.blocks[i + 1:])
                out.append(replace(spec, blocks=blocks))
    return out


def _shrunk_shapes(spec: Spec) -> list[tuple[int, ...]]:
    out = []
    for i, s in enumerate(spec.shape):
        for smaller in (s // 2, s - 1):
            if 1 <= smaller < s:
                out.append((*spec.shape[:i], smaller, *spec.shape[i + 1:]))
    return out


def minimise(spec: Spec, options: str, cls: str,
             say: Callable[[str], None] = lambda _s: None,
             run: Callable[[Spec, str], Outcome] = run_case) -> tuple[Spec, Outcome]:
    def fails(s: Spec) -> Outcome | None:
        o = run(s, options)
        return o if o.cls == cls else None

    if cls == "ok":
        raise ValueError(f"nothing to minimise: the outcome is {cls!r}")
    best = fails(spec)
    if best is None:
        raise ValueError(f"the spec does not fail with {cls!r} (got another outcome)")
    changed = True
    while changed:
        changed = False
        cands = [replace(spec, blocks=spec.blocks[:i] + spec.blocks[i + 1:])
                 for i in range(len(spec.blocks))]
        cands += [replace(spec, batch=1)] if spec.batch != 1 else []
        cands += [replace(spec, shape=sh) for sh in _shrunk_shapes(spec)]
        cands += _simpler_blocks(spec)
        for c in cands:
            o = fails(c)
            if o is not None:
                spec, best, changed = c, o, True
                say(f"  -> {len(spec.blocks)} blocks, batch {spec.batch}, shape {spec.shape}")
                break
    return spec, best
