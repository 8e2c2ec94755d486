"""The kinds of transaction and their machines: the one place a new kind is registered.

Adding a kind (docs/architecture.md): its model in model.py, its view in views.py, its input in
inputs.py, a module with its `MACHINE` (and a `SUBMITTER` when money goes out through a provider),
then one line in each table below; callbacks, the effects job and the sweep then handle it.
"""

from __future__ import annotations

from typing import Any

from core.payments import payins, payouts, refunds
from core.payments.machine import Machine
from core.payments.model import Kind
from core.payments.submission import Submitter

MACHINES: dict[Kind, Machine[Any]] = {
    Kind.PAYIN: payins.MACHINE,
    Kind.PAYOUT: payouts.MACHINE,
    Kind.REFUND: refunds.MACHINE,
}
SUBMITTERS: dict[Kind, Submitter[Any]] = {
    Kind.PAYOUT: payouts.SUBMITTER,
    Kind.REFUND: refunds.SUBMITTER,
}
