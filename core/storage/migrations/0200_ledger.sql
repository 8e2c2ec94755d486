-- The double-entry ledger (ARCHITECTURE §6, docs/ledger.md).
-- An account is one code in one currency: `merchant:{id}:available` exists once per currency the
-- merchant holds, so the key is (code, currency). Balances are credits minus debits, in integer
-- minor units; a posting's amount is signed (credit > 0, debit < 0).

CREATE TABLE IF NOT EXISTS accounts (
    code text NOT NULL,
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance bigint NOT NULL DEFAULT 0,
    allow_negative boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, currency),
    -- The last safety net: the posting code refuses first (InsufficientFunds).
    CONSTRAINT accounts_balance_not_negative CHECK (allow_negative OR balance >= 0),
    CONSTRAINT accounts_merchant_never_negative CHECK (code NOT LIKE 'merchant:%' OR NOT allow_negative)
);

CREATE TABLE IF NOT EXISTS journal_entries (
    id text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    kind text NOT NULL,
    transaction_id text NOT NULL,
    merchant_id text NULL,
    currency char(3) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX IF NOT EXISTS journal_entries_transaction_idx ON journal_entries (transaction_id);
CREATE INDEX IF NOT EXISTS journal_entries_merchant_idx ON journal_entries (merchant_id, id)
    WHERE merchant_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS postings (
    entry_id text NOT NULL REFERENCES journal_entries (id),
    seq smallint NOT NULL,
    account_code text NOT NULL,
    currency char(3) NOT NULL,
    amount bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_id, seq),
    FOREIGN KEY (account_code, currency) REFERENCES accounts (code, currency)
);

-- Statements: the postings of an account, newest entry first (entry ids sort by creation time).
CREATE INDEX IF NOT EXISTS postings_account_entry_idx ON postings (account_code, entry_id);

-- Entries and postings are immutable: corrections are new entries.
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS journal_entries_append_only ON journal_entries;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS postings_append_only ON postings;
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Accounts are never deleted (their postings reference them); only the cached balance changes.
DROP TRIGGER IF EXISTS accounts_no_delete ON accounts;
CREATE TRIGGER accounts_no_delete BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
