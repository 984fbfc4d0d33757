"""The HTML page: summary, legend, the graph, the sortable per-layer table.

Self-contained (inline CSS, SVG and a small script; no CDN), so it opens from file://
and can be mailed. The script does two things: sort the table when a header is clicked
and recolour the graph's nodes by the chosen overlay (target, cycles, utilization).
A page opened as ``report.html#sort=cycles:desc`` starts sorted that way (bookmarkable,
and how the browser test checks the sort).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from vendor_sdk.report.graph import Graph
from vendor_sdk.report.layers import SCHEMA, LayerRow, Summary
from vendor_sdk.report.svg import HOST_FILL, colours, to_svg

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:150px}
.card b{display:block;font-size:22px}
.card span{font-size:12px;color:#555}
.legend>span{padding:2px 8px;margin-right:6px;border:1px solid #999;border-radius:3px}
.main{display:flex;gap:16px;align-items:flex-start}
.graph{overflow:auto;border:1px solid #ccc;max-height:92vh;flex:0 0 auto;max-width:60%}
.layers{overflow:auto;max-height:92vh;flex:1 1 0;min-width:0}
table{border-collapse:collapse;font-size:12px}
th,td{border-bottom:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
th{position:sticky;top:0;background:#f4f4f4;cursor:pointer;user-select:none}
td.l,th.l{text-align:left}
td.why{white-space:normal;min-width:170px;max-width:320px}
.ramp{font-size:11px;color:#555;margin-left:4px}
.ramp i{display:inline-block;width:48px;height:9px;border:1px solid #999;vertical-align:middle}
.sw{display:inline-block;width:9px;height:9px;margin-right:4px;border:1px solid #777}
.note{font-size:12px;color:#555;margin:4px 0}
tr.host td{color:#666}
th[data-dir=asc]::after{content:" \\25B2"} th[data-dir=desc]::after{content:" \\25BC"}
.node:hover rect{stroke:#000;stroke-width:2}
tr.hl td{background:#fff3b0}
"""

JS = """
(function(){
const table=document.getElementById('layers');
const body=table.tBodies[0];
function key(tr,col){const v=tr.children[col].dataset.v;
  return v===undefined?tr.children[col].textContent:(v===''?null:parseFloat(v));}
function sortBy(name,dir){
  const ths=[...table.tHead.rows[0].cells];
  const col=ths.findIndex(th=>th.dataset.col===name); if(col<0)return;
  const rows=[...body.rows];
  rows.sort((a,b)=>{const x=key(a,col),y=key(b,col);
    if(x===y)return 0; if(x===null)return 1; if(y===null)return -1;
    const c=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));
    return dir==='desc'?-c:c;});
  rows.forEach(r=>body.appendChild(r));
  ths.forEach(th=>th.removeAttribute('data-dir')); ths[col].dataset.dir=dir;
  table.dataset.sorted=name+':'+dir;
}
window.vsdkSort=sortBy;
table.tHead.addEventListener('click',e=>{const th=e.target.closest('th'); if(!th)return;
  sortBy(th.dataset.col, th.dataset.dir==='desc'?'asc':'desc');});
// pale to orange, not to red: the labels (#333) and the red cycle bar stay readable on it
function heat(t){const r=Math.round(255-2*t),g=Math.round(245-104*t),b=Math.round(235-175*t);
  return 'rgb('+r+','+g+','+b+')';}
// low to high: orange, yellow, light green (light, so the labels stay readable)
const UTIL=[[244,109,67],[254,224,139],[166,217,106]];
function util(u){u=Math.max(0,Math.min(1,u));const k=u<0.5?0:1,t=u<0.5?2*u:2*u-1;
  const c=UTIL[k].map((a,i)=>Math.round(a+(UTIL[k+1][i]-a)*t));
  return 'rgb('+c.join(',')+')';}
function overlay(mode){
  const nodes=[...document.querySelectorAll('#graph .node')];
  const max=Math.max(1,...nodes.map(n=>parseFloat(n.dataset.cycles||0)));
  nodes.forEach(n=>{const r=n.querySelector('rect');
    if(!r.dataset.fill)r.dataset.fill=r.getAttribute('fill');
    let f=r.dataset.fill;
    if(mode==='cycles'&&n.dataset.cycles)f=heat(parseFloat(n.dataset.cycles)/max);
    if(mode==='util'&&n.dataset.kind==='npu')f=n.dataset.util?util(parseFloat(n.dataset.util))
      :'#f7f7f7';  // a layer without MACs (a pool, an add) has no utilization
    r.setAttribute('fill',f);});
  document.body.dataset.overlay=mode;
}
window.vsdkOverlay=overlay;
document.querySelectorAll('input[name=overlay]').forEach(i=>
  i.addEventListener('change',()=>overlay(i.value)));
document.querySelectorAll('#graph .node').forEach(n=>n.addEventListener('click',()=>{
  document.querySelectorAll('tr.hl').forEach(t=>t.classList.remove('hl'));
  const tr=document.querySelector('tr[data-node="'+n.dataset.node+'"]');
  if(tr){tr.classList.add('hl');tr.scrollIntoView({block:'center'});}}));
const m=/sort=([A-Za-z_]+):(asc|desc)/.exec(location.hash);
if(m)sortBy(m[1],m[2]);
const o=/overlay=(target|cycles|util)/.exec(location.hash);
if(o){overlay(o[1]);const i=document.querySelector('input[value='+o[1]+']');if(i)i.checked=true;}
document.body.dataset.ready='1';
})();
"""


# the overlays' scales (the script's heat() and util()), beside their switches
RAMP_CYCLES = ('<span class="ramp">few <i style="background:linear-gradient(90deg,'
               'rgb(255,245,235),rgb(253,141,60))"></i> most</span>')
RAMP_UTIL = ('<span class="ramp">0% <i style="background:linear-gradient(90deg,'
             'rgb(244,109,67),rgb(254,224,139),rgb(166,217,106))"></i> 100%</span>')


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def _cards(s: Summary) -> str:
    cards = [(_pct(s.mac_share), f"of MACs on the NPU ({s.macs_npu:,} of {s.macs_total:,})"),
             (f"{s.ops_offloaded}/{s.ops_total}", "compute ops offloaded")]
    if s.cycles is not None:
        how = "estimate" if s.estimated else "measured" if s.backend == "rtl" else "exact"
        cards += [(f"{s.cycles:,}", f"NPU cycles on {s.backend} ({how})"),
                  (_pct(s.utilization), "utilization (ideal / cycles)"
                   + (f", peak {s.peak} MACs/cycle" if s.peak else ""))]
    else:
        cards.append(("-", "cycles: compile only (run with --report for cycles)"))
    return '<div class="cards" id="summary">' + "".join(
        f'<div class="card"><b>{html.escape(a)}</b><span>{html.escape(b)}</span></div>'
        for a, b in cards) + "</div>"


COLUMNS = (("index", "#"), ("op", "op"), ("onnx_nodes", "ONNX node(s)"), ("where", "where"),
           ("macs", "MACs"), ("cycles", "cycles"), ("share", "share"), ("ideal", "ideal"),
           ("utilization", "util"), ("bound_by", "bound by"), ("dram_read_bytes", "DRAM rd"),
           ("dram_write_bytes", "DRAM wr"), ("host_reason", "host reason"))
TEXT = frozenset({"op", "onnx_nodes", "where", "bound_by", "host_reason"})
OVERLAP_NOTE = ("bound by: the busiest unit, its busy cycles as a share of the layer's. "
                "100%* = more than the layer's cycles: layers overlap, and an estimating "
                "backend charges an instruction's whole cost when it starts, so work that "
                "overlaps the next layer counts here (capped at 100%; hover for the cycles).")


def bound_text(r: LayerRow) -> tuple[str, str]:
    """The bound-by cell and its tooltip; a share over 100% shows as ``100%*`` (the
    unit's work overlaps the next layer, ``LayerRow.overlap``)."""
    busy = r.bound_busy
    if busy is None or not r.cycles:
        return r.bound_by, ""
    if r.overlap:
        return (f"{r.bound_by} 100%*",
                f"{r.bound_by} busy {busy:,} cycles, {r.overlap:,} more than the layer's "
                f"{r.cycles:,}: that work overlaps the next layer (the backend charges an "
                "instruction when it starts)")
    return (f"{r.bound_by} {100 * busy / r.cycles:.0f}%",
            f"{r.bound_by} busy {busy:,} of the layer's {r.cycles:,} cycles")


def _text_cell(r: LayerRow, c: str, colour: Mapping[str, str]) -> str:
    title, swatch = "", ""
    if c == "onnx_nodes":
        v = ", ".join(r.onnx_nodes)
    elif c == "where":  # the region, short: its target is the swatch's (the legend's) colour
        v = r.region.removeprefix(f"{r.target}_") if r.region else r.where
        title = f"{r.region} on {r.target}" if r.region else ""
        swatch = f'<span class="sw" style="background:{colour.get(r.target, HOST_FILL)}">' \
            "</span>"
    elif c == "bound_by":
        v, title = bound_text(r)
    else:
        v = str(getattr(r, c))
    cls = "l why" if c == "host_reason" else "l"
    tip = f' title="{html.escape(title)}"' if title else ""
    return f'<td class="{cls}"{tip}>{swatch}{html.escape(v)}</td>'


def _table(rows: Sequence[LayerRow], colour: Mapping[str, str]) -> str:
    total = sum(r.cycles or 0 for r in rows)
    head = "".join(f'<th data-col="{c}"{" class=l" if c in TEXT else ""}'
                   + (f' title="{html.escape(OVERLAP_NOTE)}"' if c == "bound_by" else "")
                   + f">{html.escape(t)}</th>" for c, t in COLUMNS)
    out = [f'<table id="layers"><thead><tr>{head}</tr></thead><tbody>']
    for r in rows:
        share = r.cycles / total if r.cycles is not None and total else None
        cells = {
            "index": (r.index, str(r.index)), "macs": (r.macs, f"{r.macs:,}"),
            "cycles": (r.cycles, _num(r.cycles)), "share": (share, _pct(share)),
            "ideal": (r.ideal, _num(r.ideal)), "utilization": (r.utilization,
                                                                _pct(r.utilization)),
            "dram_read_bytes": (r.dram_read_bytes, _num(r.dram_read_bytes)),
            "dram_write_bytes": (r.dram_write_bytes, _num(r.dram_write_bytes))}
        tds = []
        for c, _ in COLUMNS:
            if c in TEXT:
                tds.append(_text_cell(r, c, colour))
            else:
                num, text = cells[c]
                tds.append(f'<td data-v="{"" if num is None else num}">{text}</td>')
        out.append(f'<tr class="{r.where}" data-node="{html.escape(r.node)}">'
                   + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    if any(r.overlap for r in rows):
        out.append(f'<p class="note" id="overlap-note">{html.escape(OVERLAP_NOTE)}</p>')
    return "".join(out)


def to_html(s: Summary, graph: Graph, rows: Sequence[LayerRow], title: str = "",
            text: str = "") -> str:
    """The page; ``text`` (a partition report) goes below, folded."""
    colour = colours(sorted({n.target for n in graph.nodes if n.target}))
    legend = "".join(f'<span style="background:{c}">{html.escape(t)}</span>'
                     for t, c in colour.items())
    legend += f'<span style="background:{HOST_FILL}">host</span>'
    overlays = "" if s.cycles is None else (
        ' &nbsp; colour nodes by: ' + "".join(
            f'<label><input type="radio" name="overlay" value="{v}"'
            f'{" checked" if v == "target" else ""}> {t}{ramp}</label> '
            for v, t, ramp in (("target", "target", ""), ("cycles", "cycles", RAMP_CYCLES),
                               ("util", "utilization", RAMP_UTIL))))
    title = title or f"{s.model}: " + (f"compiled for {', '.join(s.targets)}"
                                       if s.cycles is None else f"run on {s.backend}")
    extra = f"<details><summary>partition report</summary><pre>{html.escape(text)}</pre>" \
        "</details>" if text else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta name='generator' content='vendor-sdk ({SCHEMA})'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{_cards(s)}"
        f'<p class="legend">{legend}{overlays}</p>'
        "<p class='note'>One node per layer: Q/DQ and constant chains "
        "are folded into the op that reads them; bands are NPU regions; edge labels are "
        "tensor shapes; the red bar is a layer's cycles relative to the slowest; hover for "
        "details, click a node to find its row. Click a column header to sort.</p>"
        f'<div class="main"><div class="graph">{to_svg(graph, rows)}</div>'
        f'<div class="layers">{_table(rows, colour)}</div></div>'
        f"{extra}<script>{JS}</script></body></html>\n")
