"""Fee plans as form fields (percent and fixed, in the units an operator thinks in), each row
with the fee it would charge on a sample amount, so a typo shows before it bills anyone.

Fields are `fee:<direction>:<method>:percent` ("1.5" = 1.5 % = 150 bps) and
`fee:<direction>:<method>:fixed` (rupees); both empty = no fee for that method. The plans are then
checked by `core.merchants.service.update_merchant` as the admin API's are.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from core.dashboard.money import minor_units
from core.errors import ApiError
from core.fees import fee_for, plan_or_free
from core.merchants.service import DIRECTION_METHODS

SAMPLE_AMOUNT = 100_000  # ₹1,000.00: the default sample the preview charges
_PERCENT = re.compile(r"\d{1,3}(\.\d{1,2})?")


def percent_to_bps(text: str, param: str) -> int:
    cleaned = text.strip().removesuffix("%").strip()
    if not _PERCENT.fullmatch(cleaned) or Decimal(cleaned) > 100:
        raise ApiError("validation_error", f"{param}: a percentage from 0 to 100, like 1.5", param=param)
    return int(Decimal(cleaned).scaleb(2))


def plans_from_form(form: dict[str, str]) -> dict[str, dict[str, dict[str, int]]]:
    plans: dict[str, dict[str, dict[str, int]]] = {}
    for direction, methods in DIRECTION_METHODS.items():
        for method in methods:
            field = f"fee:{direction}:{method}"
            percent, fixed = form.get(f"{field}:percent", "").strip(), form.get(f"{field}:fixed", "").strip()
            if not percent and not fixed:
                continue
            bps = percent_to_bps(percent, f"{direction} {method} percent") if percent else 0
            fixed_minor = 0 if fixed in ("", "0", "0.0", "0.00") else minor_units(fixed, f"{direction} {method} fixed")
            plans.setdefault(direction, {})[method] = {"percent_bps": bps, "fixed": fixed_minor}
    return plans


def fee_rows(plans: dict[str, Any], sample: int = SAMPLE_AMOUNT) -> list[dict[str, Any]]:
    """One row per direction and method: the form's values and the fee on `sample`."""
    rows = []
    for direction, methods in DIRECTION_METHODS.items():
        for method in methods:
            stored = plans.get(direction, {}).get(method)
            plan = plan_or_free(stored)
            rows.append(
                {
                    "field": f"fee:{direction}:{method}",
                    "direction": direction,
                    "method": method,
                    "percent": f"{Decimal(plan.percent_bps).scaleb(-2):f}" if stored else "",
                    "fixed": f"{Decimal(plan.fixed).scaleb(-2):f}" if stored else "",
                    "sample_fee": fee_for(sample, plan),
                }
            )
    return rows
