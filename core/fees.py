"""Fees: merchant fee plans and provider fee schedules (ARCHITECTURE §6).

A plan is `percent_bps` (hundredths of a percent, 0..10000) plus `fixed` minor units, stored as a
dict {"percent_bps", "fixed"} per direction and method (merchants) or per PLE (providers). All
arithmetic is on integers: fee = round_half_up(amount * percent_bps / 10000) + fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.ledger.amounts import MAX_AMOUNT, check_amount

BPS_DENOMINATOR = 10_000


@dataclass(frozen=True)
class FeePlan:
    percent_bps: int
    fixed: int

    def __post_init__(self) -> None:
        bps = self.percent_bps
        if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= BPS_DENOMINATOR:
            raise ValueError(f"percent_bps must be an integer from 0 to {BPS_DENOMINATOR}")
        check_amount(self.fixed, "fixed")

    def to_dict(self) -> dict[str, int]:
        return {"percent_bps": self.percent_bps, "fixed": self.fixed}


ZERO_PLAN = FeePlan(0, 0)


@dataclass(frozen=True)
class Fees:
    fee: int  # the merchant's fee: kept from a payin, added on top of a payout
    provider_fee: int  # what the PLE charges the platform for the transaction
    net_amount: int  # amount - fee: what a payin credits the merchant (negative when fee > amount)


def plan_from_dict(data: Any) -> FeePlan:
    """A FeePlan from its stored shape {"percent_bps": int, "fixed": int}; ValueError otherwise."""
    if not isinstance(data, dict) or set(data) != {"percent_bps", "fixed"}:
        raise ValueError('a fee plan is {"percent_bps": int, "fixed": int}')
    return FeePlan(percent_bps=data["percent_bps"], fixed=data["fixed"])


def fee_for(amount: int, plan: FeePlan) -> int:
    """amount * percent_bps / 10000 rounded half up to the minor unit, plus the fixed part.

    ValueError for a non-integer, negative or above-MAX_AMOUNT amount, or a fee above MAX_AMOUNT.
    """
    check_amount(amount, "amount")
    proportional = (amount * plan.percent_bps * 2 + BPS_DENOMINATOR) // (2 * BPS_DENOMINATOR)
    fee = proportional + plan.fixed
    if fee > MAX_AMOUNT:
        raise ValueError(f"fee exceeds the maximum of {MAX_AMOUNT} minor units")
    return fee


def compute_fees(amount: int, merchant_plan: FeePlan, provider_plan: FeePlan) -> Fees:
    """Both fees of one transaction: the merchant's (its plan for the direction and method) and
    the provider's (the PLE's schedule). A payin whose net_amount is negative must be refused."""
    fee = fee_for(amount, merchant_plan)
    provider_fee = fee_for(amount, provider_plan)
    return Fees(fee=fee, provider_fee=provider_fee, net_amount=amount - fee)


FREE = FeePlan(percent_bps=0, fixed=0)


def plan_or_free(data: Any) -> FeePlan:
    """A stored plan, or no fee when none is configured for that direction and method."""
    return plan_from_dict(data) if data else FREE
