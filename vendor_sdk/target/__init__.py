"""Target descriptions: the target.yaml schema, its loader with located errors, and checks."""

from vendor_sdk.target.errors import Diagnostic, TargetError
from vendor_sdk.target.load import Target, dump_target, load_target, load_target_text
from vendor_sdk.target.model import SCHEMA_VERSION, TargetSpec

__all__ = ["SCHEMA_VERSION", "Diagnostic", "Target", "TargetError", "TargetSpec", "dump_target",
           "load_target", "load_target_text"]
