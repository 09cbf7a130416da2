"""The report's charts with matplotlib's object API (no pyplot, no display): SVG for the
HTML page (text stays text), PNG for the PDF. Both from the same figure."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import matplotlib
import polars as pl
from matplotlib.figure import Figure

from pipelines.report.labels import Labels
from pipelines.report.model import Chart

BLUE, ORANGE, GREY = "#1f5a96", "#d9822b", "#6b7280"
RC = {
    "svg.fonttype": "none",  # text stays text in the SVG
    "svg.hashsalt": "reab",  # stable ids: the same data gives the same file
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _render(fig: Figure, key: str, title: str, description: str) -> Chart:
    with matplotlib.rc_context(RC):
        svg = io.StringIO()
        fig.savefig(svg, format="svg", metadata={"Date": None}, bbox_inches="tight")
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=160, bbox_inches="tight", metadata={"Software": None})
    text = svg.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE (inline in HTML)
    return Chart(key, title, text, png.getvalue(), description)


def _thousands(values) -> list[float]:
    return [float(Decimal(v) / 1000) if v is not None else float("nan") for v in values]


def _figure(width: float = 7.5, height: float = 3.2) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height), layout="constrained")


def fan_chart(
    L: Labels,
    actual: pl.DataFrame,
    forecast: pl.DataFrame,
    baseline: pl.DataFrame | None = None,
    baseline_label: str | None = None,
) -> Chart:
    """Actual monthly commitments, then the forecast mean with 80 % and 95 % bands; the
    forecast made before the year (``baseline``) dashed over the actual months."""
    title = L("ch_fan")
    with matplotlib.rc_context(RC):
        fig = _figure()
        ax = fig.add_subplot()
        if actual.height:
            ax.plot(
                actual["month"].to_list(),
                _thousands(actual["commitments"].to_list()),
                color=BLUE,
                marker="o",
                markersize=2.5,
                label=L("actual"),
            )
        if forecast.height:
            # the fan starts at the last actual month
            joined = actual.height > 0
            months = [actual["month"][-1]] * joined + forecast["month"].to_list()
            last = [actual["commitments"][-1]] * joined
            ext = {c: last + forecast[c].to_list() for c in forecast.columns[1:]}
            for level, alpha in ((95, 0.18), (80, 0.35)):
                ax.fill_between(
                    months,
                    _thousands(ext[f"lo{level}"]),
                    _thousands(ext[f"hi{level}"]),
                    color=ORANGE,
                    alpha=alpha,
                    label=f"{level} %",
                    linewidth=0,
                )
            ax.plot(months, _thousands(ext["mean"]), color=ORANGE, label=L("c_forecast"))
        if baseline is not None and baseline.height:
            ax.plot(
                baseline["month"].to_list(),
                _thousands(baseline["mean"].to_list()),
                color=GREY,
                linestyle="--",
                label=L("ch_baseline", baseline=baseline_label),
            )
        ax.set_ylabel(L("ch_eur_thousands"))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#e5e7eb")
        ax.legend(loc="upper left", frameon=False, ncols=5, fontsize=8)
        fig.autofmt_xdate()
        return _render(fig, "fan", title, L("ch_fan_desc"))


def budget_bars(L: Labels, year: int, cells: dict, lines: list[str]) -> Chart:
    """Mean per budget line under the 2025 and the 2026 table, with 80 % intervals."""
    shown = [
        line
        for line in lines
        if any((cells.get((t, line)) or {}).get("mean") for t in ("2025", "2026"))
    ]
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.32 * max(len(shown), 3) + 0.9)
        ax = fig.add_subplot()
        positions = list(range(len(shown)))
        for offset, (table, colour) in ((-0.2, ("2025", GREY)), (0.2, ("2026", BLUE))):
            rows = [cells.get((table, line)) or {} for line in shown]
            means = _thousands([r.get("mean", 0) for r in rows])
            lo = _thousands([r.get("lo80", 0) for r in rows])
            hi = _thousands([r.get("hi80", 0) for r in rows])
            errors = [
                [m - low for m, low in zip(means, lo, strict=True)],
                [h - m for m, h in zip(means, hi, strict=True)],
            ]
            ax.barh(
                [p + offset for p in positions],
                means,
                height=0.38,
                color=colour,
                xerr=errors,
                error_kw={"elinewidth": 0.8, "ecolor": "#111827", "capsize": 1.5},
                label=L("c_t2025" if table == "2025" else "c_t2026"),
            )
        ax.set_yticks(positions, [L(f"l_{line}") for line in shown])
        ax.invert_yaxis()
        ax.set_xlabel(L("ch_eur_thousands"))
        ax.grid(axis="x", color="#e5e7eb")
        ax.legend(loc="lower right", frameon=False)
        return _render(fig, "bars", L("ch_bars", year=year), L("ch_bars_desc"))


def alarm_timeline(L: Labels, alarms: pl.DataFrame, start: date, end: date) -> Chart:
    """A mark per (country, month) with an alarm: filled for volume, open for shares."""
    countries = sorted(set(alarms["country"].to_list())) if alarms.height else []
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.3 * max(len(countries), 2) + 1.0)
        ax = fig.add_subplot()
        row = {c: i for i, c in enumerate(countries)}
        for volume, marker, fill in ((True, "s", BLUE), (False, "o", "none")):
            part = alarms.filter(pl.col("indicator").str.starts_with("registered_") == volume)
            if part.height:
                ax.scatter(
                    part["month"].to_list(),
                    [row[c] for c in part["country"].to_list()],
                    marker=marker,
                    s=36,
                    facecolors=fill,
                    edgecolors=BLUE,
                    label=L("i_registered_dossiers") if volume else L("c_indicator") + " (%)",
                )
        ax.set_yticks(range(len(countries)), countries)
        ax.set_ylim(-0.7, max(len(countries), 1) - 0.3)
        ax.invert_yaxis()
        ax.set_xlim(start, end.replace(day=28))
        ax.grid(axis="x", color="#e5e7eb")
        if alarms.height:
            ax.legend(loc="upper left", frameon=False, ncols=2, bbox_to_anchor=(0, 1.15))
        else:
            ax.text(0.5, 0.5, L("no_alarms"), transform=ax.transAxes, ha="center", color=GREY)
        fig.autofmt_xdate()
        return _render(fig, "timeline", L("ch_timeline"), L("ch_timeline_desc"))
