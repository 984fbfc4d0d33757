"""The target.yaml schema (version 1) as pydantic models.

The models check shape and types; cross-references, expressions and
templates are checked in `vendor_sdk.target.checks`. Documented with
examples in docs/target_yaml.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

SCHEMA_VERSION: Final = 1  # Final: typed Literal[1], as TargetSpec.schema_version

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Dtype = Literal["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"]
Corner = Literal["min", "max", "zero", "edges", "random"]


def _int_or_expr(v: Any) -> int | str:
    if (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, str):
        return v
    raise PydanticCustomError(
        "int_or_expr", "expected an integer or a param expression such as 'DIM * 2', got {kind}",
        {"kind": type(v).__name__})


# An integer, or an expression over `params` evaluated by the semantic checks.
IntOrExpr = Annotated[int | str, PlainValidator(_int_or_expr)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# What the code generator uses a memory for (docs/target_yaml.md, "Memories"); it looks
# memories up by role, never by name. Defaults for unroled memories: vendor_sdk.target.roles.
MemoryRole = Literal["input", "weight", "accumulator", "output", "param", "table"]


class Memory(_Model):
    """An on-chip scope: `rows` rows of `row_elems` elements of `dtype`."""

    dtype: Dtype
    rows: IntOrExpr
    row_elems: IntOrExpr
    role: MemoryRole | None = None
    id: StrictStr | None = None  # C expression naming it in runtime load/store calls
    widen_id: StrictStr | None = None  # C id that loads int8 rows sign-extended into it
    doc: StrictStr = ""


def _axis_shorthand(v: Any) -> Any:
    # `n: DIM` is a fixed extent; `m: {min: 1, max: 1023}` a range.
    return {"min": v, "max": v} if isinstance(v, int | str) and not isinstance(v, bool) else v


class AxisSpec(_Model):
    min: IntOrExpr
    max: IntOrExpr


Axis = Annotated[AxisSpec, BeforeValidator(_axis_shorthand)]


class OperandSpec(_Model):
    """A tensor (or scalar, with no shape) an intrinsic reads or writes."""

    dtype: Dtype
    shape: list[Identifier] = []  # axis names, one per dimension
    scope: Identifier | None = None  # a memory; required for role `data`
    role: Literal["data", "param"] = "data"  # param: per-instruction constants, immediates
    range: Annotated[list[StrictInt], Field(min_length=2, max_length=2)] | None = None
    doc: StrictStr = ""


class Numerics(_Model):
    overflow: Literal["wrap", "saturate"] = "wrap"  # applied when the result is assigned


class TestSpec(_Model):
    random: Annotated[StrictInt, Field(ge=0, le=1000)] = 8
    corners: list[Corner] = ["min", "max", "zero", "edges"]
    seed: StrictInt = 0


class IntrinsicSpec(_Model):
    doc: StrictStr = ""
    axes: dict[Identifier, Axis]
    inputs: dict[Identifier, OperandSpec] = {}
    outputs: dict[Identifier, OperandSpec] = {}
    inout: dict[Identifier, OperandSpec] = {}
    compute: StrictStr
    variants: dict[Identifier, StrictStr] = {}
    numerics: Numerics = Numerics()
    emit: StrictStr
    test: TestSpec = TestSpec()


AttrValue = StrictInt | StrictStr | list[StrictInt]


class PatternNode(_Model):
    op: StrictStr  # "Conv", "Relu | Clip(min=0)"
    inputs: list[Identifier] = Field(default=[], alias="in")  # node or tensor names
    attrs: dict[Identifier, AttrValue] = {}  # value, or constraint such as "k <= 7"
    optional: StrictBool = False


class PatternTensor(_Model):
    dtype: Dtype | None = None
    rank: Annotated[StrictInt, Field(ge=0, le=8)] | None = None
    # Extents per dimension; null matches any extent ([1, null, null, 8]).
    shape: Annotated[list[Annotated[StrictInt, Field(ge=1)] | None], Field(max_length=8)] | None \
        = None
    const: StrictBool = False
    optional: StrictBool = False  # the op may omit this input (Gemm's bias C)


class Lower(_Model):
    tensorize: list[Identifier] | None = None  # intrinsics, compiler-style
    template: StrictStr | None = None  # a file under `templates`, library-style

    @model_validator(mode="after")
    def _exactly_one(self) -> Lower:
        if (self.tensorize is None) == (self.template is None):
            raise PydanticCustomError(
                "lower_mode", "give exactly one of `tensorize` (intrinsic names) or "
                "`template` (a kernel template file)")
        return self


class PatternSpec(_Model):
    doc: StrictStr = ""
    priority: StrictInt  # higher wins; never implied by order
    root: Identifier
    nodes: dict[Identifier, PatternNode]
    tensors: dict[Identifier, PatternTensor] = {}
    lower: Lower


class RtlSpec(_Model):
    """The vendor's RTL: Verilated with its C++ harness into the shared library the runtime
    library's "rtl" backend loads (option ``rtl_lib=``)."""

    top: Identifier
    sources: list[StrictStr]  # globs relative to the target.yaml directory, packages first
    params: dict[Identifier, IntOrExpr] = {}
    harness: list[StrictStr] = []  # C++ globs compiled into the library with the model
    include: list[StrictStr] = []  # -I directories for the harness
    library: StrictStr = "librtl.so"  # the file name the build produces
    lint: list[StrictStr] = []  # Verilator waiver files (.vlt) passed to the build


class SimSpec(_Model):
    rtl: RtlSpec


class RuntimeSpec(_Model):
    """The C the generated code links against (vendor_sdk/contract/): the target's library
    implements vsdk_device.h, its glue template implements vsdk_glue.h."""

    header: StrictStr  # the driver header generated C includes (what emit snippets call)
    include: list[StrictStr] = []  # -I directories, relative to the target.yaml directory
    sources: list[StrictStr] = []  # C sources (globs) of the runtime library
    library: StrictStr | None = None  # or a prebuilt shared library implementing it
    cflags: list[StrictStr] = []
    ldflags: list[StrictStr] = []
    glue: StrictStr = "runtime.c.j2"  # template under `templates`: implements vsdk_glue.h
    sync: Literal["tokens", "barrier", "in_order"] = "barrier"  # what the glue implements

    @model_validator(mode="after")
    def _sources_or_library(self) -> RuntimeSpec:
        if bool(self.sources) == (self.library is not None):
            raise PydanticCustomError(
                "runtime_library", "give exactly one of `sources` (C files vendor-sdk builds "
                "into the runtime library) or `library` (a prebuilt shared library)")
        return self


class MovementSpec(_Model):
    """DRAM <-> memory data movement the glue implements, one row at a time
    (vsdk_glue.h): which memories each direction reaches."""

    load: list[Identifier] = []  # DRAM row -> memory row
    store: list[Identifier] = []  # memory row -> DRAM row
    pad: list[Identifier] = []  # memory row filled with a value (convolution padding)


CounterRole = Literal["cycles", "busy", "instructions", "dram_read_bytes", "dram_write_bytes",
                      "macs", "rows", "other"]


class CounterSpec(_Model):
    role: CounterRole = "other"
    unit: StrictStr = ""  # for role busy: the unit (load, exec, store, ...)
    doc: StrictStr = ""


class TargetSpec(_Model):
    schema_version: Literal[1]
    target: Identifier
    description: StrictStr = ""
    params: dict[Identifier, StrictInt] = {}
    memories: dict[Identifier, Memory]
    intrinsics: dict[Identifier, IntrinsicSpec] = {}
    patterns: dict[Identifier, PatternSpec] = {}
    templates: StrictStr = "templates"  # directory relative to the target.yaml
    sim: SimSpec | None = None
    runtime: RuntimeSpec | None = None  # required to build and run; not to compile to C
    movement: MovementSpec | None = None
    # The device's counter record, in order (vsdk_run_result.counters, perf snapshots).
    counters: dict[Identifier, CounterSpec] = {}
    peak_macs_per_cycle: IntOrExpr | None = None  # for utilization; e.g. "DIM * DIM"
