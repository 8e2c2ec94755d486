-- Baseline: later migrations add the merchant, ledger and provider tables.
CREATE TABLE IF NOT EXISTS gateway_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO gateway_meta (key, value) VALUES ('schema', 'gateway') ON CONFLICT DO NOTHING;
