"""Payout beneficiaries: mode and beneficiary must agree; account numbers leave masked.

Limits per mode (minor units, INR): IMPS ₹1 to ₹5,00,000; NEFT ₹1 to ₹1,00,00,000 (the
gateway's cap); RTGS ₹2,00,000 to ₹1,00,00,000 (RTGS is for large values only); UPI ₹1 to ₹1,00,000.
"""

from __future__ import annotations

import re
from typing import Any

from core.payments.validation import bad, check_text

LIMITS = {
    "imps": (100, 5_00_000_00),
    "neft": (100, 1_00_00_000_00),
    "rtgs": (2_00_000_00, 1_00_00_000_00),
    "upi": (100, 1_00_000_00),
}
_IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
_ACCOUNT = re.compile(r"^[0-9]{6,18}$")
_VPA = re.compile(r"^[A-Za-z0-9._\-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$")


def check(mode: str, beneficiary: dict[str, Any]) -> dict[str, str]:
    if mode not in LIMITS:
        raise bad("mode", f"mode must be one of {', '.join(LIMITS)}")
    name = check_text(str(beneficiary.get("name") or ""), "beneficiary.name", 100)
    if mode == "upi":
        vpa = beneficiary.get("vpa")
        if not vpa:
            raise bad("beneficiary.vpa", "upi payouts need beneficiary.vpa")
        if beneficiary.get("account_number") or beneficiary.get("ifsc"):
            raise bad("beneficiary.account_number", "upi payouts take a vpa, not a bank account")
        if not _VPA.match(vpa):
            raise bad("beneficiary.vpa", "vpa must look like name@bank")
        return {"name": name, "vpa": vpa}
    if beneficiary.get("vpa"):
        raise bad("beneficiary.vpa", f"{mode} payouts take account_number and ifsc, not a vpa")
    account, ifsc = beneficiary.get("account_number"), beneficiary.get("ifsc")
    if not account:
        raise bad("beneficiary.account_number", f"{mode} payouts need beneficiary.account_number")
    if not _ACCOUNT.match(account):
        raise bad("beneficiary.account_number", "account_number must be 6-18 digits")
    if not ifsc:
        raise bad("beneficiary.ifsc", f"{mode} payouts need beneficiary.ifsc")
    if not _IFSC.match(ifsc):
        raise bad("beneficiary.ifsc", "ifsc must be 4 letters, a 0, then 6 letters or digits (e.g. HDFC0001234)")
    return {"name": name, "account_number": account, "ifsc": ifsc}


def masked(beneficiary: dict[str, Any]) -> dict[str, Any]:
    out = dict(beneficiary)
    if out.get("account_number"):
        out["account_number"] = "X" * (len(out["account_number"]) - 4) + out["account_number"][-4:]
    return out
