"""The report as one self-contained HTML file: styles and SVG charts inline, no script,
no external reference (it opens offline and makes no network request)."""

from __future__ import annotations

from html import escape

from pipelines.report.formatting import NUMERIC, cell_text, page_rows
from pipelines.report.labels import Labels
from pipelines.report.model import Report, Table, is_hidden

STYLE = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #1f5a96; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1180px; padding: 24px; font-size: 13px; line-height: 1.45; }
h1 { font-size: 22px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 17px; margin: 32px 0 6px; border-bottom: 2px solid var(--accent);
     padding-bottom: 3px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.subtitle, .note, footer { color: var(--muted); }
.warning { border-left: 4px solid #b45309; background: #fffbeb; padding: 6px 10px;
           margin: 8px 0; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr));
         gap: 10px; margin: 18px 0; }
.fact { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.fact .label { color: var(--muted); font-size: 12px; }
.fact .value { font-size: 16px; font-weight: 600; }
nav ol { columns: 2; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 12px; }
th, td { padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; background: #f3f4f6; }
th.group { text-align: center; border-bottom: 1px solid var(--muted); }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.hidden { color: var(--muted); text-align: right; }
tr.emphasis td { font-weight: 600; border-top: 1px solid var(--ink); }
figure { margin: 12px 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; }
@media print { body { max-width: none; } h2 { break-before: auto; } th { position: static; } }
"""


def column_groups(columns) -> list[tuple[str | None, list]]:
    """Runs of adjacent columns whose labels share a ``"group: "`` prefix (at least two)
    as ``(group, columns)``; every other column is ``(None, [column])``. A table of nine
    "Table 2025: 80 %"-style columns then has a short header per column under one
    spanning header per table, and fits the page."""
    runs: list[tuple[str | None, list]] = []
    for column in columns:
        group, sep, _ = column.label.partition(": ")
        if sep and runs and runs[-1][0] == group:
            runs[-1][1].append(column)
        else:
            runs.append((group if sep else None, [column]))
    # a prefix on one column alone is no group: that column keeps its whole label
    return [(group if len(members) > 1 else None, members) for group, members in runs]


def _th(column, label: str, extra: str = "") -> str:
    css = "num" if column.kind in NUMERIC else ""
    return f'<th class="{css}" scope="col"{extra}>{escape(label)}</th>'


def _head(columns) -> str:
    groups = column_groups(columns)
    if all(group is None for group, _ in groups):
        return "<tr>" + "".join(_th(c, c.label) for c in columns) + "</tr>"
    top, bottom = [], []
    for group, members in groups:
        if group is None:
            top.append(_th(members[0], members[0].label, ' rowspan="2"'))
        else:
            top.append(
                f'<th class="group" scope="colgroup" colspan="{len(members)}">{escape(group)}</th>'
            )
            bottom += [_th(c, c.label.partition(": ")[2]) for c in members]
    return f"<tr>{''.join(top)}</tr><tr>{''.join(bottom)}</tr>"


def _table(L: Labels, table: Table) -> str:
    head = _head(table.columns)
    shown, left = page_rows(table)
    body = []
    for i in shown:
        cells = []
        for column, value in zip(table.columns, table.rows[i], strict=True):
            css = "hidden" if is_hidden(value) else ("num" if column.kind in NUMERIC else "")
            cells.append(f'<td class="{css}">{escape(cell_text(L, column, value))}</td>')
        emphasis = ' class="emphasis"' if i in table.emphasis else ""
        body.append(f"<tr{emphasis}>{''.join(cells)}</tr>")
    notes = [table.note] if table.note else []
    if left:
        notes.append(f"… +{left} (XLSX: {table.sheet})")
    note = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return (
        f'<h3 id="t-{table.key}">{escape(table.title)}</h3>'
        f'<div class="scroll"><table data-table="{table.key}"><thead>{head}</thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{note}"
    )


def render_html(report: Report) -> str:
    L = Labels(report.lang)
    facts = "".join(
        f'<div class="fact"><div class="label">{escape(k)}</div>'
        f'<div class="value">{escape(v)}</div></div>'
        for k, v in report.facts
    )
    warnings = "".join(f'<p class="warning">{escape(w)}</p>' for w in report.warnings)
    toc = "".join(f'<li><a href="#{s.key}">{escape(s.title)}</a></li>' for s in report.sections)
    parts = []
    for section in report.sections:
        parts.append(f'<section id="{section.key}"><h2>{escape(section.title)}</h2>')
        parts.append(f"<p>{escape(section.intro)}</p>")
        for chart in section.charts:
            parts.append(
                f'<figure role="img" aria-label="{escape(chart.description)}">{chart.svg}'
                f"<figcaption>{escape(chart.title)}</figcaption></figure>"
            )
        parts.extend(_table(L, t) for t in section.tables)
        parts.append("</section>")
    return (
        f'<!DOCTYPE html>\n<html lang="{report.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title)} – {report.month:%Y-%m}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(report.title)}</h1>"
        f'<p class="subtitle">{escape(report.subtitle)}</p>{warnings}</header>'
        f'<div class="facts">{facts}</div><nav><ol>{toc}</ol></nav>'
        f"{''.join(parts)}<footer><p>{escape(report.footnote)}</p></footer></body></html>\n"
    )
