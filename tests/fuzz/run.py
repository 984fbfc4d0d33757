"""`make fuzz N=500`: run seeds, print one line per seed and a summary table.

    .venv/bin/python tests/fuzz/run.py -n 500 [--start 0] [--minimise]

Exit status 1 when any seed fails (a miscompile, a crash, a compile error), so a CI job
can run it; ``--minimise`` also shrinks the first seed of each failure class and prints
its minimal spec (what tests/fuzz/test_regressions.py states literally).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Outcome, explain, options_for, run_seed
from minimise import minimise
from modelgen import random_spec


def summary(outs: list[Outcome]) -> str:
    compiled = [o for o in outs if o.compiled]
    offl = [o for o in compiled if o.offloaded]
    off, tot = sum(o.offloaded for o in compiled), sum(o.total for o in compiled)
    lines = [
        f"seeds                 {len(outs)}",
        f"compiled              {len(compiled)}",
        f"models offloading     {len(offl)} ({100 * len(offl) / max(1, len(outs)):.0f}%)",
        f"offloaded ops         {off}/{tot} ({100 * off / max(1, tot):.1f}%)",
        f"agree with onnxruntime {sum(o.cls == 'ok' for o in outs)}",
    ]
    by: dict[str, list[Outcome]] = defaultdict(list)
    for o in outs:
        if o.failed:
            by[o.cls].append(o)
    lines.append(f"failures              {sum(len(v) for v in by.values())}")
    for cls, os_ in sorted(by.items(), key=lambda kv: -len(kv[1])):
        opts = sorted({o.options for o in os_})
        lines.append(f"  {len(os_):4d}  {cls}")
        lines.append(f"        options {', '.join(opts)}; seeds "
                     + " ".join(str(o.seed) for o in os_))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50, help="number of seeds")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--json", type=Path, help="also write one record per seed here")
    ap.add_argument("--no-explain", action="store_true",
                    help="do not locate where each mismatch starts (a compile per activation)")
    ap.add_argument("--minimise", action="store_true",
                    help="shrink the first seed of each failure class")
    a = ap.parse_args(argv)
    outs = []
    for seed in range(a.start, a.start + a.n):
        o = run_seed(seed)
        if o.cls.startswith(("mismatch", "output check")) and not a.no_explain:
            o = replace(o, cls=f"{o.cls} <- {explain(random_spec(seed), o.options)}")
        outs.append(o)
        print(f"seed {seed:5d} {o.options:14s} offloaded {o.offloaded:3d}/{o.total:<3d} "
              f"{o.seconds:5.1f}s {o.cls}" + (f"  ({o.detail[:160]})" if o.failed else ""),
              flush=True)
    if a.json:
        a.json.write_text(json.dumps([asdict(o) for o in outs], indent=1) + "\n")
    print()
    print(summary(outs))
    if a.minimise:
        first: dict[str, Outcome] = {}
        for o in outs:
            if o.failed and o.cls not in first:
                first[o.cls] = o
        for cls, o in first.items():
            assert o.seed is not None
            print(f"\nminimising seed {o.seed} ({cls})", flush=True)
            spec, _ = minimise(random_spec(o.seed), options_for(o.seed), cls, print)
            print(f"  options {options_for(o.seed)!r}\n  {spec!r}")
    return 1 if any(o.failed for o in outs) else 0


if __name__ == "__main__":
    sys.exit(main())
