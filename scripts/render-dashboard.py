#!/usr/bin/python3
"""Draws each panel of the Grafana dashboard as a PNG from the query answers that the
prometheus_e2e test dumps (MTASTS_DASHBOARD_DUMP; scripts/render-dashboard.sh runs it).

    render-dashboard.py DUMP.json OUT_DIR

DUMP.json holds, per dashboard target, the panel, the target, the query as asked and
Prometheus's answer. Stat panels show the last value, bar gauges one bar per series, tables
apply the dashboard's merge/organize transformations, time series one line per series. This is
a plot of the same data, not Grafana's own rendering (Grafana is not packaged by Debian 12).
"""
import datetime
import json
import math
import re
import sys
from collections import OrderedDict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HIDDEN_LABELS = {"__name__", "job", "instance"}


def legend(fmt, labels, ref):
    if not fmt or fmt == "__auto":
        shown = {k: v for k, v in labels.items() if k not in HIDDEN_LABELS}
        return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or ref
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def number(text):
    return float(text)


def fmt_value(value, unit):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def last_value(series):
    if "value" in series:
        return number(series["value"][1])
    return number(series["values"][-1][1]) if series.get("values") else None


def draw_stat(panel, targets, path):
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    values = [last_value(s) for t in targets for s in t["data"]["result"]]
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.axis("off")
    ax.set_title(panel["title"], fontsize=11)
    text = "  ".join(fmt_value(v, unit) for v in values) or "no data"
    ax.text(0.5, 0.45, text, ha="center", va="center", fontsize=30, fontweight="bold",
            color="#1f77b4")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def draw_bargauge(panel, targets, path):
    names, values = [], []
    for t in targets:
        for s in t["data"]["result"]:
            names.append(legend(t["target"].get("legendFormat"), s["metric"], t["target"]["refId"]))
            values.append(last_value(s))
    fig, ax = plt.subplots(figsize=(5, 0.45 * len(names) + 1))
    bars = ax.barh(names[::-1], values[::-1], color="#73bf69")
    ax.bar_label(bars, labels=[fmt_value(v, None) for v in values[::-1]], padding=3)
    ax.set_title(panel["title"])
    ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def draw_table(panel, targets, path):
    transformations = panel.get("transformations", [])
    merge = any(t["id"] == "merge" for t in transformations)
    rows = OrderedDict()
    for t in targets:
        ref = t["target"]["refId"]
        for i, s in enumerate(t["data"]["result"]):
            labels = {k: v for k, v in s["metric"].items() if k not in HIDDEN_LABELS}
            key = labels.get("domain", "") if merge else f"{ref}{i}"
            row = rows.setdefault(key, {})
            row.update(labels)
            row["Value #" + ref if merge else "Value"] = last_value(s)
    organize = next((t["options"] for t in transformations if t["id"] == "organize"), {})
    exclude = {k for k, v in organize.get("excludeByName", {}).items() if v}
    order = organize.get("indexByName", {})
    rename = organize.get("renameByName", {})
    columns = sorted({c for r in rows.values() for c in r} - exclude,
                     key=lambda c: (order.get(c, 1000), c))
    headers = [rename.get(c, c) for c in columns]

    def cell(value):
        if isinstance(value, float):
            if value > 1e12:  # Unix milliseconds (last/next check)
                return datetime.datetime.fromtimestamp(value / 1000, datetime.timezone.utc) \
                    .strftime("%H:%M:%S")
            return fmt_value(value, None)
        return str(value) if value is not None else ""

    body = [[cell(r.get(c)) for c in columns] for r in rows.values()]
    if not body:
        body = [["no data"] + [""] * (len(columns) - 1)]
    height = 0.28 * (len(body) + 2)
    fig, ax = plt.subplots(figsize=(6, height))
    ax.axis("off")
    ax.set_title(panel["title"], loc="left")
    table = ax.table(cellText=body, colLabels=headers, loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.auto_set_column_width(list(range(len(columns))))
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def draw_timeseries(panel, targets, path):
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    fig, ax = plt.subplots(figsize=(8, 3.6))
    lines = 0
    for t in targets:
        for s in t["data"]["result"]:
            points = [(datetime.datetime.fromtimestamp(v[0], datetime.timezone.utc), number(v[1]))
                      for v in s.get("values", [])]
            if not points:
                continue
            xs, ys = zip(*points)
            ax.plot(xs, ys, label=legend(t["target"].get("legendFormat"), s["metric"],
                                         t["target"]["refId"]), linewidth=1.2)
            lines += 1
    ax.set_title(panel["title"])
    ax.set_xlabel("time (UTC)")
    if unit in ("s", "reqps"):
        ax.set_ylabel({"s": "seconds", "reqps": "per second"}[unit])
    ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%H:%M:%S"))
    ax.grid(alpha=0.3)
    if lines:
        ax.legend(fontsize=7, ncol=3 if lines > 6 else 1, loc="upper left",
                  bbox_to_anchor=(1.01, 1) if lines > 6 else None)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


DRAW = {"stat": draw_stat, "bargauge": draw_bargauge, "table": draw_table,
        "timeseries": draw_timeseries}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    dump = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    panels = OrderedDict()
    for entry in dump:
        panel = entry["panel"]
        if "title" not in panel:
            continue  # the annotation: drawn by Grafana on the time series, not a panel
        panels.setdefault(panel["id"], (panel, []))[1].append(entry)
    for n, (panel, targets) in enumerate(panels.values(), start=1):
        path = out / f"{n:02d}-{slug(panel['title'])}.png"
        DRAW[panel["type"]](panel, targets, path)
        print(path)


if __name__ == "__main__":
    main()
