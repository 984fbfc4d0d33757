"""An exported model in onnxruntime against `vendor-sdk run` on the same inputs.

Both runs record every region call. What must be identical: a region node's outputs
whenever its inputs are (the node calls the region exactly as the run does), and so the
model's outputs whenever the host parts agree. The host parts are different programs
(onnxruntime's kernels, the SDK's llvmlite code); where they differ the comparison says
which region first read different inputs instead of blaming the NPU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vendor_sdk.export.model import Exported
from vendor_sdk.runtime.npu import NpuSession

Call = tuple[str, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]  # region, inputs, outputs


class _RecordingSession(NpuSession):
    """The run's NpuSession, keeping each region call's inputs and outputs."""

    calls: list[Call]

    def run_region(self, name: str, *inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        out = super().run_region(name, *inputs)
        outs = out if isinstance(out, tuple) else (out,)
        self.calls.append((name, tuple(x.copy() for x in inputs), tuple(y.copy() for y in outs)))
        return out


@dataclass(frozen=True)
class Verification:
    backend: str
    outputs: tuple[tuple[str, int], ...]  # (name, elements that differ)
    calls: int                            # region calls in each run
    same_inputs: int                      # calls whose inputs were identical in both runs
    same_outputs: int                     # of those, calls whose outputs were identical
    first_host_difference: str = ""       # the first region that read different inputs
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return all(n == 0 for _, n in self.outputs)

    @property
    def regions_ok(self) -> bool:
        return self.same_outputs == self.same_inputs


def _equal(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y)
                                    for x, y in zip(a, b, strict=True))


def verify(exported: Exported, source: Path, feeds: Mapping[str, np.ndarray],
           backend: str | None = None,
           progress: Callable[[str], None] | None = None) -> Verification:
    """Run ``exported.model`` in onnxruntime and ``source`` as `vendor-sdk run` does, on
    ``backend`` (None: the export's) and compare outputs and region calls. ``progress``
    hears each run's stage and, in the second, the region being run (as `run` shows)."""
    import onnxruntime as ort

    from vendor_sdk.export import ort as npu
    from vendor_sdk.runtime.compare import run_compiled

    c = exported.compiled
    chosen = backend or _export_backend(exported)
    say = progress or (lambda _s: None)
    ours_say = None if progress is None else \
        (lambda s: progress(f"vendor-sdk run on {chosen}: {s}"))
    say(f"the export in onnxruntime on {chosen}")
    ort_calls: list[Call] = []
    with npu.recording(ort_calls):
        sess = ort.InferenceSession(str(exported.model),
                                    npu.session_options(exported.model, backend=chosen)
                                    if exported.regions else npu.session_options(),
                                    providers=["CPUExecutionProvider"])
        ours = sess.run(None, dict(feeds))
    rec = _RecordingSession(c.library, {r.name: r for r in c.cmodel.regions}, c.target, chosen,
                            progress=ours_say)
    rec.calls = []
    try:
        run = run_compiled(c, source, feeds, chosen, session=rec, check="none",
                           progress=ours_say)
    finally:
        rec.close()
    names = [o.name for o in sess.get_outputs()]
    outs = tuple((n, int(np.sum(a != b)) if a.shape == b.shape and a.dtype == b.dtype
                  else max(a.size, b.size)) for n, a, b in zip(names, ours, run.outputs,
                                                                strict=True))
    same_in = same_out = 0
    first = ""
    for (r1, i1, o1), (r2, i2, o2) in zip(ort_calls, rec.calls, strict=False):
        if r1 != r2 or not _equal(i1, i2):
            first = first or r1
            continue
        same_in += 1
        same_out += _equal(o1, o2)
    notes = [] if len(ort_calls) == len(rec.calls) else \
        [f"onnxruntime made {len(ort_calls)} region calls, the run {len(rec.calls)}"]
    return Verification(chosen, outs, len(rec.calls), same_in, same_out, first, notes)


def _export_backend(exported: Exported) -> str:
    import json

    from vendor_sdk.export.package import MANIFEST

    if exported.package is None:
        return "fsim"
    return str(json.loads((exported.package / MANIFEST).read_text())["backend"])
