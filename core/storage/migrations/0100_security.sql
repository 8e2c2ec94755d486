-- Merchants, their API keys and the admin tokens. Secrets are stored only encrypted
-- (core/security/crypto.py); admin tokens only as SHA-256 hashes.
CREATE TABLE merchants (
    id text PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    ip_whitelist text[] NOT NULL DEFAULT '{}',
    webhook_url text,
    webhook_secret_enc text NOT NULL,
    fee_plans jsonb NOT NULL DEFAULT '{}',
    rate_limit_per_second integer CHECK (rate_limit_per_second > 0),
    rate_limit_burst integer CHECK (rate_limit_burst > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id text PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants (id),
    secret_enc text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id, status);

CREATE TABLE admin_tokens (
    id text PRIMARY KEY,
    name text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
