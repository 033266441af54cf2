#!/usr/bin/env python3
"""Draw bench/results/slowdown.svg from summary.json: how much each tracer slows each workload.

Usage: tools/bench-chart.py [SUMMARY_JSON [OUT_SVG]]
       (defaults: bench/results/summary.json, slowdown.svg next to it)

A grouped horizontal bar chart: one group per workload, one bar per tracer (snag highlighted),
each bar from the untraced line (1.0) to the median slowdown (leftwards below 1.0), with a whisker over the min-max
of the rounds and the median written next to it. Function-call tracing (hundreds of times
slower), system-wide tracing (a few times) and real services (time per request: 1 /
throughput) get a panel each, each on its own log scale.
Workloads marked "reference" in the summary (too noisy untraced to rank tracers) are left out
and named in a footnote. Standard library only.
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

WIDTH = 980
LABEL_W = 340  # workload titles and tracer names
PLOT_W = 500
PLOT_X = LABEL_W + 10
BAR_H = 16
BAR_GAP = 5
GROUP_GAP = 14
SNAG = "#d9480f"
PEER = "#8d99a6"
INK = "#212529"
MUTED = "#5c636a"
GRID = "#dee2e6"
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

PANELS = [
    ("funclat", "Uprobe tracing: a 1.5 ns function called in a loop; malloc+free pairs (--mem)"),
    ("system", "System-wide tracing: context switches, block, syscalls, network"),
    ("service", "Real services: time per request (1 / throughput), redis-server and PostgreSQL"),
]


def nice_max(v):
    """The smallest of 2, 5, 10, 20, 50, ... at or above v."""
    m = 10 ** math.floor(math.log10(v))
    for f in (1, 2, 5, 10):
        if f * m >= v * 1.0001:
            return f * m
    return 10 * m


def nice_min(v):
    """The largest of 1, 0.5, 0.2, 0.1, ... at or below v."""
    if v >= 1:
        return 1
    m = 10 ** math.floor(math.log10(v))
    for f in (5, 2, 1):
        if f * m <= v:
            return f * m
    return m


def ticks(lo, hi):
    steps = (1, 1.5, 2, 3, 4, 5, 7) if hi / lo <= 10 else (1, 2, 5)
    out = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for f in steps:
            v = round(f * 10 ** e, 6)
            if lo <= v <= hi:
                out.append(v)
    return out


def fmt_ratio(x):
    if x >= 100:
        return f"{x:,.0f}x"
    if x >= 10:
        return f"{x:.1f}x"
    return f"{x:.2f}x"


def text(x, y, s, size=12, anchor="start", weight="normal", fill=INK, extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{extra}>{escape(s)}</text>')


def panel_of(w):
    """Per-call uprobe tracing (functions, allocations: many times slower), real services, or
    everything else."""
    if w["benchmark"] in ("funclat", "mem"):
        return "funclat"
    return "service" if w["benchmark"] == "service" else "system"


def draw(summary):
    ws = [w for w in summary["workloads"] if not w.get("reference")]
    left_out = [w for w in summary["workloads"] if w.get("reference")]
    el = []
    y = 30
    el.append(text(20, y, "How much each tracer slows the traced workload", 18, weight="bold"))
    y += 22
    el.append(text(20, y, "Workload time with the tracer / without (untraced = 1.0). Bars: median; "
                   "whiskers: fastest to slowest round. Log scales.", 12, fill=MUTED))
    y += 24
    # Legend.
    el.append(f'<rect x="20" y="{y - 11}" width="14" height="14" fill="{SNAG}"/>')
    el.append(text(40, y, "snag", 12, weight="bold"))
    el.append(f'<rect x="90" y="{y - 11}" width="14" height="14" fill="{PEER}"/>')
    el.append(text(110, y, "other tracers (name on the left)", 12))
    el.append(f'<line x1="330" y1="{y - 4}" x2="370" y2="{y - 4}" stroke="{INK}" stroke-width="1.5"/>')
    el.append(f'<line x1="330" y1="{y - 9}" x2="330" y2="{y + 1}" stroke="{INK}" stroke-width="1.5"/>')
    el.append(f'<line x1="370" y1="{y - 9}" x2="370" y2="{y + 1}" stroke="{INK}" stroke-width="1.5"/>')
    el.append(text(378, y, "min-max over the rounds", 12))
    y += 16

    for key, title in PANELS:
        pws = [w for w in ws if panel_of(w) == key]
        if not pws:
            continue
        sl = [t["slowdown"] for w in pws for t in w["tracers"] if t["slowdown"]]
        hi = nice_max(max([s["max"] for s in sl] + [2]))
        lo = nice_min(min([s["min"] for s in sl] + [1]))
        def xof(v):
            return PLOT_X + PLOT_W * math.log10(v / lo) / math.log10(hi / lo)
        x_one = xof(1)
        y += 26
        el.append(text(20, y, title, 14, weight="bold"))
        y += 20
        top = y
        rows = []  # (y, element) drawn after the grid
        for w in pws:
            y += GROUP_GAP + 4
            rows.append(text(20, y + 9, w["title"], 12, weight="bold"))
            if w.get("note"):
                rows.append(text(20, y + 23, w["note"], 11, fill=MUTED))
                y += 14
            y += 6
            tracers = sorted(w["tracers"], key=lambda t: (not t["snag"], t["tool"]))
            for t in tracers:
                y += BAR_GAP
                s = t["slowdown"]
                cy = y + BAR_H / 2
                rows.append(text(LABEL_W, cy + 4, t["tool"], 12, anchor="end",
                                 weight="bold" if t["snag"] else "normal",
                                 fill=SNAG if t["snag"] else INK))
                if s:
                    color = SNAG if t["snag"] else PEER
                    x1 = xof(s["median"])
                    rows.append(f'<rect x="{min(x1, x_one):.1f}" y="{y:.1f}" width="{max(abs(x1 - x_one), 1.5):.1f}" '
                                f'height="{BAR_H}" fill="{color}"><title>{escape(t["tool"])}: '
                                f'{fmt_ratio(s["median"])} ({fmt_ratio(s["min"])}-{fmt_ratio(s["max"])})'
                                f'</title></rect>')
                    xa, xb = xof(s["min"]), xof(s["max"])
                    rows.append(f'<line x1="{xa:.1f}" y1="{cy:.1f}" x2="{xb:.1f}" y2="{cy:.1f}" '
                                f'stroke="{INK}" stroke-width="1.2"/>')
                    for xe in (xa, xb):
                        rows.append(f'<line x1="{xe:.1f}" y1="{cy - 4:.1f}" x2="{xe:.1f}" '
                                    f'y2="{cy + 4:.1f}" stroke="{INK}" stroke-width="1.2"/>')
                    label = fmt_ratio(s["median"])
                    if not t.get("checks_ok", True):
                        label += " (checks failed)"
                    rows.append(text(max(xb, x1, x_one) + 6, cy + 4, label, 12,
                                     weight="bold" if t["snag"] else "normal"))
                else:
                    rows.append(text(x_one + 6, cy + 4, "no result", 12, fill=MUTED))
                y += BAR_H
        y += 10
        bottom = y
        # Grid and axis under the bars.
        grid = []
        for v in ticks(lo, hi):
            x = xof(v)
            grid.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                        f'stroke="{GRID}" stroke-width="1"/>')
            grid.append(text(x, bottom + 15, f"{v:g}x" if v < 1000 else f"{v:,}x", 11,
                             anchor="middle", fill=MUTED))
        grid.append(f'<line x1="{x_one:.1f}" y1="{top:.1f}" x2="{x_one:.1f}" y2="{bottom:.1f}" '
                    f'stroke="{INK}" stroke-width="2"/>')
        grid.append(text(x_one, top - 2, "untraced = 1.0", 11, anchor="middle" if lo < 1 else "start",
                         fill=INK))
        el += grid + rows
        y = bottom + 22

    # Footnotes: where the numbers come from.
    y += 8
    notes = []
    src = summary.get("sources", {})
    for name, s in src.items():
        if name == "scale":
            continue
        la = lambda v: (v or "?").split()[0]
        parts = [name + ":"]
        if s.get("date"):
            parts.append(f"{s['date']},")
        if s.get("rounds"):
            parts.append(f"{s['rounds']} rounds")
        if s.get("loadavg_at_start"):
            parts.append(f", load {la(s.get('loadavg_at_start'))} -> {la(s.get('loadavg_at_end'))}")
        notes.append(" ".join(parts).replace(" ,", ","))
    head = (f"kernel {summary.get('kernel', '?')}, {summary.get('cpus', '?')} CPUs; "
            f"tools/bench-*.sh via make bench; details in bench/results/*.json")
    el.append(text(20, y, head, 11, fill=MUTED))
    for n in notes:
        y += 15
        el.append(text(20, y, n, 11, fill=MUTED))
    if left_out:
        y += 15
        el.append(text(20, y, "Not drawn (untraced time too variable to rank tracers): "
                       + ", ".join(w["title"] for w in left_out) + ".", 11, fill=MUTED))
    height = y + 20
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="{FONT}">\n'
            f'<rect width="100%" height="100%" fill="#ffffff"/>\n')
    return head + "\n".join(el) + "\n</svg>\n"


def main(argv):
    src = argv[0] if argv else os.path.join(REPO, "bench", "results", "summary.json")
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(src), "slowdown.svg")
    try:
        with open(src) as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        print(f"bench-chart: cannot read {src}: {e}", file=sys.stderr)
        return 1
    if not summary.get("workloads"):
        print(f"bench-chart: {src} has no workloads", file=sys.stderr)
        return 1
    svg = draw(summary)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(svg)
    os.replace(tmp, out)
    print(f"bench-chart: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
