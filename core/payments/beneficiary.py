"""Payout beneficiaries at rest: account numbers and VPAs only encrypted (ARCHITECTURE §9).

The number and the VPA are sealed with the secrets keyring (AES-256-GCM, bound to the payout id,
so a ciphertext copied onto another payout does not decrypt), and decrypted only to submit the
payout to its provider. What stays readable is a display mask (last 4 digits; a VPA's first two
characters and its handle) and a keyed hash (HMAC-SHA256 under a key derived from the primary
master key, prefixed with that key's id) so an operator can find every payout to one account
without the number being stored.
"""

from __future__ import annotations

import hashlib
import hmac

from core.payments.inputs import BeneficiaryIn
from core.payments.model import StoredBeneficiary
from core.security.crypto import Keyring

_SEARCH_KEY_LABEL = b"gateway beneficiary search v1"


def _context(payout_id: str, field: str) -> str:
    return f"payouts:{payout_id}:{field}"


def search_hash(ring: Keyring, value: str, kid: str | None = None) -> str:
    """`kid:hex` keyed hash of a normalised account number or VPA (search, never display)."""
    kid = kid or ring.primary
    key = hmac.new(ring.keys[kid], _SEARCH_KEY_LABEL, hashlib.sha256).digest()
    return f"{kid}:{hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()}"


def mask_account(number: str) -> str:
    return "X" * (len(number) - 4) + number[-4:]


def mask_vpa(vpa: str) -> str:
    name, _, handle = vpa.partition("@")
    return f"{name[:2]}***@{handle}"


def seal(ring: Keyring, payout_id: str, given: BeneficiaryIn) -> StoredBeneficiary:
    account, vpa = given.account_number, given.vpa
    return StoredBeneficiary(
        name=given.name,
        ifsc=given.ifsc,
        account_mask=mask_account(account) if account else None,
        account_enc=ring.encrypt(account, _context(payout_id, "account_number")) if account else None,
        account_hash=search_hash(ring, account) if account else None,
        vpa_mask=mask_vpa(vpa) if vpa else None,
        vpa_enc=ring.encrypt(vpa, _context(payout_id, "vpa")) if vpa else None,
        vpa_hash=search_hash(ring, vpa) if vpa else None,
    )


def unsealed(ring: Keyring, payout_id: str, stored: StoredBeneficiary) -> dict[str, str]:
    """What the provider needs to pay: name, and account_number + ifsc or vpa (never stored so)."""
    out = {"name": stored.name}
    if stored.account_enc:
        out["account_number"] = ring.decrypt(stored.account_enc, _context(payout_id, "account_number"))
    if stored.ifsc:
        out["ifsc"] = stored.ifsc
    if stored.vpa_enc:
        out["vpa"] = ring.decrypt(stored.vpa_enc, _context(payout_id, "vpa"))
    return out
