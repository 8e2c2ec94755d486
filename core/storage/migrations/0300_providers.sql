-- Provider legal entities (PLEs) and the routing of each merchant's traffic to them.
CREATE TABLE ples (
    id text PRIMARY KEY,
    provider text NOT NULL,
    name text NOT NULL,
    currency char(3) NOT NULL,
    base_url text NOT NULL,
    credentials_enc text NOT NULL,
    fee_schedule jsonb NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE merchant_routes (
    merchant_id text NOT NULL REFERENCES merchants (id),
    direction text NOT NULL CHECK (direction IN ('payin', 'payout')),
    method text NOT NULL,
    ple_id text NOT NULL REFERENCES ples (id),
    PRIMARY KEY (merchant_id, direction, method)
);
