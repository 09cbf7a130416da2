"""Next year's budget per line under each table, and the top return countries."""

from __future__ import annotations

import polars as pl

from models.disclosure import OTHER, protect_counts
from pipelines.report import charts
from pipelines.report.labels import TEXT
from pipelines.report.model import HIDDEN, Column, Section, Table
from pipelines.report.sections.common import (
    LINES,
    TOP_COUNTRIES,
    Context,
    count_or_small,
    country_names,
    dsum,
    has_rows,
    shift_month,
    table_name,
)
from pipelines.warehouse import query_frame


def budget_section(ctx: Context) -> tuple[Section, dict]:
    L, year = ctx.L, ctx.next_year
    frame = query_frame(
        ctx.con,
        """SELECT "table", budget_line, mean, lo80, hi80, lo95, hi95 FROM budget_forecast
           WHERE level = 'total' AND period = 'year' AND year = $y""",
        {"y": year},
    )
    cells = {(r["table"], r["budget_line"]): r for r in frame.iter_rows(named=True)}
    columns = [Column("line", L("c_line"))]
    for table, label in (("2025", "c_t2025"), ("2026", "c_t2026"), ("2026 - 2025", "c_diff")):
        key = table.replace(" - ", "_minus_")
        columns += [
            Column(f"{key}_mean", f"{L(label)}: {L('c_mean')}", "eur"),
            Column(f"{key}_80", f"{L(label)}: 80 %", "eur_range"),
            Column(f"{key}_95", f"{L(label)}: 95 %", "eur_range"),
        ]
    rows = []
    # The lines that add up to the total, the total, then what the total splits into
    # (PAP and PRP: "of which", not to be added again), then the ticket (outside it).
    split = ("pap_cash", "prp_in_kind")
    shown = [line for line in LINES if line not in (*split, "total", "ticket")]
    shown += ["total", *split, "ticket"]
    for line in shown:
        row: list = [L(f"l_{line}")]  # (the split lines' labels say "of which")
        for table in ("2025", "2026", "2026 - 2025"):
            c = cells.get((table, line))
            row += [c["mean"], (c["lo80"], c["hi80"]), (c["lo95"], c["hi95"])] if c else [None] * 3
        rows.append(tuple(row))
    lines = Table(
        "budget",
        L("t_budget"),
        L("t_budget"),
        columns,
        rows,
        emphasis={shown.index("total")},
    )
    tables = sorted({t for t, _ in cells if " - " not in t}, key=lambda t: (t != "2025", t))
    every = Table(
        "tables",
        L("t_tables"),
        L("t_tables"),
        [
            Column("table", L("c_table")),
            Column("description", L("c_description")),
            Column("mean", L("c_mean"), "eur"),
            Column("range80", "80 %", "eur_range"),
            Column("range95", "95 %", "eur_range"),
            Column("diff", f"{L('c_vs_2025')}: {L('c_mean')}", "eur"),
            Column("diff80", f"{L('c_vs_2025')}: 80 %", "eur_range"),
        ],
        [_table_row(cells, t, _descriptions(L)) for t in tables],
    )
    chart = charts.budget_bars(L, year, cells, [line for line in LINES if line != "total"])
    facts = {
        "next": cells.get(("2026", "total")),
        "next_2025": cells.get(("2025", "total")),
        "diff": cells.get(("2026 - 2025", "total")),
        "ticket": cells.get(("2026", "ticket")),
        "bridge": _bridge_steps(ctx),
    }
    shown = [lines, every, _phasing_table(ctx, year), _category_table(ctx, year)]
    shown += _partner_table(ctx, year) + _bands_table(ctx, year) + _bridge_table(ctx)
    section = Section(
        "budget", L("s_budget", year=year), L("s_budget_intro", year=year), shown, [chart]
    )
    return section, facts


def _descriptions(L) -> dict[str, str]:
    """Each table's and scenario's label from its file (scenario labels in the report's
    language where ``labels.AUTHORED`` has them)."""
    from pipelines.entitlements import default_scenarios
    from rules.parameters import built_in_table, load_scenario

    tables = [built_in_table("2025"), built_in_table("2026")]
    tables += [load_scenario(path) for path in default_scenarios()]
    return {t.name: L.authored(t.label) for t in tables}


def _money_columns(L, tables: tuple[str, ...]) -> list[Column]:
    labels = {"2025": L("c_t2025"), "2026": L("c_t2026"), "2026 - 2025": L("c_diff")}
    columns = []
    for table in tables:
        key = table.replace(" - ", "_minus_")
        columns += [
            Column(f"{key}_mean", f"{labels[table]}: {L('c_mean')}", "eur"),
            Column(f"{key}_80", f"{labels[table]}: 80 %", "eur_range"),
        ]
    return columns


def _by_key(
    ctx: Context, level: str, period: str, year: int, source: str = "budget_forecast"
) -> dict:
    """(table, key or month) → mean and 80 % bounds of the programme's total line."""
    frame = query_frame(
        ctx.con,
        f"""SELECT "table", "key", "month", mean, lo80, hi80 FROM {source}
            WHERE level = $level AND period = $period AND year = $y
              AND budget_line = 'total' AND "table" IN ('2025', '2026', '2026 - 2025')""",
        {"level": level, "period": period, "y": year},
    )
    return {
        (r["table"], r["month"] if period == "month" else r["key"]): r
        for r in frame.iter_rows(named=True)
    }


TABLES = ("2025", "2026", "2026 - 2025")


def _cells(cells: dict, key) -> list:
    out = []
    for table in TABLES:
        c = cells.get((table, key))
        out += [c["mean"], (c["lo80"], c["hi80"])] if c else [None, None]
    return out


def _phasing_table(ctx: Context, year: int) -> Table:
    """Next year month by month (commitments by registration month), and the year."""
    L = ctx.L
    cells = _by_key(ctx, "total", "month", year)
    months = sorted({m for _, m in cells})
    rows = [(m, *_cells(cells, m)) for m in months]
    year_cells = _by_key(ctx, "total", "year", year)
    rows.append((L("r_year", year=year), *_cells(year_cells, "total")))
    columns = [Column("month", L("c_month"), "month"), *_money_columns(L, TABLES)]
    return Table(
        "phasing",
        L("t_phasing", year=year),
        L("t_phasing_sheet"),
        columns,
        rows,
        emphasis={len(rows) - 1},
    )


def _category_table(ctx: Context, year: int) -> Table:
    """Next year per 2026 category (the category the 2026 table gives the person)."""
    L = ctx.L
    cells = _by_key(ctx, "category", "year", year)
    keys = sorted({k for _, k in cells})
    rows = [(L(f"cat_{k}"), *_cells(cells, k)) for k in keys]
    total = _by_key(ctx, "total", "year", year)
    rows.append((L("l_total"), *_cells(total, "total")))
    columns = [Column("category", L("c_category")), *_money_columns(L, TABLES)]
    return Table(
        "categories",
        L("t_categories", year=year),
        L("t_categories_sheet"),
        columns,
        rows,
        emphasis={len(rows) - 1},
    )


def _partner_table(ctx: Context, year: int) -> list[Table]:
    """Next year per reintegration partner: only the cash basis has the split (said)."""
    if not has_rows(ctx.con, "budget_forecast_cash"):
        return []
    L = ctx.L
    cells = _by_key(ctx, "partner", "year", year, "budget_forecast_cash")
    if not cells:
        return []
    keys = sorted({k for _, k in cells})
    rows = [(k if k != "none" else L("r_no_partner"), *_cells(cells, k)) for k in keys]
    columns = [Column("partner", L("c_partner")), *_money_columns(L, TABLES)]
    return [
        Table(
            "partners",
            L("t_partners", year=year),
            L("t_partners_sheet"),
            columns,
            rows,
            note=L("note_partners_cash"),
        )
    ]


def _response_note(ctx: Context) -> str | None:
    if not has_rows(ctx.con, "volume_response"):
        return None
    row = query_frame(ctx.con, "SELECT * FROM volume_response").row(0, named=True)
    if not row["identified"]:
        # the model's message is English: other languages get its reason translated
        # (a reason code the labels do not know: the English message as recorded)
        key = f"why_{row.get('reason')}"
        why = ctx.L(key) if key in TEXT else row["note"]
        return ctx.L("note_no_response", why=why)
    in_force = query_frame(ctx.con, "SELECT any_value(in_force) AS t FROM budget_bands")["t"][0]
    return ctx.L(
        "note_response",
        e=ctx.L.number(row["elasticity"], 2),
        lo=ctx.L.number(row["lo80"], 2),
        hi=ctx.L.number(row["hi80"], 2),
        n=row["countries_changed"],
        table=in_force,
    )


def _bands_table(ctx: Context, year: int) -> list[Table]:
    """Next year's programme total per table with each uncertainty added in turn."""
    if not has_rows(ctx.con, "budget_bands"):
        return []
    L = ctx.L
    frame = query_frame(
        ctx.con,
        """SELECT "table", basis, uncertainty, mean, lo80, hi80, lo95, hi95 FROM budget_bands
           WHERE year = $y ORDER BY "table" LIKE '% - %', "table",
                     basis = 'with volume response', uncertainty""",
        {"y": year},
    )
    if frame.is_empty():
        return []
    rows = [
        (
            table_name(r["table"]),
            L(f"b_{r['basis']}"),
            L(f"u_{r['uncertainty']}"),
            r["mean"],
            (r["lo80"], r["hi80"]),
            (r["lo95"], r["hi95"]),
        )
        for r in frame.iter_rows(named=True)
    ]
    columns = [
        Column("table", L("c_table")),
        Column("basis", L("c_basis")),
        Column("uncertainty", L("c_uncertainty")),
        Column("mean", L("c_mean"), "eur"),
        Column("range80", "80 %", "eur_range"),
        Column("range95", "95 %", "eur_range"),
    ]
    return [Table("bands", L("t_bands"), L("t_bands"), columns, rows, note=_response_note(ctx))]


def _bridge_steps(ctx: Context) -> dict | None:
    """The bridge's volume, mix and price effects (EUR) and its years, if built."""
    if not has_rows(ctx.con, "budget_bridge"):
        return None
    frame = query_frame(ctx.con, 'SELECT * FROM budget_bridge ORDER BY "order"')
    if frame.is_empty():
        return None
    steps = dict(zip(frame["step"], frame["amount"], strict=True))
    return {"year0": frame["this_year"][0], "year1": frame["next_year"][0], **steps}


def _bridge_table(ctx: Context) -> list[Table]:
    if not has_rows(ctx.con, "budget_bridge"):
        return []
    L = ctx.L
    frame = query_frame(ctx.con, 'SELECT * FROM budget_bridge ORDER BY "order"')
    if frame.is_empty():
        return []
    years = {"year0": frame["this_year"][0], "year1": frame["next_year"][0]}
    rows = [(L(f"bs_{r['step']}", **years), r["amount"]) for r in frame.iter_rows(named=True)]
    columns = [Column("step", L("c_step")), Column("amount", L("c_amount"), "eur")]
    return [
        Table(
            "bridge",
            L("t_bridge"),
            L("t_bridge"),
            columns,
            rows,
            note=L("note_bridge", **years),
            emphasis={0, len(rows) - 1},
        )
    ]


def _table_row(cells: dict, table: str, descriptions: dict[str, str]) -> tuple:
    c = cells[(table, "total")]
    d = cells.get((f"{table} - 2025", "total"))
    return (
        table_name(table),
        descriptions.get(table, ""),
        c["mean"],
        (c["lo80"], c["hi80"]),
        (c["lo95"], c["hi95"]),
        d["mean"] if d else None,
        (d["lo80"], d["hi80"]) if d else None,
    )


def countries_section(ctx: Context) -> Section:
    L, year = ctx.L, ctx.next_year
    money = query_frame(
        ctx.con,
        """SELECT key AS country,
                  max(mean) FILTER ("table" = '2025') AS mean_2025,
                  max(mean) FILTER ("table" = '2026') AS mean_2026,
                  max(lo80) FILTER ("table" = '2026') AS lo80,
                  max(hi80) FILTER ("table" = '2026') AS hi80,
                  max(mean) FILTER ("table" = '2026 - 2025') AS diff
           FROM budget_forecast
           WHERE level = 'country' AND period = 'year' AND year = $y AND budget_line = 'total'
           GROUP BY key""",
        {"y": year},
    )
    volume = query_frame(
        ctx.con,
        """SELECT key AS country, sum(mean) AS dossiers_forecast FROM volume_forecast
           WHERE level = 'country' AND unit = 'dossiers' AND year(month) = $y GROUP BY key""",
        {"y": year},
    )
    # Registering dossiers of any status, as the volume forecast counts them (a
    # cancelled dossier registered too): the two columns compare like with like.
    recent = query_frame(
        ctx.con,
        """WITH dossier AS (
               SELECT dossier_id, min(registration_date) AS registered,
                      any_value(return_country ORDER BY role <> 'principal') AS country
               FROM dossier_persons GROUP BY dossier_id)
           SELECT country, count(*) AS dossiers_12m FROM dossier
           WHERE registered >= $start AND registered < $stop
           GROUP BY 1""",
        {"start": shift_month(ctx.month, -11), "stop": shift_month(ctx.month, 1)},
    )
    frame = (
        money.join(volume, on="country", how="left")
        .join(recent, on="country", how="left")
        .with_columns(pl.col("dossiers_12m").fill_null(0), pl.col("dossiers_forecast").fill_null(0))
        .sort("mean_2026", descending=True)
    )
    amounts = ["mean_2025", "mean_2026", "diff", "dossiers_forecast"]
    protected = protect_counts(frame, "country", "dossiers_12m", amounts=amounts)
    shown = protected.filter((pl.col("country") != OTHER) & pl.col("suppression").is_null()).head(
        TOP_COUNTRIES
    )
    top = set(shown["country"])
    rest = frame.filter(~pl.col("country").is_in(list(top)))
    names = country_names(L.lang)
    rows = [
        (
            r["country"],
            names.get(r["country"], ""),
            r["dossiers_12m"],
            r["dossiers_forecast"],
            r["mean_2025"],
            r["mean_2026"],
            (r["lo80"], r["hi80"]),
            r["diff"],
        )
        for r in shown.iter_rows(named=True)
    ]
    hidden_total = bool(protected["total_hidden"].any())  # too few dossiers for any count
    if hidden_total:
        rows = [(*row[:2], HIDDEN, *row[3:]) for row in rows]
    if rest.height:
        pooled = HIDDEN if hidden_total else count_or_small(int(rest["dossiers_12m"].sum()))
        rows.append(
            (L("r_other"), L("n_countries", n=rest.height), pooled)
            + (float(rest["dossiers_forecast"].sum()),)
            + (dsum(rest["mean_2025"]), dsum(rest["mean_2026"]), None, dsum(rest["diff"]))
        )
    total = (
        L("r_total"),
        "",
        HIDDEN if hidden_total else int(frame["dossiers_12m"].sum()),
        float(frame["dossiers_forecast"].sum()),
        dsum(frame["mean_2025"]),
        dsum(frame["mean_2026"]),
        None,
        dsum(frame["diff"]),
    )
    rows.append(total)
    columns = [
        Column("country", L("c_country")),
        Column("name", L("c_name")),
        Column("dossiers_12m", L("c_registering_12m"), "count"),
        Column("dossiers_forecast", f"{L('c_dossiers_fc')} {year}", "number"),
        Column("mean_2025", L("c_t2025"), "eur"),
        Column("mean_2026", L("c_t2026"), "eur"),
        Column("range80", f"{L('c_t2026')}: 80 %", "eur_range"),
        Column("diff", L("c_diff"), "eur"),
    ]
    table = Table(
        "countries",
        L("t_countries"),
        L("t_countries"),
        columns,
        rows,
        note=L("note_pool_intervals"),
        emphasis={len(rows) - 1},
    )
    intro = L("s_countries_intro", year=year)
    return Section("countries", L("s_countries", year=year), intro, [table])
