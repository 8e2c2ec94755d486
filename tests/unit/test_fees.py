"""Fee arithmetic: integers only, half-up rounding to the minor unit, limits enforced."""

from __future__ import annotations

import pytest

from core.fees import FeePlan, Fees, compute_fees, fee_for, plan_from_dict
from core.ledger.amounts import MAX_AMOUNT


@pytest.mark.parametrize(
    ("amount", "bps", "fixed", "expected"),
    [
        (10_000, 150, 0, 150),  # 1.5 % of 100.00 = 1.50 exactly
        (100, 150, 0, 2),  # 1.5 exactly half: rounds up
        (99, 150, 0, 1),  # 1.485 rounds down
        (101, 150, 0, 2),  # 1.515
        (50, 100, 0, 1),  # 0.5: half rounds up
        (49, 100, 0, 0),  # 0.49 rounds down
        (150, 100, 0, 2),  # 1.5 rounds up (not to even)
        (250, 100, 0, 3),  # 2.5 rounds up (not to even)
        (1, 5000, 0, 1),  # 0.5 of one minor unit
        (1, 4999, 0, 0),
        (3, 1, 0, 0),
        (5000, 1, 0, 1),  # 0.5 at one basis point
        (4999, 1, 0, 0),
        (1234, 10_000, 0, 1234),  # 100 %
        (1234, 0, 0, 0),  # zero plan
        (0, 150, 7, 7),  # zero amount still pays the fixed part
        (100, 150, 300, 302),  # percent and fixed
    ],
)
def test_fee_rounding_table(amount: int, bps: int, fixed: int, expected: int) -> None:
    assert fee_for(amount, FeePlan(bps, fixed)) == expected


@pytest.mark.parametrize("amount", [1, 99, 10_000, 123_456_789, MAX_AMOUNT])
def test_zero_percent_plans_charge_only_the_fixed_part(amount: int) -> None:
    assert fee_for(amount, FeePlan(0, 0)) == 0
    assert fee_for(amount, FeePlan(0, 2500)) == 2500


def test_fee_at_the_limit_is_exact_integer_arithmetic() -> None:
    # float arithmetic would lose the last digits at this size
    assert fee_for(MAX_AMOUNT, FeePlan(1, 0)) == MAX_AMOUNT // 10_000
    assert fee_for(MAX_AMOUNT - 1, FeePlan(33, 0)) == ((MAX_AMOUNT - 1) * 33 * 2 + 10_000) // 20_000
    assert fee_for(MAX_AMOUNT, FeePlan(10_000, 0)) == MAX_AMOUNT


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, 2**63 - 1, 2**63, 10**30])
def test_amounts_above_the_limit_are_rejected(amount: int) -> None:
    with pytest.raises(ValueError, match="maximum"):
        fee_for(amount, FeePlan(150, 0))


def test_a_fee_above_the_limit_is_rejected() -> None:
    with pytest.raises(ValueError, match="maximum"):
        fee_for(MAX_AMOUNT, FeePlan(10_000, 1))


@pytest.mark.parametrize("amount", [1.0, 100.5, True, "100", None, -1])
def test_amounts_must_be_non_negative_integers(amount: object) -> None:
    with pytest.raises(ValueError):
        fee_for(amount, FeePlan(150, 0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bps", "fixed"), [(-1, 0), (10_001, 0), (1.5, 0), (True, 0), (0, -1), (0, 1.0), (0, MAX_AMOUNT + 1)]
)
def test_invalid_plans_are_rejected(bps: object, fixed: object) -> None:
    with pytest.raises(ValueError):
        FeePlan(bps, fixed)  # type: ignore[arg-type]


def test_plan_from_dict_round_trips_and_rejects_bad_shapes() -> None:
    plan = plan_from_dict({"percent_bps": 175, "fixed": 300})
    assert plan == FeePlan(175, 300)
    assert plan_from_dict(plan.to_dict()) == plan
    for bad in [None, {}, {"percent_bps": 1}, {"percent_bps": 1, "fixed": 0, "x": 1}, [1, 2]]:
        with pytest.raises(ValueError):
            plan_from_dict(bad)
    with pytest.raises(ValueError):
        plan_from_dict({"percent_bps": "175", "fixed": 0})


def test_compute_fees_gives_both_fees_and_the_net() -> None:
    fees = compute_fees(10_000, FeePlan(200, 100), FeePlan(50, 0))
    assert fees == Fees(fee=300, provider_fee=50, net_amount=9_700)
    assert compute_fees(10_000, FeePlan(0, 0), FeePlan(0, 0)) == Fees(0, 0, 10_000)
    fixed_only = compute_fees(50, FeePlan(0, 500), FeePlan(0, 25))
    assert fixed_only == Fees(fee=500, provider_fee=25, net_amount=-450)
    with pytest.raises(ValueError):
        compute_fees(MAX_AMOUNT + 1, FeePlan(0, 0), FeePlan(0, 0))


def test_no_configured_plan_means_no_fee() -> None:
    from core.fees import FREE, compute_fees, plan_or_free

    assert plan_or_free({}) == FREE and plan_or_free(None) == FREE
    fees = compute_fees(10_000, plan_or_free({}), plan_or_free({"percent_bps": 100, "fixed": 0}))
    assert (fees.fee, fees.provider_fee) == (0, 100)
