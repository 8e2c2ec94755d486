"""The PostgreSQL schema as Piccolo `Table` classes: one class per table of the migrations.

The migrations (core/storage/migrations) own the DDL: CHECK constraints, partial indexes and the
ledger's append-only triggers are written there in SQL and are not repeated here. These classes
describe the columns so queries can be built with Piccolo's query builder and run on an explicit
handle (`Handle.run`, core/storage/postgres.py). They are bound to `DIALECT`, an engine that only
compiles: it never connects, so no table reaches a database except through a handle.

Where the SQL differs from what Piccolo can say:
- composite primary keys (accounts, postings, audit_anchors, merchant_routes): Piccolo supports one
  primary-key column per table (piccolo#820), so the first key column is marked; never use
  `save()` or `get(pk)` on these tables;
- `char(3)` currencies are `Varchar(3)` (Piccolo has no fixed-width type); every code is 3 letters;
- database defaults (`now()`, `'active'`) stay in the SQL: inserts here name their columns.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInt,
    Text,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString
from piccolo.table import Table

DIALECT = PostgresEngine(config={})  # compiles queries for PostgreSQL; never started, never connects
NOW = QueryString("now()")  # a value for insert/update: the database's clock, as the SQL defaults use


class GatewayMeta(Table, tablename="gateway_meta", db=DIALECT):
    key = Text(primary_key=True)
    value = Text()


class Merchant(Table, tablename="merchants", db=DIALECT):
    id = Text(primary_key=True)
    name = Text()
    status = Text(default="active")
    ip_whitelist = Array(base_column=Text())
    webhook_url = Text(null=True, default=None)
    webhook_secret_enc = Text(secret=True)
    fee_plans = JSONB()
    rate_limit_per_second = Integer(null=True, default=None)
    rate_limit_burst = Integer(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ApiKey(Table, tablename="api_keys", db=DIALECT):
    id = Text(primary_key=True)
    merchant_id = ForeignKey(references=Merchant)
    secret_enc = Text(secret=True)
    status = Text(default="active")
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class AdminToken(Table, tablename="admin_tokens", db=DIALECT):
    id = Text(primary_key=True)
    name = Text()
    token_hash = Text(unique=True, secret=True)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    scopes = Array(base_column=Text())
    expires_at = Timestamptz(null=True, default=None)


class AuditKey(Table, tablename="audit_keys", db=DIALECT):
    id = Text(primary_key=True)
    key_enc = Text(secret=True)
    active = Boolean(default=True)
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


class AuditAnchor(Table, tablename="audit_anchors", db=DIALECT):
    chain = Text(primary_key=True)  # the key is (chain, seq)
    seq = BigInt()
    hash = Text()
    anchored_at = Timestamptz()


class Account(Table, tablename="accounts", db=DIALECT):
    code = Text(primary_key=True)  # the key is (code, currency)
    currency = Varchar(length=3)
    balance = BigInt()
    allow_negative = Boolean()
    created_at = Timestamptz()


class JournalEntry(Table, tablename="journal_entries", db=DIALECT):
    id = Text(primary_key=True)
    idempotency_key = Text(unique=True)
    kind = Text()
    transaction_id = Text(index=True)
    merchant_id = Text(null=True, default=None)
    currency = Varchar(length=3)
    created_at = Timestamptz()
    metadata = JSONB()


class Posting(Table, tablename="postings", db=DIALECT):
    entry_id = ForeignKey(references=JournalEntry, primary_key=True)  # the key is (entry_id, seq)
    seq = SmallInt()
    account_code = Text()  # with currency: a foreign key to accounts (code, currency)
    currency = Varchar(length=3)
    amount = BigInt()


class Ple(Table, tablename="ples", db=DIALECT):
    id = Text(primary_key=True)
    provider = Text()
    name = Text()
    currency = Varchar(length=3)
    base_url = Text()
    credentials_enc = Text(secret=True)
    fee_schedule = JSONB()
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class MerchantRoute(Table, tablename="merchant_routes", db=DIALECT):
    merchant_id = ForeignKey(references=Merchant, primary_key=True)  # the key is (merchant, direction, method)
    direction = Text()
    method = Text()
    ple_id = ForeignKey(references=Ple)


class Settlement(Table, tablename="settlements", db=DIALECT):
    id = Text(primary_key=True)
    ple_id = ForeignKey(references=Ple)
    date = Date()
    currency = Varchar(length=3)
    total = BigInt()
    entry_id = ForeignKey(references=JournalEntry, null=True, default=None)
    created_at = Timestamptz()


class DashboardUser(Table, tablename="dashboard_users", db=DIALECT):
    id = Text(primary_key=True)
    email = Text(unique=True)
    password_hash = Text(secret=True)
    role = Text()
    merchant_id = ForeignKey(references=Merchant, null=True, default=None)
    disabled = Boolean(default=False)
    created_at = Timestamptz()
    team_role = Text(null=True, default=None)  # owner | admin | developer | viewer (merchant users)
    session_epoch = Integer(default=0)  # grows when every session of the user must end
    theme = Text(default="auto")  # auto | light | dark: the dashboard's colours for this user


class RefundGuard(Table, tablename="refund_guard", db=DIALECT):
    payin_id = Text(primary_key=True)
    merchant_id = Text()
    currency = Varchar(length=3)
    payin_amount = BigInt()
    committed = BigInt(default=0)


class PiccoloMigration(Table, tablename="migration", db=DIALECT):
    """Piccolo's record of applied migrations (core/storage/migrate.py writes it)."""

    name = Varchar(length=200)
    app_name = Varchar(length=200)
    ran_on = Timestamp()


TABLES: tuple[type[Table], ...] = (
    GatewayMeta,
    Merchant,
    ApiKey,
    AdminToken,
    AuditKey,
    AuditAnchor,
    Account,
    JournalEntry,
    Posting,
    Ple,
    MerchantRoute,
    Settlement,
    DashboardUser,
    RefundGuard,
)


class DashboardPasswordLink(Table, tablename="dashboard_password_links", db=DIALECT):
    token_hash = Text(primary_key=True)  # SHA-256 of the one-time token; the token is never stored
    user_id = ForeignKey(references=DashboardUser)
    purpose = Text()  # invite | reset
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class StatementReconciliation(Table, tablename="statement_reconciliations", db=DIALECT):
    # primary key (ple_id, date): Piccolo has no composite keys (piccolo#820), so never save()/get
    ple_id = ForeignKey(references=Ple, primary_key=True)
    date = Date()
    generated_at = Timestamptz()
    statement_lines = Integer()
    statement_amount = BigInt()
    statement_fees = BigInt()
    matched = Integer()
    in_progress = Integer(default=0)
    breaks = JSONB(default=[])
    break_count = Integer()
    critical_count = Integer()
