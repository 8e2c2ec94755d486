#!/usr/bin/env bash
# Restore drill: dump the PostgreSQL database named by $DATABASE_URL (pg_dump, custom format),
# restore it into a fresh database created for the drill, check that every table has the same
# row count, run `gateway ledger verify --json` against the restored copy, and drop the copy.
# Exits non-zero when any step fails or the ledger is not ok.
#
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gateway scripts/restore-drill.sh
#   scripts/restore-drill.sh --skip-verify     # dump/restore/compare only (no gateway CLI)
#
# GATEWAY (default: the project's .venv/bin/gateway, else `gateway` on PATH) runs the CLI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
skip_verify=false
[ "${1:-}" = "--skip-verify" ] && skip_verify=true
: "${DATABASE_URL:?DATABASE_URL must name the database to drill}"
if [ -z "${GATEWAY:-}" ]; then
  if [ -x "$ROOT/.venv/bin/gateway" ]; then GATEWAY="$ROOT/.venv/bin/gateway"; else GATEWAY=gateway; fi
fi

drill="restore_drill_$(date -u +%Y%m%d%H%M%S)_$$"
# Same server and credentials, other database name (query parameters such as sslmode kept).
url_for() {
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DATABASE_URL" "$1"
}
ADMIN_URL="$(url_for postgres)"
DRILL_URL="$(url_for "$drill")"
work="$(mktemp -d)"
dump="$work/drill.dump"

cleanup() {
  psql -q -X -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$drill\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf 'restore-drill: %s\n' "$*" >&2; }

log "dumping $(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).path.lstrip("/"))' "$DATABASE_URL")"
start=$(date +%s)
pg_dump --format=custom --no-owner --file="$dump" --dbname="$DATABASE_URL"
pg_restore --list "$dump" >/dev/null
log "dump: $(du -h "$dump" | cut -f1)"

log "restoring into $drill"
psql -q -X -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "CREATE DATABASE \"$drill\"" >/dev/null
pg_restore --no-owner --exit-on-error --dbname="$DRILL_URL" "$dump"

# Row counts of every user table, source vs restored copy.
count_rows() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I;', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
\gexec
SQL
}
count_rows "$DATABASE_URL" | sort > "$work/source.counts"
count_rows "$DRILL_URL" | sort > "$work/restored.counts"
if ! diff -u "$work/source.counts" "$work/restored.counts" >&2; then
  log "FAILED: row counts differ between the source and the restored copy"
  exit 1
fi
log "row counts match in $(wc -l < "$work/source.counts") tables"

if [ "$skip_verify" = true ]; then
  log "ok (ledger verification skipped) in $(( $(date +%s) - start )) s"
  exit 0
fi

log "gateway ledger verify --json on the restored copy"
set +e
verdict="$(DATABASE_URL="$DRILL_URL" "$GATEWAY" ledger verify --json)"
status=$?
set -e
printf '%s\n' "$verdict"
if [ "$status" -ne 0 ] || ! python3 -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1]).get("ok") is True else 1)' "$verdict"; then
  log "FAILED: ledger verification on the restored copy (exit $status)"
  exit 1
fi
log "ok in $(( $(date +%s) - start )) s"
