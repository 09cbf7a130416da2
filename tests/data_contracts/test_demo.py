"""The synthetic demo extracts: calibration, validity, determinism, dialects.

The extracts are read back with plain polars (as a stranger would read them), not
with the project's readers, so that these tests also pin the file format.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from data_contracts.demo import DEFAULT_SURGES, Surge, write_demo_extracts
from data_contracts.demo.payments import PersonFacts, approximate_paid_amounts
from data_contracts.demo.plan import (
    SEASON_DEFAULT,
    SHARE_CANCELLED,
    SHARE_DEPARTED,
    day_number,
    dossier_counts,
    month_index,
    plan,
)
from data_contracts.row_model import COLUMNS, PROCEDURE_PHASES, ExtractRow

# public-facts.md
RETURNS = {2019: 2426, 2020: 1847, 2021: 1965, 2022: 2673, 2023: 2952, 2024: 3267, 2025: 3122}
REINTEGRATION_SHARE = {2021: 0.68, 2022: 0.74, 2023: 0.70, 2024: 0.76, 2025: 0.79}
TOP_DESTINATIONS = {
    2021: ("BRA", "UKR", "SLV", "MNG", "MDA"),
    2025: ("BRA", "MDA", "SYR", "COL", "TUR"),
}
TRUE_SPELLINGS = ("true", "1", "ja", "oui", "yes")


# ---------------------------------------------------------------------------
# Reading the files back with plain polars
# ---------------------------------------------------------------------------


def sniff(path: Path) -> tuple[str, str, bool]:
    """(separator, encoding, has_bom) of one extract."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        raw.decode("utf-8")
        encoding = "utf8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    header = raw[3 if bom else 0 :].split(b"\n", 1)[0].decode(encoding.replace("utf8", "utf-8"))
    return (";" if header.count(";") > header.count(",") else ","), encoding, bom


def read_extract(path: Path) -> pl.DataFrame:
    separator, encoding, _ = sniff(path)
    return pl.read_csv(path, separator=separator, infer_schema=False, encoding=encoding)


def parse_dates(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%d/%m/%Y", strict=False),
    )


def parse_money(column: str) -> pl.Expr:
    return pl.col(column).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


def is_true(column: str) -> pl.Expr:
    return pl.col(column).str.to_lowercase().is_in(TRUE_SPELLINGS).fill_null(False)


def is_valid(row: dict) -> bool:
    try:
        ExtractRow.model_validate(row)
    except ValidationError:
        return False
    return True


def extract_paths(directory: Path, suffix: str = "csv") -> list[Path]:
    return sorted(directory.glob(f"reab_extract_*.{suffix}"))


# ---------------------------------------------------------------------------
# Fixtures: generate once per module
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_scale1")
    lines: list[str] = []
    write_demo_extracts(out, seed=0, scale=1.0, progress=lines.append)
    (out / "progress.txt").write_text("\n".join(lines))
    return out


@pytest.fixture(scope="module")
def raw_rows(demo_dir) -> pl.DataFrame:
    """Every row of every file, as strings, with the file's position and validity."""
    frames = []
    for i, path in enumerate(extract_paths(demo_dir)):
        frame = read_extract(path)
        assert tuple(frame.columns) == COLUMNS, path.name
        valid = [is_valid(row) for row in frame.iter_rows(named=True)]
        frames.append(frame.with_columns(pl.lit(i).alias("_file"), pl.Series("_valid", valid)))
    return pl.concat(frames)


@pytest.fixture(scope="module")
def latest(raw_rows) -> pl.DataFrame:
    """Valid rows, the latest extract winning per (dossier_id, person_id), typed."""
    rows = (
        raw_rows.filter(pl.col("_valid"))
        .sort("_file", maintain_order=True)
        .unique(["dossier_id", "person_id"], keep="last", maintain_order=True)
    )
    families = rows.group_by("dossier_id").agg((pl.col("role") == "child").any().alias("_family"))
    return rows.join(families, on="dossier_id").with_columns(
        parse_dates("registration_date").alias("_reg"),
        parse_dates("departure_date").alias("_dep"),
        parse_money("paid_reintegration_eur").alias("_reint"),
        pl.col("age_at_registration").cast(pl.Int64).alias("_age"),
    )


@pytest.fixture(scope="module")
def departed(latest) -> pl.DataFrame:
    return latest.filter(pl.col("dossier_status") == "departed").with_columns(
        pl.col("_dep").dt.year().alias("_year")
    )


def counts_by_country(departed: pl.DataFrame, year: int) -> pl.DataFrame:
    return (
        departed.filter(pl.col("_year") == year)
        .group_by("return_country")
        .len()
        .sort(["len", "return_country"], descending=[True, False])
    )


def country_year(departed: pl.DataFrame, country: str, year: int) -> int:
    return departed.filter((pl.col("return_country") == country) & (pl.col("_year") == year)).height


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def test_one_file_per_month_with_contract_columns(demo_dir):
    paths = extract_paths(demo_dir)
    assert len(paths) == 94
    assert paths[0].name == "reab_extract_2019-01.csv"
    assert paths[-1].name == "reab_extract_2026-10.csv"
    progress = (demo_dir / "progress.txt").read_text().splitlines()
    assert len(progress) == 94
    assert re.fullmatch(r"2024-03: \d+ rows → reab_extract_2024-03\.csv", progress[62])


def test_volume_at_scale_one(raw_rows):
    # the issue: --scale 1000 gives ~30 M person rows
    assert 27_000 <= raw_rows.height <= 33_000


def test_ids_are_pseudonymous(raw_rows):
    assert raw_rows["dossier_id"].str.contains(r"^D[0-9a-f]{10}$").all()
    assert raw_rows["person_id"].str.contains(r"^P[0-9a-f]{12}$").all()
    # a dossier appears in its registration month's extract, at most once more as a correction
    files = raw_rows.group_by("dossier_id").agg(pl.col("_file").n_unique())
    assert files["_file"].max() <= 2
    # ... and a person id is never shared by two people of one dossier
    assert (
        not raw_rows.filter(pl.col("_file") == 60)
        .select(pl.col("person_id").is_duplicated().any())
        .item()
    )


def test_only_defect_rows_are_rejected_at_the_default_rate(raw_rows):
    rejected = raw_rows.filter(~pl.col("_valid")).height
    assert 0 < rejected <= 0.003 * raw_rows.height


# ---------------------------------------------------------------------------
# Calibration to public-facts.md
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("year", sorted(RETURNS))
def test_yearly_departures_within_five_percent(departed, year):
    generated = departed.filter(pl.col("_year") == year).height
    assert generated == pytest.approx(RETURNS[year], rel=0.05)


def test_departures_2026_plausible(departed):
    assert 2_350 <= departed.filter(pl.col("_year") == 2026).height <= 2_750


@pytest.mark.parametrize("year", sorted(TOP_DESTINATIONS))
def test_top_destinations(departed, year):
    top = counts_by_country(departed, year)["return_country"].to_list()
    assert top[:3] == list(TOP_DESTINATIONS[year][:3])
    assert set(top[:5]) == set(TOP_DESTINATIONS[year])


def test_brazil_about_a_thousand_in_2024(departed):
    assert country_year(departed, "BRA", 2024) == pytest.approx(1_000, rel=0.1)
    assert counts_by_country(departed, 2024)["return_country"][0] == "BRA"


def test_countries_per_year(departed):
    per_year = departed.group_by("_year").agg(pl.col("return_country").n_unique())
    counts = dict(per_year.iter_rows())
    assert 85 <= counts[2022] <= 105  # "94 countries"
    assert all(counts[y] >= 80 for y in RETURNS)


@pytest.mark.parametrize("year", sorted(REINTEGRATION_SHARE))
def test_share_with_reintegration(departed, year):
    share = departed.filter(pl.col("_year") == year).select((pl.col("_reint") > 0).mean()).item()
    assert share == pytest.approx(REINTEGRATION_SHARE[year], abs=0.06)


def test_syria_jumps_after_december_2024(departed):
    assert country_year(departed, "SYR", 2024) <= 15
    assert country_year(departed, "SYR", 2025) == pytest.approx(219, rel=0.15)
    assert country_year(departed, "SYR", 2026) > country_year(departed, "SYR", 2025)


def test_brazil_falls_in_2026(departed):
    # January-October 2026 against the whole of 2025, annualised
    assert country_year(departed, "BRA", 2026) * 12 / 10 < 0.6 * country_year(departed, "BRA", 2025)


def test_brazil_and_moldova_lose_reintegration(departed):
    bra = departed.filter(
        (pl.col("return_country") == "BRA") & (pl.col("_reg") >= date(2025, 12, 1))
    )
    mda = departed.filter(
        (pl.col("return_country") == "MDA") & (pl.col("_reg") >= date(2025, 6, 1))
    )
    for frame in (bra, mda):
        assert frame.height > 20
        # only vulnerable people (and the planted over-payments) still get support
        assert frame.select((pl.col("_reint") > 0).mean()).item() < 0.25
    mda_premium = parse_money("paid_return_premium_eur")
    assert mda.filter(pl.col("nationality") == "MDA").select(mda_premium.max()).item() == 0


def test_restricted_countries_fall_in_2025_and_recover(departed):
    lifted = ("BLR", "PAK", "MNG", "JOR")
    # Jordan has a handful of returns a year: judge the group, and the larger ones alone.
    assert sum(country_year(departed, c, 2025) for c in lifted) < 0.7 * sum(
        country_year(departed, c, 2024) for c in lifted
    )
    for country in ("BLR", "PAK", "MNG"):
        assert country_year(departed, country, 2025) < country_year(departed, country, 2024)
    assert country_year(departed, "MNG", 2026) > 2 * country_year(departed, "MNG", 2025)


def test_mongolia_surge_visible_in_2026(latest):
    mng = latest.filter(
        (pl.col("return_country") == "MNG") & (pl.col("_reg").dt.year() == 2026)
    ).with_columns(pl.col("_reg").dt.month().alias("_month"))
    before = mng.filter(pl.col("_month") <= 4).height / 4
    after = mng.filter(pl.col("_month") >= 5).height / 6
    assert after > 1.8 * before


def test_surges_are_the_mechanism():
    p = plan()
    phase = np.zeros(len(p.iso3))
    mng = p.index("MNG")
    with_surge = dossier_counts(100.0, DEFAULT_SURGES, phase)[:, mng]
    without = dossier_counts(100.0, (), phase)[:, mng]
    may = month_index(date(2026, 5, 1))
    assert (with_surge[:may] == without[:may]).all()
    assert with_surge[may:].sum() == pytest.approx(2.5 * without[may:].sum(), rel=0.01)
    geo = p.index("GEO")
    surged = dossier_counts(100.0, (Surge("GEO", date(2023, 1, 15), 3.0),), phase)[:, geo]
    plain = dossier_counts(100.0, (), phase)[:, geo]
    jan_2023 = month_index(date(2023, 1, 1))  # a surge counts from its start's month
    assert (surged[:jan_2023] == plain[:jan_2023]).all()
    assert surged[jan_2023:].sum() == pytest.approx(3 * plain[jan_2023:].sum(), rel=0.01)
    with pytest.raises(ValueError, match="not a return country"):
        dossier_counts(1.0, (Surge("XYZ", date(2026, 1, 1), 2.0),), phase)


def test_levels_move_smoothly_between_years_except_at_a_countrys_own_event():
    """Georgia halves in 2025 over the year, not on New Year's Day; Brazil (its own
    support events) keeps a level per calendar year."""
    p = plan()
    season = SEASON_DEFAULT[np.arange(p.persons.shape[0]) % 12]
    level = p.persons / season[:, None]  # the season taken out
    geo, bra = p.index("GEO"), p.index("BRA")
    for year in (2022, 2023, 2024, 2025, 2026):
        jan = month_index(date(year, 1, 1))
        assert abs(np.log(level[jan, geo] / level[jan - 1, geo])) < 0.1
    jan_2024 = month_index(date(2024, 1, 1))
    assert level[jan_2024, bra] / level[jan_2024 - 1, bra] > 1.5  # the 2024 rise
    assert np.allclose(level[jan_2024 : jan_2024 + 10, bra], level[jan_2024, bra])


def test_profiles(departed):
    y2025 = departed.filter(pl.col("_year") == 2025)
    shares = dict(y2025["residence_status"].value_counts(normalize=True).iter_rows())
    assert 0.40 <= shares["irregular"] <= 0.60
    assert shares["applicant"] == pytest.approx(0.27, abs=0.06)
    assert shares["end_of_procedure"] == pytest.approx(0.27, abs=0.07)
    family = departed.select(pl.col("_family").mean()).item()
    assert 0.40 <= family <= 0.65
    ages = departed.with_columns(
        pl.when(pl.col("_age") < 18)
        .then(pl.lit("0-17"))
        .when(pl.col("_age") < 25)
        .then(pl.lit("18-24"))
        .when(pl.col("_age") < 45)
        .then(pl.lit("25-44"))
        .when(pl.col("_age") < 65)
        .then(pl.lit("45-64"))
        .otherwise(pl.lit("65+"))
        .alias("group")
    )["group"].value_counts(sort=True)
    assert ages["group"][0] == "25-44"


def test_unaccompanied_minors_are_a_handful(latest):
    uam = latest.filter((pl.col("role") == "principal") & (pl.col("_age") < 18))
    per_year = uam.group_by(pl.col("_reg").dt.year()).len()["len"]
    assert per_year.min() >= 1 and per_year.max() <= 25
    assert uam["_age"].min() >= 15
    assert uam.select(is_true("ex_unaccompanied_minor").all()).item()


def test_summer_is_slower(latest):
    by_month = latest.group_by(pl.col("_reg").dt.month().alias("m")).len()
    counts = dict(by_month.iter_rows())
    summer = (counts[7] + counts[8]) / 2
    rest = sum(v for k, v in counts.items() if k not in (7, 8)) / 10
    assert summer < 0.9 * rest
    mda = (
        latest.filter(pl.col("return_country") == "MDA")
        .group_by(pl.col("_reg").dt.month().alias("m"))
        .len()
    )
    mda_counts = dict(mda.iter_rows())
    winter = mda_counts[12] + mda_counts[1] + mda_counts[2]
    summer_mda = mda_counts[6] + mda_counts[7] + mda_counts[8]
    assert winter > 1.5 * summer_mda


# ---------------------------------------------------------------------------
# Realistic fields
# ---------------------------------------------------------------------------


def test_fields_look_like_the_programme(latest, departed):
    assert (latest["nationality"] != latest["return_country"]).mean() < 0.05
    assert (latest["nationality"] == "STA").any()
    statuses = dict(latest["dossier_status"].value_counts(normalize=True).iter_rows())
    assert statuses["departed"] == pytest.approx(SHARE_DEPARTED, abs=0.04)
    assert statuses["cancelled"] == pytest.approx(SHARE_CANCELLED, abs=0.03)
    lag = (departed["_dep"] - departed["_reg"]).dt.total_days()
    assert lag.min() >= 7 and lag.max() <= 70
    recent = latest.filter(pl.col("_reg") >= date(2026, 9, 1))
    assert (recent["dossier_status"] == "registered").mean() > 0.5
    applicants = latest.filter(pl.col("residence_status") == "applicant")
    assert set(applicants["procedure_phase"].drop_nulls()) == set(PROCEDURE_PHASES)
    refused = applicants.filter(pl.col("procedure_phase").is_in(["cgvs_refused", "rvv_refused"]))
    days = (
        refused["_reg"] - refused.select(parse_dates("decision_notified_on")).to_series()
    ).dt.total_days()
    assert 0.2 < (days <= 60).mean() < 0.8  # both sides of the 60-day rule
    partners = departed.filter(pl.col("_reint") > 0)["reintegration_partner"]
    assert partners.null_count() == 0
    assert (partners == "IOM").mean() == pytest.approx(0.7, abs=0.08)
    latin = departed.filter(
        pl.col("return_country").is_in(["BRA", "COL", "SLV"]) & (pl.col("_age") >= 18)
    )
    balkan = departed.filter(
        pl.col("return_country").is_in(["ALB", "SRB", "MKD"]) & (pl.col("_age") >= 18)
    )
    ticket = parse_money("ticket_cost_eur").mean()
    assert 700 <= latin.select(ticket).item() <= 1_200
    assert 100 <= balkan.select(ticket).item() <= 250


def test_repeat_returners(latest):
    dossiers_per_person = latest.group_by("person_id").agg(pl.col("dossier_id").n_unique())
    repeaters = dossiers_per_person.filter(pl.col("dossier_id") > 1)
    assert 20 <= repeaters.height <= 0.02 * dossiers_per_person.height
    again = latest.join(repeaters.select("person_id"), on="person_id")
    filled = again["previous_return_support_date"].is_not_null().mean()
    assert 0.1 < filled < 0.9


# ---------------------------------------------------------------------------
# Contract: rows and cross-row rules
# ---------------------------------------------------------------------------


def test_cross_row_rules_per_file(raw_rows):
    for _, frame in raw_rows.group_by("_file"):
        assert not frame.select(pl.struct("dossier_id", "person_id").is_duplicated().any()).item()
        principals = frame.group_by("dossier_id").agg((pl.col("role") == "principal").sum())
        assert (principals["role"] == 1).all()
        children = frame.filter(pl.col("role") == "child")
        assert (children["age_at_registration"].cast(pl.Int64) < 18).all()
        parents = frame.select(
            "dossier_id", pl.col("person_id").alias("annex_parent_id"), pl.lit(1).alias("_ok")
        )
        joined = children.join(parents, on=["dossier_id", "annex_parent_id"], how="left")
        assert joined["_ok"].null_count() == 0


def test_corrections_repeat_whole_dossiers(raw_rows):
    keys = raw_rows.group_by("dossier_id", "person_id").agg(
        pl.col("_file").n_unique().alias("files")
    )
    repeated = keys.filter(pl.col("files") > 1)
    assert 0.005 <= repeated.height / keys.height <= 0.03
    by_file = raw_rows.group_by("dossier_id", "_file").agg(pl.col("person_id").sort())
    persons = by_file.group_by("dossier_id").agg(pl.col("person_id").n_unique().alias("versions"))
    assert (persons["versions"] == 1).all()  # every appearance shows the same persons
    status = raw_rows.group_by("dossier_id").agg(
        pl.col("dossier_status").sort_by("_file").first().alias("first"),
        pl.col("dossier_status").sort_by("_file").last().alias("last"),
    )
    assert (
        status.filter((pl.col("first") == "registered") & (pl.col("last") == "departed")).height
        > 20
    )


def test_dialects_vary_like_real_exports(demo_dir):
    sniffed = {path.name[13:20]: sniff(path) for path in extract_paths(demo_dir)}
    assert all(sniffed[f"2019-{m:02d}"][0] == ";" for m in range(1, 13))
    later = [s for month, s in sniffed.items() if not month.startswith("2019")]
    assert sum(sep == "," for sep, _, _ in later) > len(later) / 2
    assert any(sep == ";" for sep, _, _ in later)
    assert any(bom for _, _, bom in later)
    text_2019 = (demo_dir / "reab_extract_2019-05.csv").read_bytes().decode("latin-1")
    assert re.search(r";\d+,\d{2}(;|\n)", text_2019)  # decimal comma
    assert re.search(r"\d{2}/\d{2}/2019", text_2019)
    spellings = set()
    iso_files = 0
    for path in extract_paths(demo_dir):
        frame = read_extract(path)
        spellings |= set(frame["medical_basic"].drop_nulls().str.to_lowercase())
        iso_files += frame["registration_date"].str.contains(r"^\d{4}-").any()
    assert {"true", "1", "ja", "oui", "yes"} <= spellings
    assert 40 <= iso_files < 94


# ---------------------------------------------------------------------------
# Defects, determinism, parquet
# ---------------------------------------------------------------------------


def test_defects_are_rejected_and_the_rest_validates(tmp_path):
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    write_demo_extracts(clean, seed=3, scale=0.2, defect_rate=0.0)
    write_demo_extracts(dirty, seed=3, scale=0.2, defect_rate=0.02)
    changed = unchanged = 0
    for a, b in zip(extract_paths(clean), extract_paths(dirty), strict=True):
        ca, cb = read_extract(a), read_extract(b)
        assert ca.height == cb.height
        for ra, rb in zip(ca.iter_rows(named=True), cb.iter_rows(named=True), strict=True):
            assert is_valid(ra), ra
            if ra == rb:
                unchanged += 1
            else:
                changed += 1
                assert not is_valid(rb), rb
    assert changed > 20 and unchanged > 10 * changed


def test_deterministic_per_seed(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_demo_extracts(first, seed=7, scale=0.1)
    write_demo_extracts(second, seed=7, scale=0.1)
    write_demo_extracts(other, seed=8, scale=0.1)
    names = [p.name for p in extract_paths(first)]
    assert names == [p.name for p in extract_paths(second)]
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)
    assert any((first / n).read_bytes() != (other / n).read_bytes() for n in names)


def test_fractional_scale_scales_volume(tmp_path):
    write_demo_extracts(tmp_path, seed=0, scale=0.1, defect_rate=0.0)
    rows = sum(read_extract(p).height for p in extract_paths(tmp_path))
    assert 1_800 <= rows <= 3_500


def test_parquet_is_typed_and_valid(tmp_path):
    paths = write_demo_extracts(
        tmp_path, seed=1, scale=0.05, file_format="parquet", defect_rate=0.0
    )
    assert len(paths) == 94 and all(p.suffix == ".parquet" for p in paths)
    frame = pl.concat([pl.read_parquet(p) for p in paths])
    assert tuple(frame.columns) == COLUMNS
    assert frame.schema["registration_date"] == pl.Date
    assert frame.schema["medical_basic"] == pl.Boolean
    assert frame.schema["paid_reintegration_eur"] == pl.Decimal(12, 2)
    for row in frame.iter_rows(named=True):
        ExtractRow.model_validate(row)


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError):
        write_demo_extracts(tmp_path, scale=0)
    with pytest.raises(ValueError):
        write_demo_extracts(tmp_path, file_format="xlsx")  # type: ignore[arg-type]


def _facts(**overrides):
    base = dict(
        minor=False,
        nationality="SYR",
        nat_visa_required=True,
        nat_eu15=False,
        return_country="SYR",
        ret_visa_required=True,
        ret_latin_america=False,
        ret_balkans=False,
        registration=date(2026, 2, 10),
        departure=date(2026, 3, 1),
        vulnerability_count=0,
        medical_basic=False,
        amaar=False,
        excluded=False,
        applicant=True,
        application_type="first",
        procedure_phase="dvz",
        belgium_responsible=False,
        m_status=False,
        days_since_decision=10_000,
    )
    base.update(overrides)
    for day in ("registration", "departure"):
        base[day] = day_number(base[day])
    return PersonFacts(**{k: np.array([v]) for k, v in base.items()})


@pytest.mark.parametrize(
    ("overrides", "premium", "reintegration"),
    [
        ({}, 350, 5_000),  # worked example 1: Syrian applicant in dvz, 2026 table
        ({"applicant": False, "application_type": "", "procedure_phase": ""}, 350, 3_000),
        (  # worked example 4: Brazilian adult, irregular, 2026: premium only
            {
                "nationality": "BRA",
                "nat_visa_required": False,
                "return_country": "BRA",
                "ret_visa_required": False,
                "ret_latin_america": True,
                "applicant": False,
                "registration": date(2026, 4, 1),
                "departure": date(2026, 4, 20),
            },
            50,
            0,
        ),
        (  # Mongolia restricted in 2025: premium, no reintegration
            {
                "nationality": "MNG",
                "return_country": "MNG",
                "applicant": False,
                "registration": date(2025, 3, 3),
                "departure": date(2025, 4, 1),
            },
            350,
            0,
        ),
        ({"excluded": True}, 0, 0),  # five-year rule
    ],
)
def test_paid_amount_approximation(overrides, premium, reintegration):
    paid_premium, paid_reintegration, _ = approximate_paid_amounts(_facts(**overrides))
    assert paid_premium[0] == premium * 100
    assert paid_reintegration[0] == reintegration * 100
