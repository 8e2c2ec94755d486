-- Three-way reconciliation (docs/settlement.md "Three-way reconciliation"): one row per PLE and
-- UTC day, replaced by each run so the nightly job and an operator's rerun are both safe. The
-- breaks are kept as the JSON list the report shows; the counts are columns so the metric and the
-- dashboard read them without unpacking it.
CREATE TABLE IF NOT EXISTS statement_reconciliations (
    ple_id text NOT NULL REFERENCES ples (id),
    date date NOT NULL,
    generated_at timestamptz NOT NULL DEFAULT now(),
    statement_lines integer NOT NULL CHECK (statement_lines >= 0),
    statement_amount bigint NOT NULL,
    statement_fees bigint NOT NULL,
    matched integer NOT NULL CHECK (matched >= 0),
    in_progress integer NOT NULL DEFAULT 0 CHECK (in_progress >= 0),
    breaks jsonb NOT NULL DEFAULT '[]'::jsonb,
    break_count integer NOT NULL CHECK (break_count >= 0),
    critical_count integer NOT NULL CHECK (critical_count >= 0),
    PRIMARY KEY (ple_id, date)
);

CREATE INDEX IF NOT EXISTS statement_reconciliations_date_idx ON statement_reconciliations (date);
