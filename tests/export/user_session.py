"""A user's own onnxruntime code plus the one registration line (docs/export.md), run in
its own process from another working directory, as a deployment would run it.

    python user_session.py MODEL FEEDS.npz OUT.npz [--no-model]

--no-model registers the kernels without naming the model (npu.session_options()), so
the package is looked up relative to the working directory.
"""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime

import vendor_sdk.export.ort as npu

model, feeds, out = sys.argv[1:4]
options = npu.session_options() if "--no-model" in sys.argv else npu.session_options(model)
sess = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
outputs = sess.run(None, dict(np.load(feeds)))
np.savez(out, **{o.name: y for o, y in zip(sess.get_outputs(), outputs, strict=True)})
print("ran", model)
