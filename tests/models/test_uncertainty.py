"""Budget bands: working-parameter draws, the volume response, paired differences."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from models.budget import LINES, TemplatePricer, sample_templates
from models.uncertainty import (
    _key,
    band_rows,
    country_year_draws,
    difference,
    log_support,
    parameter_multipliers,
    ranged_parameters,
    support_by_month,
    table_draws,
)
from rules.parameters import ParameterFileError, Table, load_scenario
from tests.models.test_budget import MONTHS, T2025, T2026, georgian, syrians, templates_of

YEAR_2027 = MONTHS // 12 == 2027


def scaled(table: Table, name: str, factor: Decimal) -> Table:
    parameter = table.parameters[name]
    values = {day: value * factor for day, value in parameter.values.items()}
    changed = parameter.model_copy(update={"values": values})
    return table.model_copy(update={"parameters": {**table.parameters, name: changed}})


@pytest.fixture(scope="module")
def world():
    rows = [georgian("D1", residence_status="irregular"), georgian("D2"), *syrians()]
    templates = templates_of(rows)
    rng = np.random.default_rng(3)
    paths = rng.poisson(2.0, (200, 2, len(MONTHS)))
    sampling = sample_templates(paths, templates, rng)
    pricer = TemplatePricer(templates, MONTHS, T2026)
    return sampling, pricer


def year_totals(sampling, pricer, table):
    costs = pricer.price(table).costs[:, :, LINES.index("total")].sum(axis=1)
    return country_year_draws(sampling, costs[:, None], YEAR_2027)[:, :, 0].sum(axis=1)


@pytest.mark.parametrize("name", ["base_adult", "partner_service_fee", "priority_minor"])
def test_a_drawn_amount_costs_what_the_table_with_that_amount_costs(world, name):
    sampling, pricer = world
    factor = Decimal("1.25")
    multipliers = {
        _key(p): np.full(sampling.draws, float(factor) if p.name == name else 1.0)
        for p in ranged_parameters(T2026)
    }
    drawn = table_draws(sampling, pricer, T2026, pricer.price(T2026), YEAR_2027, multipliers)
    repriced = year_totals(sampling, pricer, scaled(T2026, name, factor))
    assert np.allclose(drawn.parameters, repriced, atol=1.0)
    assert np.array_equal(drawn.static, year_totals(sampling, pricer, T2026))
    if name != "priority_minor":  # nobody in the templates gets the priority top-up
        assert not np.allclose(drawn.parameters, drawn.static)


def test_working_values_drawn_within_their_range_and_shared_between_tables():
    scenario = load_scenario("rules/scenarios/degressive_1500.yaml")
    drawn = parameter_multipliers([T2026, scenario, T2025], 20_000, np.random.default_rng(0))
    base_2026 = T2026.parameters["base_adult"]
    m = drawn[_key(base_2026)]
    value = float(base_2026.latest)
    assert m.min() >= float(base_2026.range.low) / value
    assert m.max() <= float(base_2026.range.high) / value
    expected_mean = (float(base_2026.range.low) + value + float(base_2026.range.high)) / 3
    assert m.mean() * value == pytest.approx(expected_mean, rel=0.01)
    # 2025's base is another fact (another value and range): drawn on its own
    assert _key(T2025.parameters["base_adult"]) != _key(base_2026)
    same_in_scenario = [p for p in ranged_parameters(scenario) if p.name == "base_adult"]
    if same_in_scenario and _key(same_in_scenario[0]) == _key(base_2026):
        assert len({id(drawn[_key(p)]) for p in [base_2026, same_in_scenario[0]]}) == 1


def test_a_range_must_hold_the_working_value(tmp_path):
    text = Path("rules/scenarios/degressive_1500.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text + "\n  partner_service_fee:\n    rule: C-FEE\n    label: fee\n    unit: EUR\n"
        "    status: working\n    source: test\n    values: {2026-01-01: 500.00}\n"
        '    range: {low: 600.00, high: 900.00, why: "test"}\n'
    )
    with pytest.raises(ParameterFileError, match="does not hold the latest value"):
        load_scenario(bad)


def test_no_response_without_support_change_and_more_volume_with_more_support(world):
    sampling, pricer = world
    priced = pricer.price(T2026)
    multipliers = parameter_multipliers([T2026], sampling.draws, np.random.default_rng(1))
    elasticities = np.random.default_rng(2).normal(0.5, 0.1, sampling.draws)
    still = table_draws(
        sampling, pricer, T2026, priced, YEAR_2027, multipliers, np.zeros(2), elasticities
    )
    assert np.allclose(still.responding, still.parameters)
    more = table_draws(
        sampling, pricer, T2026, priced, YEAR_2027, multipliers, np.array([0.2, 0.0]), elasticities
    )
    georgia_only = country_year_draws(
        sampling, priced.costs[:, :, LINES.index("total")].sum(axis=1)[:, None], YEAR_2027
    )
    assert np.all(more.responding >= more.parameters - 1e-6)
    assert more.multiplier[0] > 1 and more.multiplier[1] == pytest.approx(1.0)
    assert georgia_only.shape == (sampling.draws, 2, 1)


def test_paired_difference_of_a_table_with_itself_is_zero_and_bands_are_ordered(world):
    sampling, pricer = world
    multipliers = parameter_multipliers([T2026], sampling.draws, np.random.default_rng(1))
    drawn = table_draws(sampling, pricer, T2026, pricer.price(T2026), YEAR_2027, multipliers)
    zero = difference(drawn, drawn)
    assert not zero.static.any() and not zero.parameters.any()
    for row in band_rows("2026", 2027, drawn, (80, 95)):
        assert row["lo95"] <= row["lo80"] <= row["hi80"] <= row["hi95"]
        assert row["lo95"] <= row["mean_cents"] <= row["hi95"]
    assert np.std(drawn.parameters - drawn.static) > 0  # the drawn amounts move the totals


def test_support_index_follows_the_table(world):
    _, pricer = world
    s25, s26 = support_by_month(pricer, T2025), support_by_month(pricer, T2026)
    assert s25.shape == s26.shape == (2, len(MONTHS))
    assert (s25 >= 0).all() and not np.allclose(s25, s26)
    assert np.isfinite(log_support(np.zeros(3))).all()
