-- Provider fee settlements (ARCHITECTURE §6, §7; docs/settlement.md): one row per PLE, UTC day and
-- currency. The unique key is what makes a settlement happen once: of two racing settlers the
-- second INSERT waits for the first to commit and then inserts nothing, so it reports "skipped".
CREATE TABLE IF NOT EXISTS settlements (
    id text PRIMARY KEY,
    ple_id text NOT NULL REFERENCES ples (id),
    date date NOT NULL,
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total bigint NOT NULL CHECK (total >= 0),
    -- NULL when the total was zero: nothing to post, but the day is recorded as settled.
    entry_id text NULL REFERENCES journal_entries (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settlements_once_per_day UNIQUE (ple_id, date, currency)
);

CREATE INDEX IF NOT EXISTS settlements_date_idx ON settlements (date, ple_id);
