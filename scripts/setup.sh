#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: uv, the locked virtualenv, and the
# system services it tests against when they are missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet "uv==0.13.8"
fi
if ! command -v redis-server >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        apt-get install -y -qq postgresql redis-server >/dev/null
    fi
fi
# Debian's Chromium for the dashboard's browser tests (Playwright drives /usr/bin/chromium).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
# Debian's Prometheus and Alertmanager: the end-to-end alert test (tests/monitoring/test_alert_path.py)
# runs them from the repository's own configuration; promtool and amtool check it offline.
if ! command -v prometheus-alertmanager >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            prometheus prometheus-alertmanager >/dev/null
    fi
fi
# axe-core for the dashboard's accessibility checks (tests/e2e), locked in its package-lock.json
if [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then
    npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent
fi
# Bytecode compiled at install (issue 19): without it every `gateway` command and every role
# compiles its dependencies from source at each start when PYTHONDONTWRITEBYTECODE is set, as it
# is on these machines (`gateway invoke health.ready` 2.1 s instead of 1.0 s). The project's own
# packages are an editable install, so compile them too; a stale .pyc is detected and ignored.
export UV_COMPILE_BYTECODE=1
uv sync --frozen --quiet
uv run --frozen --no-sync python -m compileall -q core functions jobs bench chaos >/dev/null
