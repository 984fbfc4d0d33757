"""`vendor-sdk sweep`: NPU configurations x models, compiled, run and checked per point.

    grid.py       --param axes x models -> points (keys that resume reads)
    configure.py  a target with some params: values replaced (a cached copy per value set)
    point.py      one point -> one record (cycles, layers, SRAM, agreement, times)
    execute.py    the points one after another in a child process, or one Ray task each
    child.py      that child: a crash of the C under test ends it, not the sweep
    results.py    results.jsonl as points finish; results.json / .csv at the end
    pareto.py     fronts of cycles vs on-chip bytes
    page.py       index.html (inline SVG)
    run.py        plan_sweep + run_sweep: the whole flow (docs/sweep.md)
"""
