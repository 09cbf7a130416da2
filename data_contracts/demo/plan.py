"""The volume plan of the demo extracts: which country, how many, when.

Everything here is deterministic and small (94 months x ~130 countries). The plan
starts from yearly *departed persons* per return country (``MAIN_PLAN``, the long
``TAIL`` and the rare EU nationals), calibrated by hand to ``public-facts.md``, and
turns it into expected *registering dossiers* per month and country:

1. a monthly shape per country (seasonality, the 2020 pandemic dip, policy events
   that fall inside a year: Moldova's premium end, Brazil's rush before 2025-12-01);
2. an exact expectation of when registrations turn into departures (weekday
   registrations, a 1-10 week departure lag, 73% departing, the last weeks before
   ``AS_OF`` still ``registered``), so that a proportional fitting (IPF) finds the
   registration levels that make the *departure-year* counts meet the plan (a
   country's level moves smoothly from one year's middle to the next, except at an
   event of its own: ``STEPPED_COUNTRIES``);
3. surges (``Surge``) multiply the fitted registrations from a month on;
4. expected dossiers are turned into whole numbers with a cumulative floor and a
   seeded phase per country, so small countries appear at the right yearly rate
   and large ones carry almost no sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

FIRST_YEAR = 2019
LAST_YEAR = 2026
LAST_MONTH = 10  # the data ends with the October 2026 extract
N_MONTHS = (LAST_YEAR - FIRST_YEAR) * 12 + LAST_MONTH  # 94
YEARS = tuple(range(FIRST_YEAR, LAST_YEAR + 1))
AS_OF = date(2026, 10, 31)
# A departure is recorded as ``departed`` only once it is three weeks old at AS_OF;
# later (planned) departures keep the dossier ``registered``.
REPORT_DELAY_DAYS = 21
LAG_MIN, LAG_MODE, LAG_MAX = 7, 21, 71  # departure lag in days: triangular, floor -> 7..70
# About a quarter of registrations never leave: cancelled (17%) or no-show (10%).
SHARE_DEPARTED, SHARE_CANCELLED = 0.73, 0.17  # the rest is no_show

EPOCH = np.datetime64("1970-01-01", "D")


def month_start(m: int) -> date:
    return date(FIRST_YEAR + m // 12, m % 12 + 1, 1)


def month_label(m: int) -> str:
    return f"{FIRST_YEAR + m // 12}-{m % 12 + 1:02d}"


def month_index(day: date) -> int:
    return (day.year - FIRST_YEAR) * 12 + day.month - 1


def day_number(day: date) -> int:
    return int((np.datetime64(day, "D") - EPOCH).astype(np.int64))


def weekdays_of_month(m: int) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of the Monday-Friday days of month ``m``."""
    start = np.datetime64(month_start(m), "D")
    days = np.arange(start, np.datetime64(month_start(m + 1), "D")).astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
    return days[weekday < 5]


# ---------------------------------------------------------------------------
# Country plan
# ---------------------------------------------------------------------------
# Yearly departed persons per return country, 2019..2025 and 2026 (January-October).
# Residence mix (res), family mix (fam) and ticket region (reg) name profiles below.
# The top five per year follow public-facts.md; the published counts are kept where
# given (2021 BRA 239/UKR 235/SLV 222 are spread a little so that the published
# order survives sampling noise at scale 1).
MAIN_PLAN = """
iso3 res fam    reg      2019 2020 2021 2022 2023 2024 2025 2026
BRA  L1  mixed  latam     245  115  258  430  600  965  945  330
GEO  EE  family caucasus  265  105   90  140  175  230  125  100
COL  L2  mixed  latam     200  165   80   70   90   90  165  200
PER  L1  mixed  latam     160   60   35   50   60   55   80   90
SLV  L2  mixed  latam     148  200  206  175  190  130   90  100
VEN  L2  mixed  latam     125   80   50   60   70   65   85  110
RUS  EE  family caucasus  112   50   40   75   70   45   45   45
AFG  AS  family asia      100   70   40   60   70   60   60   65
UKR  EE  family europe     80   70  232  240  100   80   65   50
MDA  EE  family europe     70   60  120  200  340  340  295  120
MNG  EE  family asia       70   90  166  270  250  175   40  110
BLR  EE  family europe     30  140   45   50   40   30   25   45
TUR  AS  mixed  caucasus   50   40   40   70   80  200  155  130
SYR  AS  family mena        5    3    3    4    5    6  219  300
ALB  EE  family balkans    60   50   30   50   50   50   50   45
ARM  EE  family caucasus   60   40   40   60   60   55   50   45
PAK  AS  single asia       25   20   20   25   30   25   12   32
JOR  AS  single mena        5    5    5    6    8   10    4   12
SRB  EE  family balkans    30   25   20   30   30   30   22   30
MKD  EE  family balkans    30   25   20   25   25   25   20   25
XKX  EE  family balkans    25   20   15   20   20   20   16   20
BIH  EE  family balkans    10   10    8   10   10   10   10   10
MNE  EE  family balkans     5    4    4    5    5    5    5    5
IRQ  AS  family mena       50   30   30   50   50   40   40   38
IRN  AS  single mena       25   20   15   25   25   25   20   25
ECU  L1  mixed  latam      30   20   20   30   35   30   40   40
BOL  L1  mixed  latam      20   10   15   20   25   22   28   28
HND  L2  mixed  latam      15   15   15   25   25   20   22   25
NIC  L2  mixed  latam      10   10   10   20   20   18   20   22
AZE  EE  family caucasus   15   10   10   15   15   15   12   15
ROU  EU  single europe      6    5    5    6    6    6    6    5
BGR  EU  single europe      5    4    4    5    5    5    5    4
PRT  EU  single europe      2    1    1    2    1    2    1    1
ESP  EU  single europe      1    1    1    1    1    1    1    1
ITA  EU  single europe      1    0    1    1    1    1    1    1
GRC  EU  single europe      1    0    0    1    0    1    0    1
"""

# The long tail: return country, ticket region, weight. It shares whatever the
# main plan leaves of each year's published total (2026: the planned Jan-Oct total).
TAIL = """
NGA africa 3  GIN africa 3  CMR africa 3  COD africa 3  SEN africa 2  MAR mena 4
DZA mena 3  TUN mena 2  EGY mena 2  ERI africa 2  ETH africa 2  SOM africa 2
SDN africa 1  GHA africa 2  CIV africa 2  MLI africa 1  BFA africa 1  NER africa 1
TGO africa 1  BEN africa 1  AGO africa 1  RWA africa 1  UGA africa 1  KEN africa 1
MRT africa 1  GMB africa 1  COG africa 1  CPV africa 1  ZAF africa 1  LBN mena 2
PSE mena 2  YEM mena 1  LBY mena 1  ISR mena 1  IND asia 3  BGD asia 1
LKA asia 1  CHN asia 2  VNM asia 2  PHL asia 2  IDN asia 1  THA asia 1
KAZ asia 2  UZB asia 2  KGZ asia 1  TJK asia 1  MYS asia 1  NPL asia 2
POL europe 1  LTU europe 1  MEX latam 2  ARG latam 1  CHL latam 2  URY latam 1
PRY latam 2  CRI latam 1  PAN latam 1  GTM latam 2  DOM latam 2  CUB latam 2
"""

# Published departed persons per year (2026: plausible January-October figure).
YEAR_TOTALS = (2426, 1847, 1965, 2673, 2952, 3267, 3122, 2480)

# Residence-status mixes: applicant, end_of_procedure, irregular, other.
RESIDENCE_MIXES = {
    "L1": (0.06, 0.06, 0.86, 0.02),  # Brazil-like: hardly ever applies for protection
    "L2": (0.34, 0.28, 0.36, 0.02),  # Latin America with many asylum applications
    "AS": (0.50, 0.38, 0.09, 0.03),  # asylum countries
    "EE": (0.32, 0.37, 0.28, 0.03),  # Eastern Europe, Caucasus, Balkans, Mongolia
    "TL": (0.30, 0.37, 0.30, 0.03),  # the long tail
    "EU": (0.00, 0.00, 0.25, 0.75),  # EU nationals: free movement, mostly "other"
}
# A per-registration-year tilt on the irregular weight (public-facts profiles).
IRREGULAR_TILT = {2019: 1.3, 2020: 1.3, 2021: 1.3, 2022: 1.4, 2023: 1.6, 2024: 1.2, 2025: 1.0}

# Dossier types: single adult, unaccompanied minor, couple, two-parent family,
# single-parent family, principal with other adult(s).
DOSSIER_TYPES = ("single", "uam", "couple", "family2", "family1", "with_adults")
FAMILY_MIXES = {
    "single": (0.69, 0.005, 0.08, 0.11, 0.065, 0.05),
    "mixed": (0.625, 0.005, 0.08, 0.165, 0.08, 0.045),
    "family": (0.515, 0.004, 0.08, 0.26, 0.096, 0.045),
}
CHILDREN_PMF = (0.30, 0.33, 0.20, 0.11, 0.06)  # 1..5 children in a family dossier
FAMILY2_GRANDPARENT = 0.08  # a two-parent family with an other_adult as well
OTHER_ADULTS_PMF = (0.8, 0.2)  # 1 or 2 other adults in a with_adults dossier

TICKET_EUR = {
    "balkans": 150,
    "europe": 230,
    "caucasus": 330,
    "mena": 420,
    "africa": 720,
    "asia": 760,
    "latam": 950,
}

# Share of entitled dossiers that take up reintegration support, by registration year
# (tuned so that the share of departed persons with reintegration follows the table).
REINTEGRATION_UPTAKE = {
    2019: 0.56,
    2020: 0.72,
    2021: 0.86,
    2022: 0.93,
    2023: 0.82,
    2024: 0.88,
    2025: 0.92,
    2026: 0.95,
}

# Seasonal registration profiles (January..December, normalised to mean 1).
SEASON_DEFAULT = np.array([1.10, 1.08, 1.08, 1.02, 1.00, 0.90, 0.76, 0.74, 0.98, 1.10, 1.12, 1.04])
SEASON_WINTER = np.array([1.55, 1.40, 1.20, 0.90, 0.75, 0.62, 0.55, 0.55, 0.75, 1.00, 1.25, 1.45])
WINTER_COUNTRIES = ("MDA",)


@dataclass(frozen=True)
class Surge:
    """Multiply the registrations of one return country from ``start``'s month on.

    Used to plant a misuse pattern that monitoring should detect.
    """

    country: str
    start: date
    factor: float


# Built-in surge: after the 2025 restriction is lifted on 2026-01-01, Mongolian
# registrations jump to about 2.5 times their level from May 2026 - a plausible
# misuse pattern (T26-NO-RESTRICT: lifted countries are monitored) that the
# monitoring dashboards must raise as an alarm.
DEFAULT_SURGES: tuple[Surge, ...] = (Surge("MNG", date(2026, 5, 1), 2.5),)


@dataclass(frozen=True)
class Plan:
    iso3: tuple[str, ...]
    residence: tuple[str, ...]
    family: tuple[str, ...]
    region: tuple[str, ...]
    targets: np.ndarray  # (countries, years) departed persons
    persons: np.ndarray  # (months, countries) expected registering persons, scale 1
    mean_size: np.ndarray  # (countries,) expected persons per dossier

    def index(self, iso3: str) -> int:
        try:
            return self.iso3.index(iso3)
        except ValueError:
            raise ValueError(f"{iso3!r} is not a return country of the demo plan") from None


def mean_dossier_size(mix: tuple[float, ...]) -> float:
    kids = float(np.dot(np.arange(1, 6), CHILDREN_PMF))
    others = float(np.dot((1, 2), OTHER_ADULTS_PMF))
    sizes = (1.0, 1.0, 2.0, 2.0 + kids + FAMILY2_GRANDPARENT, 1.0 + kids, 1.0 + others)
    return float(np.dot(mix, sizes))


def _parse_plan():
    iso3, res, fam, reg, rows = [], [], [], [], []
    for line in MAIN_PLAN.strip().splitlines()[1:]:
        code, r, f, g, *values = line.split()
        iso3.append(code)
        res.append(r)
        fam.append(f)
        reg.append(g)
        rows.append([float(v) for v in values])
    main = np.array(rows)
    tail_items = TAIL.split()
    tail = [
        (tail_items[i], tail_items[i + 1], float(tail_items[i + 2]))
        for i in range(0, len(tail_items), 3)
    ]
    weights = np.array([w for _, _, w in tail])
    remainder = np.array(YEAR_TOTALS, dtype=float) - main.sum(axis=0)
    if (remainder <= 0).any():
        raise ValueError("the main plan exceeds a yearly total")
    tail_rows = np.outer(weights / weights.sum(), remainder)
    for code, g, _ in tail:
        iso3.append(code)
        res.append("TL")
        fam.append("single")
        reg.append(g)
    return tuple(iso3), tuple(res), tuple(fam), tuple(reg), np.vstack([main, tail_rows])


def _lag_pmf() -> tuple[np.ndarray, np.ndarray]:
    """P(lag = k days) for the triangular lag floored to whole days."""
    a, c, b = LAG_MIN, LAG_MODE, LAG_MAX

    def cdf(x):
        x = np.clip(x, a, b)
        return np.where(
            x <= c, (x - a) ** 2 / ((b - a) * (c - a)), 1 - (b - x) ** 2 / ((b - a) * (b - c))
        )

    k = np.arange(a, b)
    return k, cdf(k + 1.0) - cdf(k.astype(float))


def departure_kernel() -> np.ndarray:
    """K[m, y]: expected share of persons registered in month m departed in year y."""
    lags, pmf = _lag_pmf()
    cutoff = day_number(AS_OF) - REPORT_DELAY_DAYS
    year_starts = np.array([day_number(date(y, 1, 1)) for y in (*YEARS, LAST_YEAR + 1)])
    kernel = np.zeros((N_MONTHS, len(YEARS)))
    for m in range(N_MONTHS):
        dep = weekdays_of_month(m)[:, None] + lags[None, :]
        weight = np.broadcast_to(pmf, dep.shape) / dep.shape[0]
        ok = dep <= cutoff
        year = np.searchsorted(year_starts, dep, side="right") - 1
        for y in range(len(YEARS)):
            kernel[m, y] = weight[ok & (year == y)].sum()
    return kernel * SHARE_DEPARTED


# Countries whose volume steps at an event of their own (a restriction, the end of a
# support line, the fall of the Syrian regime): their level is the calendar year's.
# Every other country's level moves smoothly between years (see ``_level_weights``).
STEPPED_COUNTRIES = ("BLR", "JOR", "MNG", "PAK", "BRA", "MDA", "SYR")


def _level_weights(iso3: tuple[str, ...], segment: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """W[m, c, y]: the weight of year y's level in month m's level for country c.

    A yearly level is the country's level in the middle of that year; between two
    middles it moves linearly and it stays flat before the first and after the last
    (a country's volume drifts: stepping it at every New Year made every January a
    jump of up to 50 %, which no real series shows). Stepped countries take the level
    of their calibration segment, and so do countries without departures in some year
    (a level moving towards zero would put registrations where the plan has none)."""
    n_years = len(YEARS)
    centre = np.arange(N_MONTHS) + 0.5
    middles = np.arange(n_years) * 12 + 6.0
    position = np.clip(centre, middles[0], middles[-1])
    upper = np.clip(np.searchsorted(middles, position, side="right"), 1, n_years - 1)
    share = (position - middles[upper - 1]) / 12.0
    smooth = np.zeros((N_MONTHS, n_years))
    smooth[np.arange(N_MONTHS), upper - 1] = 1.0 - share
    smooth[np.arange(N_MONTHS), upper] += share
    weights = np.repeat(smooth[:, None, :], len(iso3), axis=1)
    stepped = np.isin(iso3, STEPPED_COUNTRIES) | (targets == 0).any(axis=1)
    for c in np.flatnonzero(stepped):
        weights[:, c, :] = np.eye(n_years)[segment[:, c]]
    return weights


def _shapes(iso3: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Monthly shape (season x events) and the calibration segment of every cell."""
    months = np.arange(N_MONTHS)
    moy = months % 12
    year_idx = months // 12
    shape = np.tile(SEASON_DEFAULT[moy][:, None], (1, len(iso3)))
    segment = np.tile(year_idx[:, None], (1, len(iso3)))
    for code in WINTER_COUNTRIES:
        shape[:, iso3.index(code)] = SEASON_WINTER[moy]
    # 2020: the pandemic grounds flights in spring.
    for mm, f in (("2020-03", 0.6), ("2020-04", 0.25), ("2020-05", 0.4), ("2020-06", 0.75)):
        shape[_m(mm), :] *= f
    # Moldova: premium and reintegration end for registrations from 2025-06-01.
    mda = iso3.index("MDA")
    shape[_m("2025-06") : _m("2026-01"), mda] *= 0.35
    # Brazil: a rush before reintegration ends (2025-12-01); December already falls
    # at the lower 2026 level.
    bra = iso3.index("BRA")
    shape[_m("2025-11"), bra] *= 1.3
    segment[_m("2025-12"), bra] = YEARS.index(2026)
    # Syria: returns jump after the fall of the regime in December 2024.
    syr = iso3.index("SYR")
    segment[_m("2024-12"), syr] = YEARS.index(2025)
    shape[_m("2024-12"), syr] *= 0.5  # from the second half of December
    return shape, segment


def _m(label: str) -> int:
    year, month = label.split("-")
    return (int(year) - FIRST_YEAR) * 12 + int(month) - 1


CALIBRATION_ROUNDS = 200


@cache
def plan() -> Plan:
    iso3, res, fam, reg, targets = _parse_plan()
    kernel = departure_kernel()
    shape, segment = _shapes(iso3)
    weights = _level_weights(iso3, segment, targets)
    level = targets / 12.0 / SHARE_DEPARTED
    for _ in range(CALIBRATION_ROUNDS):
        persons = np.einsum("mcy,cy->mc", weights, level) * shape
        expected = persons.T @ kernel  # (countries, years)
        ratio = np.divide(targets, expected, out=np.ones_like(targets), where=expected > 0)
        level *= ratio
    persons = np.einsum("mcy,cy->mc", weights, level) * shape
    mean_size = np.array([mean_dossier_size(FAMILY_MIXES[f]) for f in fam])
    return Plan(iso3, res, fam, reg, targets, persons, mean_size)


def dossier_counts(scale: float, surges, phase: np.ndarray) -> np.ndarray:
    """Whole registering dossiers per (month, country) for ``scale`` and ``surges``."""
    p = plan()
    expected = p.persons * scale / p.mean_size[None, :]
    for surge in surges:
        if surge.factor < 0:
            raise ValueError("a surge factor cannot be negative")
        c = p.index(surge.country)
        first = max(month_index(surge.start), 0)
        expected[first:, c] *= surge.factor
    cumulative = np.floor(np.cumsum(expected, axis=0) + phase[None, :])
    counts = np.diff(cumulative, axis=0, prepend=np.floor(phase)[None, :])
    return counts.astype(np.int64)
