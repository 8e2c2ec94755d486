-- The audit log's keyed chain (issue 17, ARCHITECTURE §8). The HMAC keys live here, encrypted
-- under SECRETS_MASTER_KEYS like every other secret, never beside the log in MongoDB; one key is
-- active (new entries), retired keys stay to verify old entries. The anchors pin the chain's
-- head (seq, hash) outside MongoDB, per chain (the MongoDB database holding it).
CREATE TABLE audit_keys (
    id text PRIMARY KEY,
    key_enc text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE UNIQUE INDEX audit_keys_one_active ON audit_keys ((true)) WHERE active;

CREATE TABLE audit_anchors (
    chain text NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    hash text NOT NULL CHECK (length(hash) = 64),
    anchored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, seq)
);
