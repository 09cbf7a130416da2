"""Missing and stale tables: what ``reab update`` rebuilds."""

from __future__ import annotations

import shutil

from pipelines import freshness
from pipelines.demo import insert_typed_persons
from pipelines.entitlements import build_entitlements, build_table_comparison
from pipelines.freshness import DERIVED_TABLES, record_build, stale_assets
from pipelines.warehouse import connect, query_frame


def test_derived_tables_are_the_dagster_asset_graph():
    from pipelines.runs import derived_assets

    graph = {
        key.path[-1]: tuple(p.path[-1] for p in parents)
        for key, parents in derived_assets().items()
    }
    assert graph == DERIVED_TABLES


def test_nothing_built_is_missing_everywhere(demo_copy):
    with connect(demo_copy) as con:
        con.execute("DROP TABLE IF EXISTS asset_builds")  # other tests write the shared copy
        assert set(stale_assets(con)) == set(DERIVED_TABLES)
        assert set(stale_assets(con).values()) == {"missing"}


def test_built_tables_are_fresh_until_the_dossiers_change(demo_copy):
    with connect(demo_copy) as con:
        build_entitlements(con)
        build_table_comparison(con)
        stale = stale_assets(con)
        assert "entitlements" not in stale and "table_comparison" not in stale
        assert stale["misuse_indicators"] == "missing"
        one = query_frame(
            con, "SELECT * EXCLUDE (file_id, source_file, source_row) FROM dossier_persons LIMIT 1"
        )
        insert_typed_persons(con, one.with_columns(one["dossier_id"] + "X"), "new.csv")
        stale = stale_assets(con)
        assert stale["entitlements"].startswith("the dossiers changed")
        assert stale["table_comparison"].startswith("the dossiers changed")


def test_a_table_rebuilt_upstream_makes_its_dependants_stale(demo_copy):
    with connect(demo_copy) as con:
        build_entitlements(con)
        build_table_comparison(con)
        record_build(con, "entitlements")  # rebuilt after the comparison
        assert stale_assets(con)["table_comparison"] == "entitlements was rebuilt after it"


def test_a_changed_rule_file_makes_every_table_stale(demo_copy, tmp_path, monkeypatch):
    folders = []
    for folder in freshness.RULE_FOLDERS:
        copy = tmp_path / folder.name
        shutil.copytree(folder, copy)
        folders.append(copy)
    monkeypatch.setattr(freshness, "RULE_FOLDERS", tuple(folders))
    with connect(demo_copy) as con:
        build_entitlements(con)
        assert "entitlements" not in stale_assets(con)
        table = folders[0] / "table_2026.yaml"
        table.write_text(table.read_text() + "\n# a comment changes the file\n")
        assert stale_assets(con)["entitlements"] == (
            "the rule tables or scenarios changed since it was built"
        )


def test_an_asset_that_cannot_be_built_yet_is_not_stale_and_blocks_its_dependants(demo_copy):
    with connect(demo_copy) as con:
        record_build(con, "volume_forecast", skipped="too little history")
        stale = stale_assets(con)
        assert "volume_forecast" not in stale and "budget_forecast" not in stale
        skipped = freshness.skipped_assets(con)
        assert skipped["volume_forecast"] == "too little history"
        assert "volume_forecast" in skipped["budget_forecast"]
        one = query_frame(
            con, "SELECT * EXCLUDE (file_id, source_file, source_row) FROM dossier_persons LIMIT 1"
        )
        insert_typed_persons(con, one.with_columns(one["dossier_id"] + "X"), "new.csv")
        assert "volume_forecast" in stale_assets(con)  # new data: try again


def test_every_builder_records_its_table(built_warehouse):
    """The session's warehouse went through every builder (as the main job does):
    nothing is left missing or stale, else update would rebuild it every time."""
    with connect(built_warehouse, read_only=True) as con:
        assert stale_assets(con) == {}
