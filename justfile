# The project's commands; `just --list` shows them.
set dotenv-load := false

# Install everything: uv, the virtualenv, system services if missing.
setup:
    bash scripts/setup.sh

# Run every role plus the sandbox provider against local services.
dev: setup
    uv run gateway dev

# The whole test suite against real PostgreSQL, Redis, nx-27017 and the sandbox.
test: setup
    uv run pytest -q

# Lint and format check, as CI runs them.
lint:
    uv run ruff check .
    uv run ruff format --check .

# Benchmarks: numbers, not assertions (bench/results/, docs/performance.md).
bench: setup
    uv run python -m bench

# A new client folder with fresh secrets: just new-client NAME
new-client name:
    uv run python scripts/new-client.py {{name}}

# Chaos: faults under load, then every invariant checked (docs/reliability.md); --quick in CI.
# `just chaos --seed N` replays a run's operations (the seed is printed first).
chaos *args: setup
    uv run python -m chaos {{args}}

# Regenerate docs/openapi/<role>.json from what the roles serve (a test keeps them equal).
openapi:
    uv run python scripts/openapi.py
