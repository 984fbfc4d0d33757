"""The directory beside an exported model: the compiled library and what runs it.

``model.npu.onnx`` names ``model.npu/`` in its region nodes' ``package`` attribute,
relative to the model file, so the pair moves together. The directory holds

    lib<model>.so   the compiled library (a copy of the build cache's)
    regions.pkl     the regions' RegionCode (DRAM slots and layouts, constants, counter
                    records): what NpuSession needs to call the library
    export.json     the export's id, target, backend, library and regions, for people and
                    for the checks made when a session opens it

regions.pkl is a pickle and the library is native code: a package is trusted as any
shared library one loads is.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vendor_sdk.codegen.code import RegionCode
from vendor_sdk.export.errors import ExportError

FORMAT = "vendor-sdk.export/1"
MANIFEST = "export.json"
REGIONS = "regions.pkl"


def package_dir(model: Path) -> Path:
    """``x.npu.onnx`` and ``x.onnx`` -> ``x.npu/`` beside it."""
    stem = model.name.removesuffix(".onnx").removesuffix(".npu")
    return model.parent / f"{stem}.npu"


@dataclass(frozen=True)
class Package:
    root: Path
    export_id: str
    target: str       # installed target's name, or an absolute target.yaml path
    backend: str      # chosen at export
    library: Path
    regions: Mapping[str, RegionCode]


def cached_library(pkg: Package) -> Path:
    """The package's library placed in the build cache, where its $ORIGIN-relative runpath
    finds the runtime library it links (codegen.build.runtime_rpath); keyed by the export,
    which covers the library's bytes."""
    from vendor_sdk.sim.build import cached_build

    def copy(tmp: Path) -> None:
        shutil.copyfile(pkg.library, tmp / pkg.library.name)

    return cached_build("models", f"export-{pkg.export_id}", copy, pkg.library.name)


def export_id(library: bytes, regions: bytes, target: str) -> str:
    """Names one export: a node whose id differs from its package's reads another build."""
    h = hashlib.sha256()
    for part in (library, regions, target.encode()):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:16]


def remove_package(root: Path) -> None:
    """Remove an export's package; a directory that is not one is left alone."""
    if (root / MANIFEST).is_file():
        shutil.rmtree(root)


def write_package(root: Path, library: Path, regions: Sequence[RegionCode], target: str,
                  backend: str, info: Mapping[str, object]) -> str:
    """Write the directory (replacing an earlier export there); return the export's id."""
    if root.exists() and not (root / MANIFEST).is_file() and \
            (not root.is_dir() or any(root.iterdir())):
        raise ExportError(str(root), "exists and is not an exported model's package "
                          f"(no {MANIFEST} in it)", "remove it or choose another -o")
    lib_bytes = library.read_bytes()
    reg_bytes = pickle.dumps(tuple(regions), protocol=pickle.HIGHEST_PROTOCOL)
    eid = export_id(lib_bytes, reg_bytes, target)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / library.name).write_bytes(lib_bytes)
    (root / REGIONS).write_bytes(reg_bytes)
    manifest = {"format": FORMAT, "export_id": eid, "target": target, "backend": backend,
                "library": library.name, **info}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return eid


def load_package(root: Path, expected_id: str) -> Package:
    """Read a package; every missing or mismatched piece is an ExportError naming it."""
    move = "the model and its package directory move together; export again if it is lost"
    if not root.is_dir():
        raise ExportError(str(root), "no such directory (the exported model's NPU library "
                          "and regions live there)", move)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise ExportError(str(root / MANIFEST), f"cannot be read ({e})", move) from None
    if manifest.get("format") != FORMAT:
        raise ExportError(str(root / MANIFEST), f"format {manifest.get('format')!r}, this "
                          f"vendor-sdk reads {FORMAT!r}", "export the model again")
    if manifest.get("export_id") != expected_id:
        raise ExportError(str(root), f"holds export {manifest.get('export_id')}, the model's "
                          f"nodes name export {expected_id}",
                          "the model and its package come from different exports; "
                          "export again")
    library = root / str(manifest["library"])
    if not library.is_file():
        raise ExportError(str(library), "the compiled NPU library is missing", move)
    try:
        regions = pickle.loads((root / REGIONS).read_bytes())  # trusted: module doc
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise ExportError(str(root / REGIONS), f"cannot be read ({type(e).__name__}: {e})",
                          move) from None
    return Package(root, expected_id, str(manifest["target"]), str(manifest["backend"]),
                   library, {r.name: r for r in regions})
