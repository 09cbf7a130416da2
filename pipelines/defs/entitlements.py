"""Entitlements: every person under 2025, 2026, applicable and the scenarios; the comparison.

Thin wrappers over ``pipelines.entitlements`` (which calls ``rules.engine``).
"""

import dagster as dg

from pipelines.defs.ingest import DOSSIER_PERSONS
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import WarehouseResource
from pipelines.entitlements import (
    build_entitlements,
    build_table_comparison,
    default_scenarios,
    entitlement_problems,
)
from pipelines.warehouse import query_frame

GROUP = "entitlements"
ENTITLEMENTS = dg.AssetKey("entitlements")
TABLE_COMPARISON = dg.AssetKey("table_comparison")

# Asset check names.
AMOUNTS_RECONCILE = "amounts_reconcile"
COMPARISON_MATCHES_ENTITLEMENTS = "comparison_matches_entitlements"


class ScenarioFilesConfig(dg.Config):
    """Scenario files to evaluate besides the tables (default: rules/scenarios/*.yaml)."""

    scenario_files: list[str] | None = None

    def files(self) -> list[str]:
        if self.scenario_files is not None:
            return self.scenario_files
        return [str(p) for p in default_scenarios()]


@dg.asset(
    key=ENTITLEMENTS,
    deps=[DOSSIER_PERSONS],
    group_name=GROUP,
    pool="warehouse",
    description="One row per person and table (2025, 2026, applicable, scenarios), "
    "amounts in EUR per budget line with the rule ids that produced them.",
    check_specs=[dg.AssetCheckSpec(AMOUNTS_RECONCILE, asset=ENTITLEMENTS)],
)
def entitlements(
    context: dg.AssetExecutionContext, config: ScenarioFilesConfig, warehouse: WarehouseResource
):
    scenarios = config.files()
    with warehouse.get_connection() as con:
        rows = build_entitlements(con, scenarios, progress=context.log.info)
        totals = query_frame(
            con,
            """SELECT "table", count(*) AS persons, sum(total) AS total_eur,
                      sum(pap_cash + prp_in_kind) AS reintegration_eur
               FROM entitlements GROUP BY 1 ORDER BY 1""",
        )
        problems = entitlement_problems(con)
    yield dg.MaterializeResult(
        asset_key=ENTITLEMENTS,
        metadata={
            "dagster/row_count": rows,
            "scenarios": dg.MetadataValue.json(scenarios),
            "totals_by_table": dg.MetadataValue.md(markdown_table(totals)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=ENTITLEMENTS,
        check_name=AMOUNTS_RECONCILE,
        passed=not problems,
        description="total = sum of its lines; PAP + PRP = reintegration support; "
        "no negative amount; every person has a row per table",
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


@dg.asset(
    key=TABLE_COMPARISON,
    deps=[ENTITLEMENTS],
    group_name=GROUP,
    pool="warehouse",
    description="Per return country, 2026 category, registration year and budget line: "
    "persons, cost under 2025 and 2026, difference, persons better and worse off.",
    check_specs=[dg.AssetCheckSpec(COMPARISON_MATCHES_ENTITLEMENTS, asset=TABLE_COMPARISON)],
)
def table_comparison(warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        rows = build_table_comparison(con)
        by_line = query_frame(
            con,
            """SELECT budget_line, sum(cost_2025) AS cost_2025, sum(cost_2026) AS cost_2026,
                      sum(difference) AS difference
               FROM table_comparison GROUP BY 1 ORDER BY 1""",
        )
        compared, direct = con.execute(
            """SELECT (SELECT sum(cost_2026) - sum(cost_2025) FROM table_comparison
                       WHERE budget_line = 'total'),
                      (SELECT sum(CASE WHEN e."table" = '2026' THEN total ELSE -total END)
                       FROM entitlements e JOIN dossier_persons p USING (dossier_id, person_id)
                       WHERE e."table" IN ('2025', '2026')
                         AND p.dossier_status IN ('departed', 'registered'))"""
        ).fetchall()[0]
    yield dg.MaterializeResult(
        asset_key=TABLE_COMPARISON,
        metadata={
            "dagster/row_count": rows,
            "difference_2026_minus_2025_eur": str(compared),
            "by_budget_line": dg.MetadataValue.md(markdown_table(by_line)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=TABLE_COMPARISON,
        check_name=COMPARISON_MATCHES_ENTITLEMENTS,
        passed=compared == direct,
        description="the comparison's total difference equals the difference summed "
        "directly from the entitlements",
        metadata={"from_comparison": str(compared), "from_entitlements": str(direct)},
    )
