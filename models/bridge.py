"""The bridge from this year's projected cost to next year's forecast.

    next − this = volume + mix + price

- **volume**: the change in the number of dossiers at this year's cost per dossier,
  (N₁ − N₀) × C₀ / N₀;
- **mix**: who comes (countries, household sizes, vulnerabilities), priced under
  this year's table: next year's dossiers under this year's table minus N₁ × C₀ / N₀;
- **price**: the table: next year's dossiers under next year's table minus the same
  dossiers under this year's table.

The three add up to the difference to the cent (the mix takes the rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

# Fewer dossiers than this (a mean over draws can be a tiny fraction) count as none.
NO_DOSSIERS = 1e-6


@dataclass(frozen=True)
class YearCost:
    """A year's cost (cents) and dossiers."""

    cents: int
    dossiers: float

    @property
    def per_dossier(self) -> float:
        return self.cents / self.dossiers if self.dossiers else 0.0


@dataclass(frozen=True)
class Bridge:
    this_year: YearCost
    next_year: YearCost
    next_at_this_table_cents: int
    volume_cents: int
    mix_cents: int
    price_cents: int

    def steps(self) -> list[tuple[str, int]]:
        return [
            ("this year (projected)", self.this_year.cents),
            ("volume", self.volume_cents),
            ("mix", self.mix_cents),
            ("price (table)", self.price_cents),
            ("next year (forecast)", self.next_year.cents),
        ]


def bridge(this_year: YearCost, next_year: YearCost, next_at_this_table_cents: int) -> Bridge:
    """Decompose ``next_year.cents − this_year.cents``; ``next_at_this_table_cents``:
    next year's dossiers priced under this year's table."""
    if this_year.dossiers < 0 or next_year.dossiers < 0:
        raise ValueError("dossier counts cannot be negative")
    if this_year.dossiers < NO_DOSSIERS:  # nothing to scale: everything next year is volume
        volume = next_at_this_table_cents
    else:
        volume = round((next_year.dossiers - this_year.dossiers) * this_year.per_dossier)
    mix = next_at_this_table_cents - this_year.cents - volume
    price = next_year.cents - next_at_this_table_cents
    return Bridge(this_year, next_year, next_at_this_table_cents, volume, mix, price)
