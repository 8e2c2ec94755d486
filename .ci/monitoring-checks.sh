#!/usr/bin/env bash
# Offline validation of the monitoring stack (stacks/monitoring), no Docker needed:
#   - promtool: check config (scrape config, rule files), check rules,
#     test rules (unit tests: every alert fires on bad series and stays quiet on good ones)
#   - promtool check rules on every dashboard query wrapped as a recording rule (PromQL syntax)
#   - amtool check-config of alertmanager.yml rendered from its template for every client
#   - caddy validate (Debian's caddy) of the monitoring Caddyfile with placeholder env values,
#     and caddy fmt (the file is in canonical form)
#   - pytest tests/monitoring: structure of compose, Grafana, Loki, Tempo, otel-collector and
#     Alloy configs (their binaries are not packaged for Debian), metric names in dashboards
#     against docs/metrics.md, runbook anchors, a promtool test per alert
# Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
MON=stacks/monitoring
PROM="$MON/prometheus"

step() { printf '\n== %s\n' "$*"; }

# --- tools: Debian packages (the prometheus package ships promtool) ---------------------------
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
if ((${#missing[@]})); then
    step "installing ${missing[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
promtool --version 2>&1 | head -n1
amtool --version 2>&1 | head -n1
caddy version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Prometheus ------------------------------------------------------------------------------
step "promtool check config"
promtool check config "$PROM/prometheus.yml"

step "promtool check rules"
promtool check rules "$PROM"/rules/*.yml

step "promtool test rules"
(cd "$PROM" && promtool test rules tests/*.yml)

# Grafana variables become fixed values so promtool can parse every dashboard query.
step "promtool parses every dashboard query"
uv run --quiet python - "$MON/grafana/dashboards" "$work/dashboard-queries.yml" <<'PY'
import json, pathlib, re, sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
rules = []
for path in sorted(src.glob("*.json")):
    dash = json.loads(path.read_text())
    panels = []
    for p in dash.get("panels", []):
        panels += [p, *p.get("panels", [])]
    for p in panels:
        for t in p.get("targets", []):
            ds = t.get("datasource") or p.get("datasource") or {}
            if ds.get("type") != "prometheus":
                continue
            expr = re.sub(r"\$__rate_interval|\$__interval|\$__range", "5m", t["expr"])
            expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
            stem = re.sub(r"\W", "_", path.stem)
            rules.append({"record": f"dashboard:{stem}:panel_{p['id']}_{t['refId']}", "expr": expr})
out.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}, indent=1))
print(f"{len(rules)} dashboard queries")
PY
promtool check rules "$work/dashboard-queries.yml"

# --- Alertmanager ---------------------------------------------------------------------------
# The template rendered exactly as ansible's stack_deploy role does, from each client's env.
step "amtool check-config (alertmanager.yml rendered for every client)"
for client in clients/*/; do
    client=$(basename "$client")
    uv run --quiet python -c 'import sys; from tests.monitoring.helpers import render_alertmanager; print(render_alertmanager(open(sys.argv[1]).read()), end="")' \
        "clients/$client/.env.monitoring" > "$work/alertmanager-$client.yml"
    amtool check-config "$work/alertmanager-$client.yml" | sed "s|$work/||"
done

# --- Caddy -----------------------------------------------------------------------------------
step "caddy validate (monitoring Caddyfile)"
hash=$(caddy hash-password --plaintext "ci-placeholder-not-a-secret")
(
    export HOME="$work" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
    export MONITORING_DOMAIN=monitoring.example.test ACME_EMAIL=ops@example.test
    export MONITORING_BASIC_AUTH_USER=admin MONITORING_BASIC_AUTH_HASH="$hash"
    export INGEST_BASIC_AUTH_USER=ingest INGEST_BASIC_AUTH_HASH="$hash"
    caddy validate --config "$MON/caddy/Caddyfile" --adapter caddyfile 2>"$work/caddy.log" \
        || { cat "$work/caddy.log"; exit 1; }
)
caddy fmt "$MON/caddy/Caddyfile" | diff -u "$MON/caddy/Caddyfile" - \
    || { echo "Caddyfile is not in caddy fmt form"; exit 1; }

# --- structure, dashboards, docs -------------------------------------------------------------
step "pytest tests/monitoring"
uv run pytest tests/monitoring -q

step "monitoring checks passed"
