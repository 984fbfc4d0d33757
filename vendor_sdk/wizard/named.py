"""The files a target.yaml names: its C runtime, glue and kernel templates, and RTL.

One list serves two callers: `init --from NPU` copies exactly these files of a bundled
NPU into the vendor's package, and `package` checks that each lies inside the directory
the wheel installs (the target.yaml's) and then that the wheel holds it. Paths in
target.yaml are relative to its directory; globs are expanded the way the runtime and
RTL builds expand them.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vendor_sdk.target import Target
from vendor_sdk.target.source import Loc, dotted

# What an include directory contributes: headers (C, C++, SystemVerilog includes).
HEADER_SUFFIXES = frozenset({".h", ".hh", ".hpp", ".hxx", ".inc", ".svh", ".vh"})
_SKIP_PARTS = frozenset({"__pycache__"})


@dataclass(frozen=True, slots=True)
class Named:
    """One file (or directory) target.yaml names.

    Attributes:
        loc: the field that names it, e.g. ("runtime", "sources", 0).
        spec: the text of that field (a path or a glob).
        path: the file or directory, absolute, symlinks resolved.
        is_dir: a directory (an include directory, the templates directory) rather
            than a file; its files are listed as entries of their own.
    """

    loc: tuple[str | int, ...]
    spec: str
    path: Path
    is_dir: bool = False

    @property
    def field(self) -> str:
        return dotted(self.loc)


def _files_under(root: Path, suffixes: frozenset[str] | None) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not _SKIP_PARTS & set(p.relative_to(root).parts)
                  and (suffixes is None or p.suffix in suffixes))


def _glob(base: Path, loc: Loc, pattern: str) -> Iterator[Named]:
    if Path(pattern).is_absolute():  # pathlib globs relative patterns only
        found = sorted(p for p in map(Path, glob.glob(pattern)) if p.is_file())
    else:
        found = sorted(p for p in base.glob(pattern) if p.is_file()) if pattern else []
    if not found:
        # Nothing matched (validate reports that); the pattern itself still says where
        # it points, which is what `package` needs to know.
        yield Named(tuple(loc), pattern, (base / pattern).resolve())
    for p in found:
        yield Named(tuple(loc), pattern, p.resolve())


def _directory(base: Path, loc: Loc, name: str, suffixes: frozenset[str] | None
               ) -> Iterator[Named]:
    root = (base / name).resolve()
    yield Named(tuple(loc), name, root, is_dir=True)
    for p in _files_under(root, suffixes):
        yield Named(tuple(loc), name, p)


def named(target: Target) -> list[Named]:
    """Every file and directory target.yaml names, in document order, each file once."""
    spec, base = target.spec, target.path.resolve().parent
    out: list[Named] = []
    rt = spec.runtime
    if rt is not None:
        for i, d in enumerate(rt.include):
            out += _directory(base, ("runtime", "include", i), d, HEADER_SUFFIXES)
        header = next((d / rt.header for d in [base, *(base / d for d in rt.include)]
                       if (d / rt.header).is_file()), base / rt.header)
        out.append(Named(("runtime", "header"), rt.header, header.resolve()))
        for i, pattern in enumerate(rt.sources):
            out += _glob(base, ("runtime", "sources", i), pattern)
        if rt.library is not None:
            out.append(Named(("runtime", "library"), rt.library, (base / rt.library).resolve()))
    # The templates directory holds the glue (runtime.glue), the kernel templates patterns
    # name and optional hooks (perf_snap.c.j2): all of it ships.
    out += _directory(base, ("templates",), spec.templates, None)
    if spec.sim is not None:
        rtl = spec.sim.rtl
        for key in ("lint", "sources", "harness"):
            for i, pattern in enumerate(getattr(rtl, key)):
                out += _glob(base, ("sim", "rtl", key, i), pattern)
        for i, d in enumerate(rtl.include):
            out += _directory(base, ("sim", "rtl", "include", i), d, HEADER_SUFFIXES)
    seen: set[tuple[Path, bool]] = set()
    unique = []
    for n in out:
        if (n.path, n.is_dir) not in seen:
            seen.add((n.path, n.is_dir))
            unique.append(n)
    return unique


def outside(target: Target) -> list[Named]:
    """Named files or directories that do not lie under the target.yaml's directory."""
    base = target.path.resolve().parent
    return [n for n in named(target) if not n.path.is_relative_to(base)]


def check_inside(target: Target) -> None:
    """Raise TargetError at each field naming a file outside the target.yaml's directory:
    a wheel installs that directory, so such a file would be missing once installed."""
    from vendor_sdk.target import TargetError
    from vendor_sdk.target.source import read_source

    out = outside(target)
    if not out:
        return
    base = target.path.resolve().parent
    src = read_source(str(target.path), target.path.read_text(encoding="utf-8"))
    seen: set[tuple[str | int, ...]] = set()
    diags = []
    for n in out:
        if n.loc in seen:
            continue
        seen.add(n.loc)
        diags.append(src.diag(n.loc, f"{n.spec!r} ({n.path}) lies outside {base}, the "
                              "directory the wheel installs",
                              "move it into the package next to target.yaml and name it "
                              "relative to target.yaml"))
    raise TargetError(diags)


def missing_from_wheel(target: Target, project: Path, wheel: Path) -> list[str]:
    """Files target.yaml names that the wheel lacks (paths relative to project).

    The target.yaml's place in the wheel is found by content, so flat and src/ layouts
    both work."""
    import zipfile

    base = target.path.resolve().parent
    yaml_bytes = target.path.read_bytes()
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        homes = [n.rsplit("/", 1)[0] if "/" in n else "" for n in sorted(names)
                 if n.rsplit("/", 1)[-1] == "target.yaml" and zf.read(n) == yaml_bytes]
    if not homes:
        return [str(target.path.resolve().relative_to(project))]
    home = homes[0]
    missing = []
    for n in named(target):
        if n.is_dir or not n.path.is_file():
            continue
        rel = n.path.relative_to(base).as_posix()
        if (f"{home}/{rel}" if home else rel) not in names:
            missing.append(str(n.path.relative_to(project)))
    return missing
