"""The results directory: records as they arrive, and the tables written at the end.

    results.jsonl   one record per line, appended (and flushed) as each point finishes:
                    what a resumed sweep reads to skip the points it already has
    results.json    {"schema", "sweep", "points"}: the grid's records in grid order
    results.csv     one row per point: the scalar fields, parameters and SRAM flattened
    index.html      Pareto front and per-model bars (vendor_sdk.sweep.page)

Records are plain JSON (docs/sweep.md, "Schema"); the timing fields are the only ones
that may differ between two runs of one point.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vendor_sdk.sweep.grid import SCHEMA

Record = dict[str, Any]

JSONL, JSON, CSV, HTML = "results.jsonl", "results.json", "results.csv", "index.html"
# Fields that measure the machine, not the point: two runs of one point differ only here.
TIMING_FIELDS = ("compile_seconds", "run_seconds")
# A point recorded with one of these is done; a `failed` one (a lost worker, a full disk,
# an edited target since) runs again when the sweep resumes.
DONE = ("ok", "mismatch")

_SCALARS = ("key", "mode", "target", "config", "model", "backend", "check", "status", "reason",
            "cycles", "ideal", "utilization", "macs", "cycles_estimated", "offloaded",
            "compute_ops", "regions", "onchip_bytes", "cases", "compile_seconds",
            "run_seconds")


def read_records(out: Path) -> dict[str, Record]:
    """The last record of each key in ``out``/results.jsonl of this schema; a line cut
    short by a killed sweep, or another schema's, is ignored (its point runs again)."""
    path = out / JSONL
    if not path.exists():
        return {}
    records: dict[str, Record] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("schema") == SCHEMA and isinstance(
                rec.get("key"), str):
            records[rec["key"]] = rec
    return records


class Journal:
    """results.jsonl opened for appending; each record is one whole line on disk before
    the next point's result is taken (a kill loses at most the line being written)."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / JSONL
        torn = path.exists() and path.stat().st_size > 0 and \
            not path.read_bytes().endswith(b"\n")
        self._file = path.open("a", encoding="utf-8")
        if torn:  # a killed sweep's half line: end it, so the next record is a line of its own
            self._file.write("\n")

    def append(self, rec: Record) -> None:
        self._file.write(json.dumps(rec, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def without_timing(rec: Mapping[str, Any]) -> Record:
    """A record minus the fields that measure the machine (what two runs must agree on)."""
    return {k: v for k, v in rec.items() if k not in TIMING_FIELDS}


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def csv_rows(records: Sequence[Record]) -> tuple[list[str], list[list[Any]]]:
    params = list(dict.fromkeys(n for r in records for n in r.get("params", {})))
    mems = list(dict.fromkeys(n for r in records for n in (r.get("sram_bytes") or {})))
    header = [*_SCALARS[:4], *(f"param.{n}" for n in params), *_SCALARS[4:],
              *(f"sram.{m}" for m in mems), "agreement"]
    rows = []
    for r in records:
        sram = r.get("sram_bytes") or {}
        verdict = (r.get("agreement") or {}).get("verdict", "")
        rows.append([*(_cell(r.get(k)) for k in _SCALARS[:4]),
                     *(_cell(r.get("params", {}).get(n)) for n in params),
                     *(_cell(r.get(k)) for k in _SCALARS[4:]),
                     *(_cell(sram.get(m)) for m in mems), verdict])
    return header, rows


def write_tables(out: Path, sweep: Mapping[str, Any], records: Sequence[Record]) -> list[Path]:
    """results.json and results.csv of ``records`` (the grid's, in grid order)."""
    doc = {"schema": SCHEMA, "sweep": dict(sweep), "points": list(records)}
    (out / JSON).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    header, rows = csv_rows(records)
    with (out / CSV).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return [out / JSON, out / CSV]


def in_grid_order(keys: Iterable[str], records: Mapping[str, Record]) -> list[Record]:
    return [records[k] for k in keys if k in records]
