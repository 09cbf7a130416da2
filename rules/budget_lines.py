"""The budget lines of an entitlement (shared vocabulary of the engine, the reference,
the warehouse tables and the reports)."""

from __future__ import annotations

# Every amount column of an entitlement, in output order.
AMOUNT_COLUMNS: tuple[str, ...] = (
    "transport_allowance",
    "return_premium",
    "reintegration_base",
    "priority_topup",
    "degressive_topup",
    "vulnerability_topup",
    "medical_topup",
    "amaar",
    "balkan_admin_support",
    "partner_service_fee",
    "pap_cash",
    "prp_in_kind",
    "total",
)
# Reintegration support: base and top-ups (not AMAAR, not Balkan support); split into
# pap_cash + prp_in_kind.
REINTEGRATION_LINES: tuple[str, ...] = (
    "reintegration_base",
    "priority_topup",
    "degressive_topup",
    "vulnerability_topup",
    "medical_topup",
)
# The lines that add up to ``total`` (the ticket is an actual cost, not in it).
TOTAL_LINES: tuple[str, ...] = tuple(
    line for line in AMOUNT_COLUMNS if line not in ("pap_cash", "prp_in_kind", "total")
)
