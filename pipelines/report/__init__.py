"""The monthly management report: HTML (self-contained), PDF and the finance workbook
(XLSX), in Dutch, French or English, from the warehouse. No Dagster here: the CLI
(``reab report``) and the Dagster asset both call ``write_report``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.report.content import ReportError, build_report
from pipelines.report.labels import LANGUAGES
from pipelines.report.model import Report
from pipelines.report.render_html import render_html
from pipelines.report.render_pdf import render_pdf
from pipelines.report.render_xlsx import render_xlsx

__all__ = ["LANGUAGES", "ReportError", "ReportFiles", "build_report", "write_report"]


@dataclass
class ReportFiles:
    report: Report
    html: Path
    pdf: Path
    xlsx: Path

    @property
    def paths(self) -> list[Path]:
        return [self.html, self.pdf, self.xlsx]


def write_report(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    month: date | None = None,
    languages: Sequence[str] = ("en",),
    source: str = "",
    progress: Callable[[str], None] | None = None,
    strict: bool = False,
) -> list[ReportFiles]:
    """Write ``reab-report-YYYY-MM-<lang>.{html,pdf,xlsx}`` per language into ``out_dir``.

    A language's three files are rendered before any is written, and each is written to
    a temporary name and renamed: a reader never sees half a file, and a failed render
    leaves the previous files. ``strict``: refuse (``ReportError``, nothing written) a
    report with warnings, i.e. one behind its data."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise ReportError(f"unknown language {unknown[0]!r}: choose from {', '.join(LANGUAGES)}")
    say = progress or (lambda _m: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    written = []
    for lang in languages:
        report = build_report(
            con, month, lang, source=source, generated_at=stamp, progress=say, complete=strict
        )
        if strict and report.warnings:
            raise ReportError("the report is behind its data: " + " ".join(report.warnings))
        stem = out_dir / f"reab-report-{report.month:%Y-%m}-{lang}"
        say(f"rendering {stem.name}: HTML, PDF, XLSX")
        contents = {
            ".html": render_html(report).encode("utf-8"),
            ".pdf": render_pdf(report),
            ".xlsx": render_xlsx(report),
        }
        paths = {}
        for suffix, content in contents.items():  # all rendered: now replace the files
            path = stem.with_suffix(suffix)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(content)
            partial.replace(path)
            paths[suffix] = path
        written.append(ReportFiles(report, paths[".html"], paths[".pdf"], paths[".xlsx"]))
    return written
