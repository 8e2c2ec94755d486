-- The guard of refunds (ARCHITECTURE §4.9): per payin, the sum of its refunds that are not failed.
-- A refund is held only in the same transaction that raises `committed`, under a row lock, and a
-- failed refund gives its amount back in the transaction that posts its release (core/ledger).
CREATE TABLE IF NOT EXISTS refund_guard (
    payin_id text PRIMARY KEY,
    merchant_id text NOT NULL,
    currency char(3) NOT NULL,
    payin_amount bigint NOT NULL CHECK (payin_amount > 0),
    committed bigint NOT NULL DEFAULT 0,
    CONSTRAINT refund_guard_within_payin CHECK (committed >= 0 AND committed <= payin_amount)
);
