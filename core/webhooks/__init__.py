"""Merchant webhooks (ARCHITECTURE §4.7): signing, delivery attempts, the delivery log.

- `signing`: `sign_webhook` / `verify_webhook`, the one definition of the signature.
- `delivery`: one attempt of one delivery (claim the slot, send, record, schedule the next)
  and the sweep that repairs crashes. Used by jobs/deliver_webhook.py and
  jobs/sweep_webhook_deliveries.py.
- `service`: what the merchant API shows (events, deliveries) and the manual retry.
"""
