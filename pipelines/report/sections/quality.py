"""Data quality, the working parameter values, and the forecast backtest."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from data_contracts.reasons import without_values_sql
from pipelines.report.labels import Labels
from pipelines.report.model import Column, Section, Table
from pipelines.report.sections.common import PAGE_ROWS, Context, label_of, table_name
from pipelines.warehouse import query_frame


def quality_section(ctx: Context) -> tuple[Section, tuple[int, int]]:
    L = ctx.L
    files = query_frame(
        ctx.con,
        """SELECT status, count(*) AS files, sum(rows_read)::BIGINT AS rows_read,
                  sum(rows_accepted)::BIGINT AS rows_accepted,
                  sum(rows_quarantined)::BIGINT AS rows_quarantined
           FROM ingested_files GROUP BY 1 ORDER BY files DESC""",
    )
    reasons = query_frame(
        ctx.con,
        f"""WITH parts AS (
               -- one reason per rule broken; quoted values (maybe ids) left out
               SELECT unnest(string_split({without_values_sql("reason")}, '; ')) AS part
               FROM quarantine)
           SELECT CASE WHEN part LIKE '%:%' THEN split_part(part, ':', 1) ELSE part END
                      AS rule,
                  count(*) AS n
           FROM parts GROUP BY 1 ORDER BY n DESC, rule""",
    )
    file_rows = [
        (label_of(L, "st_", r["status"]), *tuple(r.values())[1:])
        for r in files.iter_rows(named=True)
    ]
    read = int(files["rows_read"].sum() or 0)
    quarantined = int(files["rows_quarantined"].sum() or 0)
    if file_rows:
        file_rows.append(
            (L("r_total"), int(files["files"].sum()), read)
            + (int(files["rows_accepted"].sum()), quarantined)
        )
    files_table = Table(
        "files",
        L("t_files"),
        L("t_files"),
        [
            Column("status", L("c_status")),
            Column("files", L("c_files"), "count"),
            Column("rows_read", L("c_rows_read"), "count"),
            Column("rows_accepted", L("c_rows_accepted"), "count"),
            Column("rows_quarantined", L("c_rows_quarantined"), "count"),
        ],
        file_rows,
        emphasis={len(file_rows) - 1} if file_rows else set(),
        note=None if file_rows else L("missing", what=L("missing_table", table="ingested_files")),
    )
    reasons_table = Table(
        "quarantine",
        L("t_quarantine"),
        L("t_quarantine"),
        [Column("rule", L("c_rule_reason")), Column("rows", L("c_rows"), "count")],
        [tuple(r) for r in reasons.iter_rows()],
        page_rows=PAGE_ROWS,
        note=L("note_quarantine") if reasons.height else L("note_no_quarantine"),
    )
    section = Section("quality", L("s_quality"), L("s_quality_intro"), [files_table, reasons_table])
    return section, (quarantined, read)


def parameters_section(ctx: Context) -> Section:
    L, year = ctx.L, ctx.next_year
    frame = query_frame(
        ctx.con,
        """SELECT "table", rule, parameter, label, "values", unit, source, resting_cents,
                  resting_share FROM budget_assumptions WHERE year = $y
           ORDER BY "table", resting_cents DESC NULLS LAST, parameter""",
        {"y": year},
    )
    rows = [
        (
            table_name(r["table"]),
            r["rule"],
            r["parameter"],
            L.authored(r["label"]),
            parameter_values(L, r["values"], r["unit"]),
            label_of(L, "unit_", r["unit"]),
            r["source"],  # a citation: quoted as recorded (note_parameter_sources)
            None if r["resting_cents"] is None else Decimal(r["resting_cents"]) / 100,
            r["resting_share"],
        )
        for r in frame.iter_rows(named=True)
    ]
    table = Table(
        "parameters",
        L("t_parameters"),
        L("t_parameters"),
        [
            Column("table", L("c_table")),
            Column("rule", L("c_rule")),
            Column("parameter", L("c_parameter")),
            Column("label", L("c_label")),
            Column("values", L("c_values")),
            Column("unit", L("c_unit")),
            Column("source", L("c_source")),
            Column("resting", L("c_resting"), "eur"),
            Column("share", L("c_resting_share"), "share"),
        ],
        rows,
        note=L("note_parameter_sources") if rows else None,
    )
    intro = L("s_parameters_intro", year=year)
    return Section("parameters", L("s_parameters"), intro, [table])


_CHANGE = re.compile(r"from (\d{4}-\d{2}-\d{2}): (.*)")


def parameter_values(L: Labels, text: str | None, unit: str | None) -> str | None:
    """A parameter's dated values in the report's language. The warehouse holds them as
    ``describe_values`` writes them (``from 2022-01-01: none; from 2025-06-01: MDA``,
    English): each change is read back and rendered again — the date as it is, amounts
    with the language's decimal comma, lists of ISO codes as they are, none, True and
    False in words. A text in another form is shown as it is."""
    if text is None:
        return None
    changes = [_CHANGE.fullmatch(part) for part in text.split("; ")]
    if not all(changes):
        return text
    return (" ; " if L.lang == "fr" else "; ").join(
        L("v_from", since=m.group(1), value=_value(L, m.group(2), unit)) for m in changes
    )


def _value(L: Labels, value: str, unit: str | None) -> str:
    if value in ("none", "True", "False"):
        return L({"none": "v_none", "True": "v_true", "False": "v_false"}[value])
    if unit == "date" or re.fullmatch(r"[A-Z0-9 ]+", value) and not value.isdigit():
        return value  # a date, ISO codes
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return L.number(number, max(0, -int(number.as_tuple().exponent)))


def backtest_section(ctx: Context) -> Section:
    L = ctx.L
    frame = query_frame(
        ctx.con,
        """SELECT country_group, origins, mase_model, mase_seasonal_naive,
                  mase_exponential_smoothing, coverage80, coverage95, annual_bias,
                  horizon_months
           FROM forecast_backtest ORDER BY country_group = 'total', country_group""",
    )
    rows = [
        (label_of(L, "grp_", r["country_group"]), *tuple(r.values())[1:-1])
        for r in frame.iter_rows(named=True)
    ]
    table = Table(
        "backtest",
        L("t_backtest"),
        L("t_backtest"),
        [
            Column("group", L("c_group")),
            Column("origins", L("c_origins"), "count"),
            Column("mase_model", L("c_mase_model"), "number", 2),
            Column("mase_naive", L("c_mase_naive"), "number", 2),
            Column("mase_ses", L("c_mase_ses"), "number", 2),
            Column("cov80", L("c_cov80"), "share"),
            Column("cov95", L("c_cov95"), "share"),
            Column("bias", L("c_bias"), "share"),
        ],
        rows,
        emphasis={len(rows) - 1} if rows else set(),
    )
    horizon = frame["horizon_months"][0] if frame.height else 12
    return Section("backtest", L("s_backtest"), L("s_backtest_intro", horizon=horizon), [table])
