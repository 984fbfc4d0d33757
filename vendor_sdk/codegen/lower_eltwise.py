"""Element-wise and pooling layers (Add, Mul, MaxPool, a lone activation): the analysis
and C of vendor_sdk.codegen.elementwise, with their descriptor and multiplier tables."""

from __future__ import annotations

from vendor_sdk.codegen.code import LayerCode
from vendor_sdk.codegen.consts import descriptor_shape, elt_qp_table, mult_rows
from vendor_sdk.codegen.elementwise import analyze_elementwise, elementwise_code
from vendor_sdk.codegen.intrinsic_roles import find_requant
from vendor_sdk.codegen.layer_job import LayerJob
from vendor_sdk.codegen.layers import nhwc_shape


def lower_elementwise(job: LayerJob) -> tuple[LayerCode, str]:
    """Its LayerCode and the C call of it."""
    target, consts, channels = job.target, job.consts, job.tiling.channels
    elt = analyze_elementwise(job.comp, channels, job.lowering)
    form = find_requant(target, job.intrinsics, per_channel=False)
    lanes, width = descriptor_shape(target, job.comp.name)
    cb = int(nhwc_shape(elt.out_shape, channels)[-1]) // lanes
    q_off = consts.add(elt_qp_table(elt, form, lanes, width, cb))
    dram = {"A": "X0", "B": "X1", "X": "X0", "Y": "Y"}
    if elt.op != "MaxPool":
        dram["Mr"] = f"(c + {consts.add(mult_rows(elt, lanes))}u)"
    if elt.b_const is not None:
        dram["Bc"] = f"(c + {consts.add(elt.b_const.reshape(-1, lanes))}u)"
    text, explain = elementwise_code(elt, target, dram, job.names, form, f"(c + {q_off}u)",
                                     job.fn, channels)
    # X0 / X1 are the analysis's operands (its zero points and multipliers), by name:
    # the composite's parameters are in graph order, a commutative Add's need not be.
    x0 = job.at(elt.inputs[0])
    x1 = job.at(elt.inputs[1]) if len(elt.inputs) > 1 else "0"
    return (LayerCode(elt, job.fn, text, explain),
            f"{job.fn}(rt{job.size_args}, {x0}, {x1}, {job.at(job.yi.name)}, addr[0]);")
