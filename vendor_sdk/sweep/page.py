"""index.html of a sweep: self-contained (inline SVG and CSS, no script, no CDN).

    Pareto front   cycles vs on-chip bytes per configuration: the models' total, then each
                   model; front points filled and joined by a step line
    per-model bars cycles of each configuration, failed and mismatching points named
    all points     the table of results.csv's main columns

Geometry is computed here; the Jinja template only formats it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from vendor_sdk.report.svg import si
from vendor_sdk.sweep.pareto import Candidate, candidates

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 560, 320, 80, 44, 16, 16


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    on_front: bool
    label: str


@dataclass(frozen=True, slots=True)
class Scatter:
    title: str
    dots: tuple[Dot, ...]
    front_path: str             # SVG path of the front's staircase
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    width: float
    text: str
    status: str


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def scatter(title: str, cands: Sequence[Candidate]) -> Scatter:
    xs = [c.onchip_bytes for c in cands] or [0]
    ys = [c.cycles for c in cands] or [0]
    # axes from 0: the distances between configurations read as ratios
    x_hi, y_hi = max(xs) * 1.05 or 1, max(ys) * 1.05 or 1

    def px(x: float) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * x / x_hi

    def py(y: float) -> float:
        return H - PAD_B - (H - PAD_B - PAD_T) * y / y_hi

    dots = tuple(Dot(round(px(c.onchip_bytes), 1), round(py(c.cycles), 1), c.on_front,
                     f"{c.config}: {c.cycles:,} cycles, {c.onchip_bytes:,} B on chip")
                 for c in cands)
    front = sorted((d for d in dots if d.on_front), key=lambda d: d.x)
    path = ""
    for i, d in enumerate(front):
        path += f"M{d.x},{d.y}" if i == 0 else f" H{d.x} V{d.y}"
    return Scatter(title, dots, path,
                   tuple((round(px(v), 1), si(v)) for v in _ticks(0, x_hi)),
                   tuple((round(py(v), 1), si(v)) for v in _ticks(0, y_hi)))


def bars(records: Sequence[Mapping[str, Any]], model: str) -> list[Bar]:
    rows = [r for r in records if r.get("model") == model]
    top = max((r.get("cycles") or 0 for r in rows if r["status"] == "ok"), default=0) or 1
    out = []
    for r in rows:
        if r["status"] == "ok" and r.get("cycles") is not None:
            util = f", {100 * r['utilization']:.1f}% util" if r.get("utilization") else ""
            out.append(Bar(r["config"], round(360 * r["cycles"] / top, 1),
                           f"{r['cycles']:,} cycles{util}", "ok"))
        else:
            out.append(Bar(r["config"], 0.0, f"{r['status']}: {r.get('reason', '')}"[:200],
                           r["status"]))
    return out


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sweep: {{ sweep.target }}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td.l,th.l{text-align:left}.ok{color:#161}.failed{color:#a60}.mismatch{color:#b00;font-weight:bold}
svg{background:#fafafa;border:1px solid #ddd;margin:4px}.charts{display:flex;flex-wrap:wrap}
</style></head><body>
<h1>vendor-sdk sweep: {{ sweep.target }}</h1>
<p>mode {{ sweep.mode }}, backend {{ sweep.backend }}, grid {{ sweep.grid }};
{{ counts }}</p>
{% if scatters %}<h2>Pareto front: cycles vs on-chip memory</h2>
<p>Each dot is a configuration; filled dots are not beaten on both axes by another.
The first chart sums the models' cycles (configurations where every model ran ok).</p>
<div class="charts">{% for s in scatters %}
<svg width="{{ W }}" height="{{ H }}" role="img"><title>{{ s.title }}</title>
<text x="{{ W // 2 }}" y="14" text-anchor="middle" font-weight="bold">{{ s.title }}</text>
{% for x, t in s.x_ticks %}<line x1="{{ x }}" x2="{{ x }}" y1="{{ PAD_T }}" y2="{{ H - PAD_B }}"
 stroke="#e4e4e4"/><text x="{{ x }}" y="{{ H - PAD_B + 14 }}" font-size="11"
 text-anchor="middle">{{ t }}</text>{% endfor %}
{% for y, t in s.y_ticks %}<line x1="{{ PAD_L }}" x2="{{ W - PAD_R }}" y1="{{ y }}" y2="{{ y }}"
 stroke="#e4e4e4"/><text x="{{ PAD_L - 4 }}" y="{{ y + 4 }}" font-size="11"
 text-anchor="end">{{ t }}</text>{% endfor %}
<text x="{{ W // 2 }}" y="{{ H - 6 }}" text-anchor="middle">on-chip bytes</text>
<text x="14" y="{{ H // 2 }}" transform="rotate(-90 14 {{ H // 2 }})"
 text-anchor="middle">cycles</text>
{% if s.front_path %}<path d="{{ s.front_path }}" fill="none" stroke="#2a6"
 stroke-width="1.5"/>{% endif %}
{% for d in s.dots %}<circle cx="{{ d.x }}" cy="{{ d.y }}" r="5"
 fill="{{ '#2a6' if d.on_front else 'white' }}" stroke="#2a6"><title>{{ d.label }}</title>
</circle>{% endfor %}</svg>{% endfor %}</div>{% endif %}
{% for model, bs in model_bars %}<h2>{{ model }}: cycles per configuration</h2>
<svg width="760" height="{{ 22 * bs|length + 8 }}">{% for b in bs %}
<text x="4" y="{{ 22 * loop.index0 + 19 }}" font-size="12">{{ b.label }}</text>
{% if b.width %}<rect x="220" y="{{ 22 * loop.index0 + 6 }}" width="{{ b.width }}" height="16"
 fill="#6a9"/>{% endif %}
<text x="{{ 226 + b.width }}" y="{{ 22 * loop.index0 + 19 }}" font-size="12"
 class="{{ b.status }}">{{ b.text }}</text>{% endfor %}</svg>{% endfor %}
<h2>All points</h2>
<table><tr>{% for h in header %}<th class="l">{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in row %}<td class="{{ row[3] if loop.index0 == 3
 else 'l' if loop.index0 < 3 or loop.last else '' }}">{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
</body></html>
""")


def render(sweep: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> str:
    models = list(dict.fromkeys(r["model"] for r in records if r.get("model") is not None))
    scatters = []
    if models:
        scatters.append(scatter("all models (sum of cycles)", candidates(records, None)))
        scatters += [scatter(m, candidates(records, m)) for m in models]
    statuses = [r["status"] for r in records]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("ok", "mismatch", "failed"))
    header = ["config", "model", "backend", "status", "cycles", "utilization",
              "on-chip bytes", "reason"]
    rows = [[r["config"], r.get("model") or "(intrinsics)", r["backend"], r["status"],
             f"{r['cycles']:,}" if r.get("cycles") is not None else "",
             f"{100 * r['utilization']:.1f}%" if r.get("utilization") is not None else "",
             f"{r['onchip_bytes']:,}" if r.get("onchip_bytes") is not None else "",
             r.get("reason", "")] for r in records]
    return _TEMPLATE.render(sweep=sweep, scatters=scatters, counts=counts, W=W, H=H,
                            PAD_L=PAD_L, PAD_B=PAD_B, PAD_T=PAD_T, PAD_R=PAD_R,
                            model_bars=[(m, bars(records, m)) for m in models],
                            header=header, rows=rows)
