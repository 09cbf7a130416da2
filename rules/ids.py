"""The rule ids of ``docs/domain/rules-reference.md`` (the versioned copy of
``shared/domain/rules-reference.md``), in the order the reference lists them.

Every amount the rule core produces is explained by ids from this list; the
``rules`` column lists them in this order.
"""

from __future__ import annotations

RULE_IDS: tuple[str, ...] = (
    "C-EXCL-EU15",
    "C-EXCL-5Y",
    "C-EXCL-BE",
    "C-TICKET",
    "C-TRANSPORT",
    "C-MED-BASIC",
    "C-MED-AMAAR",
    "C-MED-EITHER",
    "C-FEE",
    "T25-PREMIUM-VISA",
    "T25-PREMIUM-FREE",
    "T25-PREMIUM-MDA",
    "T25-BASE",
    "T25-BASE-BRA",
    "T25-BASE-MDA",
    "T25-RESTRICT",
    "T25-VISAFREE",
    "T25-PRIORITY-SYR",
    "T25-BALKAN-ADMIN",
    "T25-VULN",
    "T25-CASH",
    "T26-CAT",
    "T26-PREMIUM",
    "T26-BASE",
    "T26-PRIORITY",
    "T26-CAT3",
    "T26-DEGR-WHO",
    "T26-DEGR-WHEN",
    "T26-DEGR-AMOUNT",
    "T26-DEGR-CHILD",
    "T26-VULN",
    "T26-NO-BALKAN",
    "T26-NO-RESTRICT",
    "T26-PAP",
    "A-2026",
    "A-TRANSITION",
    "A-BOTH",
)

# The payment timing of the cash basis (rules/parameters/payment_lags.yaml): when money
# is paid, not how much, so not among the entitlement ids (nor in their bit mask).
CASH_RULE_IDS: tuple[str, ...] = (
    "CASH-DELAY",
    "CASH-PREMIUM",
    "CASH-TICKET",
    "CASH-TRANSPORT",
    "CASH-PAP",
    "CASH-PRP",
    "CASH-AMAAR",
    "CASH-BALKAN",
    "CASH-FEE",
)

RULE_BIT: dict[str, int] = {rule: 1 << i for i, rule in enumerate(RULE_IDS)}


def rules_text(mask: int) -> str:
    """The ``;``-separated ids of a bit mask, in reference order."""
    return ";".join(rule for rule in RULE_IDS if mask & RULE_BIT[rule])
